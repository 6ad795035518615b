// A Spotcheck platform in Node.js: receives the gateway's signed notices and answers them.
//
//   PORT=8020 GATEWAY_URL=http://127.0.0.1:8000 PLATFORM_ID=demo-mall \
//   NOTICE_SECRET=whsec_... REPLY_SECRET=whsec_... node server.mjs
//
// NOTICE_SECRET is the outbound_signing_secret the gateway returned at registration; REPLY_SECRET is the whsec_
// key registered as the platform's inbound key. SCHEMAS_DIR defaults to the repository's schemas/generated/
// json-schema. The catalogue, orders and merchants below stand in for the platform's own databases.
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { Webhook, WebhookVerificationError } from "standardwebhooks";

import { GatewayClient, firstError, loadSchemas, sha256Hex } from "./replies.mjs";

const MAX_BODY_BYTES = 1024 * 1024;
const ORDER_TYPES = new Set(["stop_sale.order", "delisting.order", "takedown.order"]);
// The replies' schemas are published next to the notices'; a platform never receives one.
const REPLY_TYPES = new Set([
  "notice.acknowledged", "order.confirmed", "records.provided", "records.unavailable", "merchant.identity",
  "takedown.reported", "reinspection.applied",
]);

// ---- the platform's own data (a real platform queries its services) ----
const LISTINGS = [
  { id: "L-1001", trademark: "暖暖", specModel: "NN-HT2000" },
  { id: "L-3003", trademark: "暖暖®", specModel: "ＮＮ－ＨＴ２０００" }, // full-width spelling of the same model
  { id: "L-4004", trademark: "暖暖", specModel: "NN-HT2000S" }, // another model: never matched
];
const ORDERS = new Set(["NODE-T-0001"]); // order numbers the platform still has records of
const CLOSED_SHOPS = new Map([["shop-88001", "店铺已关闭，经营者登记的电话与地址均无效"]]);
const MERCHANTS = new Map([
  ["shop-1001", { legal_name: "某某电器有限公司", address: "杭州市西湖区某路1号", contact: "0571-0000000", uscc: "91330100799655058B" }],
]);
const EVIDENCE_SHA256 = sha256Hex("listing snapshot and takedown screenshots");

/** Same trademark and model up to width, case, punctuation and marks such as ® (NFKC, letters and digits only). */
const normalise = (text) => text.normalize("NFKC").toLowerCase().replace(/[^\p{L}\p{N}]/gu, "");
export const matchListings = (trademark, specModel) =>
  LISTINGS.filter(
    (l) => normalise(l.trademark) === normalise(trademark) && normalise(l.specModel) === normalise(specModel),
  ).map((l) => l.id);

/** Orders and logs of a shop over a time range, as the platform recorded them (optional members left out). */
function recordsOf(shopId, orders, from, until) {
  const start = Date.parse(from);
  const span = Math.max(1, Date.parse(until) - start);
  const records = Array.from({ length: 2500 }, (_, i) => ({
    order_no: orders[i] ?? `NODE-T-${String(i).padStart(5, "0")}`,
    shop_id: shopId,
    item_title: "暖暖取暖器 NN-HT2000",
    quantity: 1,
    amount_fen: 25900,
    status: i % 17 === 0 ? "refunded" : "completed",
    created_at: new Date(start + (span * i) / 2500).toISOString(),
    ...(i % 3 === 0 ? { buyer_account: `b***${i % 100}` } : {}),
  }));
  const logs = records.slice(0, 1000).map((r) => ({
    at: r.created_at,
    actor: "system",
    action: "order.pay",
    subject: r.order_no,
  }));
  return { records, logs };
}

// ---- answering each notice (after the 2xx: a real platform queues this work) ----
async function answer(gateway, notice, webhookId, receivedAt, log) {
  const { type, data } = notice;
  const base = { case_id: data.case_id, in_reply_to: webhookId };
  await gateway.send("notice.acknowledged", { ...base, received_at: receivedAt }); // 签收: every notice
  if (type === "records.request") {
    // 三(一): confirm each order the platform knows; declare, with a reason, the ones it has no record of.
    const known = data.orders.filter((orderNo) => ORDERS.has(orderNo));
    const unknown = data.orders.filter((orderNo) => !ORDERS.has(orderNo));
    if (unknown.length > 0) {
      await gateway.send("records.unavailable", { ...base, orders: unknown, reason: "平台无该订单的交易记录" });
    }
    if (known.length === 0) return log.log(`answered ${type} ${webhookId}: no order known, no records due`);
    for (const orderNo of known) {
      await gateway.send("order.confirmed", {
        ...base,
        order_no: orderNo,
        buyer_account: "buyer_zj01",
        amount_fen: 25900,
        paid_at: data.records_from,
        shipped_at: null,
        shop_id: data.shop_id,
        listing_snapshot_sha256: EVIDENCE_SHA256,
      });
    }
    const { records, logs } = recordsOf(data.shop_id, known, data.records_from, data.records_until);
    const upload = await gateway.provideRecords(data.case_id, webhookId, records, logs, { chunkSize: 1000 });
    const last = upload.answers.at(-1);
    log.log(`records.provided ${upload.uploadId}: ${upload.chunkCount} chunks, set ${upload.setSha256}, last ` +
      `answer ${JSON.stringify(last.detail)}`);
  } else if (type === "merchant.identity_request") {
    const reason = CLOSED_SHOPS.get(data.shop_id);
    const identity = MERCHANTS.get(data.shop_id);
    await gateway.send("merchant.identity", {
      ...base,
      shop_id: data.shop_id,
      ...(identity ?? { unable: true, unable_reason: reason ?? "平台无该店铺经营者的身份信息" }),
    });
  } else if (ORDER_TYPES.has(type)) {
    // ... carry the order out in the catalogue service, then report what was done, where, and since when.
    const [measures, listingIds, shopIds] =
      type === "stop_sale.order"
        ? [["stop_sale"], [data.product.listing_id], [data.merchant.shop_id]]
        : type === "delisting.order"
          ? [["stop_trading_service"], matchListings(data.trademark, data.spec_model), []]
          : [data.measures, data.listing_ids, data.include_shop ? [data.merchant.shop_id] : []];
    const listings = listingIds.filter(Boolean);
    await gateway.send("takedown.reported", {
      ...base,
      order_type: type,
      measures_taken: measures,
      listing_ids: listings,
      shop_ids: shopIds,
      none_found: listings.length === 0 && shopIds.length === 0, // 未发现: nothing of the order is on the platform
      effective_at: new Date().toISOString(),
      evidence_sha256: [EVIDENCE_SHA256],
    });
  }
  log.log(`answered ${type} ${webhookId}`);
}

