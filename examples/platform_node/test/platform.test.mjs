// Unit tests of the digests and of the receiving side: `node --test` in examples/platform_node.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import { Webhook } from "standardwebhooks";

import { GatewayClient, chunkDigest, chunksOf, firstError, loadSchemas, setDigest } from "../replies.mjs";
import { createPlatform, matchListings } from "../server.mjs";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const validators = loadSchemas(join(HERE, "..", "..", "..", "schemas", "generated", "json-schema"));
const quiet = { log() {}, warn() {}, error() {} };

describe("digests (RFC 8785), the same bytes as spotcheck.schemas computes", () => {
  // Expected values from Python: spotcheck.schemas.canonical_digest / set_digest over the same JSON.
  const records = [
    {
      order_no: "T-1", shop_id: "shop-1", item_title: '暖暖取暖器 NN-HT2000 "限量" €', quantity: 1, amount_fen: 25900,
      status: "completed", created_at: "2026-11-30T08:00:00.123Z", buyer_account: null,
    },
    {
      order_no: "T-2", shop_id: "shop-1", item_title: "emoji 😀 tab\t", quantity: 2, amount_fen: 0,
      status: "refunded", created_at: "2026-11-30T16:00:00+08:00",
    },
  ];
  const logs = [
    { at: "2026-11-30T08:00:00Z", actor: "system", action: "order.pay", subject: "T-1", detail: "1e21 1.0" },
  ];
  const full = "588bf4334c6d6f0527ae1ec3d4af6fb3b68956a352b4396ea1cb6813c789162c";
  const empty = "0ba33b29556e9543fe95c02bb7ccff95c7254c095b5e7f2a5963b89363d10d34";

  it("chunk_sha256 is over {logs, records} as sent", () => {
    assert.equal(chunkDigest(records, logs), full);
    assert.equal(chunkDigest([], []), empty);
  });

  it("set_sha256 is over the concatenated chunk digests", () => {
    assert.equal(setDigest([full, empty]), "5d945202bfe57c00d27fcbd9b6d7bb051641b47268922f446380bdd592bde396");
    assert.throws(() => setDigest([]));
    assert.throws(() => setDigest([full.toUpperCase()]));
  });

  it("chunks by the longer of records and logs, at least one", () => {
    assert.equal(chunksOf([], [], 10).length, 1);
    const chunks = chunksOf(Array(25).fill(0), Array(5).fill(1), 10);
    assert.deepEqual(chunks.map((c) => [c.records.length, c.logs.length]), [[10, 5], [10, 0], [5, 0]]);
  });
});

