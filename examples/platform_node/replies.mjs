// The platform's side of the Spotcheck wire contract, on public npm packages and Node's standard library only:
// `standardwebhooks` (signatures), the published JSON Schemas (validated with `ajv`'s 2020-12 build and
// `ajv-formats`), `canonicalize` (RFC 8785, the JSON Canonicalization Scheme) and node:crypto / fetch.
import { createHash, randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import canonicalize from "canonicalize";
import { Webhook } from "standardwebhooks";

const RETRYABLE = new Set([429, 500, 502, 503, 504]);
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Lower-case hex SHA-256 of a string's UTF-8 bytes (or of a Buffer). */
export const sha256Hex = (value) => createHash("sha256").update(value).digest("hex");

/**
 * `chunk_sha256`: SHA-256 of the RFC 8785 form of `{"logs": logs, "records": records}`, both arrays exactly as
 * they are sent (members left out stay out, timestamps are the strings sent).
 */
export const chunkDigest = (records, logs) => sha256Hex(canonicalize({ logs, records }));

/** `set_sha256`: SHA-256 of the ASCII concatenation of every `chunk_sha256`, in `chunk_index` order. */
export function setDigest(chunkDigests) {
  if (chunkDigests.length === 0) throw new Error("a record set has at least one chunk digest");
  for (const digest of chunkDigests) {
    if (!SHA256_HEX.test(digest)) throw new Error(`not a lower-case hex SHA-256: ${digest}`);
  }
  return sha256Hex(chunkDigests.join(""));
}

/** Cut records and logs into chunks of `size` (chunk i: items [i*size, (i+1)*size) of each); at least one. */
export function chunksOf(records, logs, size) {
  const count = Math.max(1, Math.ceil(records.length / size), Math.ceil(logs.length / size));
  return Array.from({ length: count }, (_, i) => ({
    records: records.slice(i * size, (i + 1) * size),
    logs: logs.slice(i * size, (i + 1) * size),
  }));
}

/** A fresh `webhook-id` (printable ASCII, no "."): one per logical message, kept across its retries. */
export const newMessageId = () => `msg_${randomUUID().replaceAll("-", "")}`;

/** Load every `<type>.json` of the published JSON Schemas; returns `type → validate function`. */
export function loadSchemas(dir) {
  const ajv = new Ajv2020({ allErrors: false, strict: true });
  addFormats(ajv);
  const validators = new Map();
  for (const file of readdirSync(dir).filter((name) => name.endsWith(".json")).sort()) {
    const schema = JSON.parse(readFileSync(join(dir, file), "utf8"));
    validators.set(file.slice(0, -".json".length), ajv.compile(schema));
  }
  return validators;
}

/** The first validation error of a failed `validate` call, as "path: reason". */
export const firstError = (validate) => {
  const [error] = validate.errors ?? [];
  return error ? `${error.instancePath || "/"}: ${error.message}` : "invalid";
};

/**
 * Sends replies to `POST {gatewayUrl}/v1/intake/{platformId}`: validated against the reply's schema, signed with
 * the platform's `whsec_` reply key, one `webhook-id` per logical reply, retried with that same id and body on
 * no answer, 429 and 500/502/503/504 (each attempt signed afresh at the current time).
 */
export class GatewayClient {
  constructor({ gatewayUrl, platformId, replySecret, validators, maxRetries = 8, backoffMs = 200, log = console }) {
    this.url = `${gatewayUrl.replace(/\/+$/, "")}/v1/intake/${encodeURIComponent(platformId)}`;
    this.platformId = platformId;
    this.signer = new Webhook(replySecret);
    this.validators = validators;
    this.maxRetries = maxRetries;
    this.backoffMs = backoffMs;
    this.log = log;
  }

  /** Send one reply of `type` with `data` (platform_id is filled in); returns the gateway's answer. */
  async send(type, data, { webhookId = newMessageId() } = {}) {
    const message = { type, timestamp: new Date().toISOString(), data: { platform_id: this.platformId, ...data } };
    const validate = this.validators.get(type);
    if (!validate) throw new Error(`no published schema for ${type}`);
    if (!validate(message)) throw new Error(`${type} breaks the contract at ${firstError(validate)}`);
    const body = JSON.stringify(message);
    for (let attempt = 0; ; attempt += 1) {
      const now = new Date();
      const headers = {
        "content-type": "application/json",
        "webhook-id": webhookId,
        "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
        "webhook-signature": this.signer.sign(webhookId, now, body),
      };
      let response;
      try {
        response = await fetch(this.url, { method: "POST", headers, body, signal: AbortSignal.timeout(10_000) });
      } catch (error) {
        if (attempt >= this.maxRetries) throw new Error(`${type} ${webhookId}: no answer: ${error.message}`);
        await this.#wait(attempt, null);
        continue;
      }
      const text = await response.text();
      if (response.ok) return { webhookId, ...JSON.parse(text) };
      if (!RETRYABLE.has(response.status) || attempt >= this.maxRetries) {
        throw new Error(`${type} ${webhookId}: gateway answered ${response.status}: ${text.slice(0, 500)}`);
      }
      this.log.warn?.(`${type} ${webhookId}: ${response.status}, retrying with the same id`);
      await this.#wait(attempt, response.headers.get("retry-after"));
    }
  }

  /**
   * Send records and logs as `records.provided` chunks: every chunk carries its `chunk_sha256` and the set's
   * `set_sha256`, and shares one `upload_id`; each chunk is its own logical reply (own `webhook-id`).
   */
  async provideRecords(caseId, inReplyTo, records, logs, { chunkSize = 1000 } = {}) {
    const chunks = chunksOf(records, logs, chunkSize);
    const digests = chunks.map((chunk) => chunkDigest(chunk.records, chunk.logs));
    const setSha256 = setDigest(digests);
    const uploadId = `upl_${randomUUID().replaceAll("-", "")}`;
    const answers = [];
    for (const [index, chunk] of chunks.entries()) {
      answers.push(
        await this.send("records.provided", {
          case_id: caseId,
          in_reply_to: inReplyTo,
          upload_id: uploadId,
          chunk_index: index,
          chunk_count: chunks.length,
          chunk_sha256: digests[index],
          set_sha256: setSha256,
          records: chunk.records,
          logs: chunk.logs,
        }),
      );
    }
    return { uploadId, setSha256, chunkCount: chunks.length, answers };
  }

  async #wait(attempt, retryAfter) {
    const seconds = retryAfter == null ? Number.NaN : Number(retryAfter); // an HTTP date falls back to backoff
    const capped = Math.min(5_000, this.backoffMs * 2 ** attempt);
    const ms = Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds * 1000, 30_000) : Math.random() * capped;
    await new Promise((resolve) => setTimeout(resolve, ms));
  }
}