// ---- receiving: verify, validate, dedupe, answer 2xx, then work ----
export function createPlatform({ noticeSecret, validators, gateway, log = console }) {
  const verifier = new Webhook(noticeSecret);
  const seen = new Map(); // webhook-id → "working" | "done" (a real platform keeps this in its database)
  const pending = new Set();

  const reply = (res, status, body) => {
    const problem = status >= 400;
    res.writeHead(status, { "content-type": problem ? "application/problem+json" : "application/json" });
    const { code, detail } = body;
    res.end(JSON.stringify(problem ? { type: `urn:spotcheck:problem:${code}`, title: code, status, detail } : body));
  };

  const server = createServer((req, res) =>
    receive(req, res).catch((error) => {
      log.error(`receiving failed: ${error.stack}`);
      if (!res.headersSent) reply(res, 500, { code: "internal", detail: "internal error" });
    }),
  );

  async function receive(req, res) {
    if (req.method !== "POST") return reply(res, 405, { code: "method-not-allowed", detail: "POST only" });
    const parts = [];
    let size = 0;
    for await (const part of req) {
      size += part.length;
      if (size > MAX_BODY_BYTES) return reply(res, 413, { code: "too-large", detail: "body too large" });
      parts.push(part);
    }
    const body = Buffer.concat(parts);
    try {
      // HMAC-SHA256 over "{webhook-id}.{webhook-timestamp}.{body}", the timestamp within five minutes of now.
      verifier.verify(body, req.headers, { jsonParse: false });
    } catch (error) {
      if (!(error instanceof WebhookVerificationError)) throw error;
      log.warn(`refused a delivery: ${error.message}`);
      return reply(res, 401, { code: "bad-signature", detail: "signature, timestamp or headers refused" });
    }
    let notice;
    try {
      notice = JSON.parse(body.toString("utf8"));
    } catch {
      return reply(res, 400, { code: "invalid-notice", detail: "the body is not JSON" });
    }
    const webhookId = req.headers["webhook-id"];
    const validate = REPLY_TYPES.has(notice?.type) ? undefined : validators.get(notice?.type);
    if (!validate) return reply(res, 200, { status: "unhandled" }); // retrying cannot help: the gateway stops
    if (!validate(notice)) {
      log.warn(`refused a ${notice.type}: ${firstError(validate)}`);
      return reply(res, 400, { code: "invalid-notice", detail: firstError(validate) });
    }
    const state = seen.get(webhookId);
    if (state === "done") return reply(res, 200, { status: "duplicate" });
    if (state === "working") return reply(res, 409, { code: "in-progress", detail: "being processed: retry later" });
    seen.set(webhookId, "working");
    log.log(`received ${notice.type} ${webhookId} (signature and schema verified)`);
    reply(res, 200, { status: "processed" });
    const job = answer(gateway, notice, webhookId, new Date().toISOString(), log)
      .then(() => seen.set(webhookId, "done"))
      .catch((error) => {
        seen.delete(webhookId); // a redelivery of the same notice runs the work again
        log.error(`could not answer ${notice.type} ${webhookId}: ${error.message}`);
      })
      .finally(() => pending.delete(job));
    pending.add(job);
  }
  return { server, pending };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const env = (name, fallback) => {
    const value = process.env[name] ?? fallback;
    if (value === undefined || value === "") throw new Error(`${name} must be set`);
    return value;
  };
  const here = dirname(fileURLToPath(import.meta.url));
  const validators = loadSchemas(env("SCHEMAS_DIR", join(here, "..", "..", "schemas", "generated", "json-schema")));
  const gateway = new GatewayClient({
    gatewayUrl: env("GATEWAY_URL"),
    platformId: env("PLATFORM_ID"),
    replySecret: env("REPLY_SECRET"),
    validators,
  });
  const { server, pending } = createPlatform({ noticeSecret: env("NOTICE_SECRET"), validators, gateway });
  const port = Number(env("PORT", "8020"));
  server.listen(port, env("HOST", "127.0.0.1"), () => console.log(`platform listening on port ${port}`));
  const stop = () => {
    server.close(() => Promise.allSettled([...pending]).then(() => process.exit(0)));
    server.closeIdleConnections(); // the gateway's keep-alive connections would hold close() open
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