describe("receiving notices", () => {
  const secret = `whsec_${Buffer.from("a test secret of thirty-two bytes").toString("base64")}`;
  const notice = {
    type: "merchant.identity_request",
    timestamp: "2026-12-07T08:00:00Z",
    data: {
      case_id: "case_1", issued_at: "2026-12-07T08:00:00Z", shop_id: "shop-88001", shop_name: "某店",
      authority: { code: "330000", name: "浙江省市场监督管理局", level: "provincial" },
    },
  };

  async function withPlatform(run) {
    const sent = [];
    // Every reply must pass its published schema, as GatewayClient checks before it sends.
    const gateway = {
      async send(type, data) {
        const validate = validators.get(type);
        const message = { type, timestamp: new Date().toISOString(), data: { platform_id: "node-mall", ...data } };
        if (!validate(message)) throw new Error(`${type} breaks the contract at ${firstError(validate)}`);
        sent.push({ type, data });
      },
    };
    const { server, pending } = createPlatform({ noticeSecret: secret, validators, gateway, log: quiet });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const url = `http://127.0.0.1:${server.address().port}/spotcheck`;
    try {
      await run(url, sent, pending);
    } finally {
      server.close();
    }
  }

  const post = (url, body, { id = "msg_1", key = secret, at = new Date() } = {}) =>
    fetch(url, {
      method: "POST",
      body,
      headers: {
        "webhook-id": id,
        "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
        "webhook-signature": new Webhook(key).sign(id, at, body),
      },
    });

  it("verifies, answers once, dedupes by webhook-id", async () => {
    await withPlatform(async (url, sent, pending) => {
      const body = JSON.stringify(notice);
      assert.equal((await post(url, body)).status, 200);
      await Promise.all([...pending]);
      assert.deepEqual((await (await post(url, body)).json()), { status: "duplicate" });
      assert.deepEqual(sent.map((s) => s.type), ["notice.acknowledged", "merchant.identity"]);
      assert.equal(sent[1].data.unable, true);
    });
  });

  it("refuses a bad signature, a stale timestamp and an invalid notice", async () => {
    await withPlatform(async (url, sent) => {
      const body = JSON.stringify(notice);
      const other = `whsec_${Buffer.from("another secret").toString("base64")}`;
      assert.equal((await post(url, body, { key: other })).status, 401);
      assert.equal((await post(url, body, { at: new Date(Date.now() - 3600_000) })).status, 401);
      const invalid = JSON.stringify({ ...notice, data: { ...notice.data, shop_id: "has spaces" } });
      assert.equal((await post(url, invalid, { id: "msg_2" })).status, 400);
      const future = await post(url, '{"type":"some.future_notice"}', { id: "msg_3" });
      assert.deepEqual(await future.json(), { status: "unhandled" });
      assert.equal(sent.length, 0);
    });
  });

  it("declares orders it has no record of, and reports none_found when no listing matches", async () => {
    const { authority, issued_at } = notice.data;
    const request = {
      type: "records.request",
      timestamp: issued_at,
      data: {
        case_id: "case_1", authority, issued_at, shop_id: "shop-88001", orders: ["NODE-T-9999"],
        records_from: "2026-11-01T00:00:00Z", records_until: "2026-12-01T00:00:00Z", needed: ["transaction_records"],
      },
    };
    const delisting = {
      type: "delisting.order",
      timestamp: issued_at,
      data: {
        case_id: "case_1", authority, issued_at, sample_name: "电暖器", trademark: "暖暖", spec_model: "NN-HT9000",
        hazardous: true, mandatory_standard: "GB 4706.1-2005", list_published_at: issued_at,
      },
    };
    await withPlatform(async (url, sent, pending) => {
      assert.equal((await post(url, JSON.stringify(request), { id: "msg_r" })).status, 200);
      assert.equal((await post(url, JSON.stringify(delisting), { id: "msg_d" })).status, 200);
      await Promise.all([...pending]);
      const replies = Object.fromEntries(sent.filter((s) => s.type !== "notice.acknowledged").map((s) => [s.type, s]));
      assert.deepEqual(Object.keys(replies).sort(), ["records.unavailable", "takedown.reported"]); // no records due
      assert.deepEqual(replies["records.unavailable"].data.orders, ["NODE-T-9999"]);
      const { none_found, listing_ids, shop_ids } = replies["takedown.reported"].data;
      assert.deepEqual([none_found, listing_ids, shop_ids], [true, [], []]);
    });
  });

  it("matches a delisting order's model across spellings", () => {
    assert.deepEqual(matchListings("暖暖", "nn ht2000"), ["L-1001", "L-3003"]);
  });
});

describe("sending replies", () => {
  const replySecret = `whsec_${Buffer.from("the platform's reply key, 32 bytes").toString("base64")}`;

  async function withGateway(statuses, run) {
    const seen = [];
    const server = createServer(async (req, res) => {
      let body = "";
      for await (const part of req) body += part;
      seen.push({ headers: req.headers, body, url: req.url });
      const status = statuses[Math.min(seen.length - 1, statuses.length - 1)];
      res.writeHead(status, status === 429 ? { "retry-after": "0" } : {});
      res.end(status === 200 ? '{"status":"accepted","id":"in_1","type":"notice.acknowledged","detail":{}}' : "{}");
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const client = new GatewayClient({
      gatewayUrl: `http://127.0.0.1:${server.address().port}/`, platformId: "node-mall", replySecret, validators,
      backoffMs: 1, maxRetries: 3, log: quiet,
    });
    try {
      await run(client, seen);
    } finally {
      server.close();
    }
  }

  const ack = { case_id: "case_1", in_reply_to: "msg_1", received_at: "2026-12-07T08:00:00Z" };

  it("retries 5xx and 429 with the same webhook-id and body, each attempt signed afresh", async () => {
    await withGateway([503, 429, 200], async (client, seen) => {
      const answer = await client.send("notice.acknowledged", ack);
      assert.equal(answer.status, "accepted");
      assert.equal(seen.length, 3);
      assert.equal(seen[0].url, "/v1/intake/node-mall");
      assert.equal(new Set(seen.map((s) => s.headers["webhook-id"])).size, 1);
      assert.equal(new Set(seen.map((s) => s.body)).size, 1);
      const verifier = new Webhook(replySecret);
      for (const { body, headers } of seen) assert.equal(verifier.verify(body, headers).data.platform_id, "node-mall");
    });
  });

  it("does not retry a 4xx, and never sends a reply that breaks the contract", async () => {
    await withGateway([409], async (client, seen) => {
      await assert.rejects(client.send("notice.acknowledged", ack), /answered 409/);
      await assert.rejects(client.send("notice.acknowledged", { ...ack, received_at: "yesterday" }), /contract/);
      assert.equal(seen.length, 1);
    });
  });
});
