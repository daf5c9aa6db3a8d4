/**
 * The receiver's side of Standard Webhooks (signature.ts says what is signed): `verifyWebhook` checks a request's
 * `webhook-id`, `webhook-timestamp` and `webhook-signature` against the endpoint's secret and the body's exact bytes,
 * before anything in the body is believed. Exported by the typed client (src/client.ts).
 */
import * as Schema from "effect/Schema"
import { fromBase64, WEBHOOK_HEADERS, webhookHmac } from "./signature.js"

/** How far a webhook's timestamp may be from the receiver's clock, either way, by default: 5 minutes. */
export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60

export type WebhookVerificationFailure =
  /** `webhook-id`, `webhook-timestamp` or `webhook-signature` is absent or empty. */
  | "missing-header"
  /** A timestamp that is not whole Unix seconds, an id with a `.`, or an id or timestamp sent twice. */
  | "invalid-header"
  /** Older than the tolerance: a replay, or a delivery held up too long. */
  | "timestamp-too-old"
  /** Ahead of the receiver's clock by more than the tolerance. */
  | "timestamp-too-new"
  /** No `v1` signature in the header matches the secret, id, timestamp and body. */
  | "no-matching-signature"

/** The webhook is not to be believed; `reason` says why (answer it with a 4xx and do nothing else). */
export class WebhookVerificationError extends Schema.TaggedError<WebhookVerificationError>()(
  "WebhookVerificationError",
  {
    reason: Schema.Literal(
      ...[
        "missing-header",
        "invalid-header",
        "timestamp-too-old",
        "timestamp-too-new",
        "no-matching-signature"
      ] as const satisfies ReadonlyArray<WebhookVerificationFailure>
    ),
    message: Schema.String
  }
) {}

/** A request's headers: a Fetch `Headers`, or a plain record such as Node's `IncomingHttpHeaders` (any letter case). */
export type WebhookRequestHeaders =
  | Headers
  | Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

export interface VerifyOptions {
  /** Seconds either way from `now` (default 300). */
  readonly toleranceSeconds?: number
  /** The receiver's clock (default: the current time). */
  readonly now?: Date | number
}

export interface VerifiedWebhook {
  /** `webhook-id`: the same on every retry of one message, so a receiver can drop a message it has seen. */
  readonly id: string
  /** `webhook-timestamp`, Unix seconds: when this attempt was sent. */
  readonly timestamp: number
  /** The body that was verified, as text (parse it only now). */
  readonly body: string
}

const headerValues = (headers: WebhookRequestHeaders, name: string): ReadonlyArray<string> => {
  if (typeof Headers !== "undefined" && headers instanceof Headers) {
    const value = headers.get(name)
    return value === null ? [] : [value]
  }
  const values: Array<string> = []
  for (const [key, value] of Object.entries(headers as Record<string, string | ReadonlyArray<string> | undefined>)) {
    if (key.toLowerCase() !== name || value === undefined) continue
    if (typeof value === "string") values.push(value)
    else values.push(...value)
  }
  return values
}

const fail = (reason: WebhookVerificationFailure, message: string) =>
  Promise.reject(new WebhookVerificationError({ reason, message }))

/** Compares in time that depends on the lengths only, never on where the bytes first differ. */
const equalInConstantTime = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  let difference = 0
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!
  return difference === 0
}

const TIMESTAMP = /^[0-9]{1,15}$/

/**
 * Verifies a webhook as Standard Webhooks defines it: the three headers are there, the id has no `.`, the timestamp
 * is whole seconds within `toleranceSeconds` (default 5 minutes) of now either way, and one of the space-separated
 * signatures of the signature header is `v1,` and the base64 HMAC-SHA-256 of `${id}.${timestamp}.${body}` under the
 * secret (`whsec_<base64>`), compared in constant time; signatures of other schemes (`v1a`, …) are skipped. `body`
 * must be the body exactly as received: read it as text or bytes, never parse and re-serialize it first.
 *
 * Resolves with the id, the timestamp and the body; rejects with a `WebhookVerificationError` (a malformed secret
 * throws a TypeError: that is the receiver's configuration, not the request).
 */
export const verifyWebhook = async (
  secret: string,
  headers: WebhookRequestHeaders,
  body: string | Uint8Array | ArrayBuffer,
  options: VerifyOptions = {}
): Promise<VerifiedWebhook> => {
  const ids = headerValues(headers, WEBHOOK_HEADERS.id)
  const timestamps = headerValues(headers, WEBHOOK_HEADERS.timestamp)
  const signatures = headerValues(headers, WEBHOOK_HEADERS.signature).join(" ").trim()
  const [id] = ids
  const [timestamp] = timestamps
  if (id === undefined || id === "" || timestamp === undefined || timestamp === "" || signatures === "") {
    return fail("missing-header", "The webhook-id, webhook-timestamp and webhook-signature headers are required.")
  }
  if (ids.length > 1 || timestamps.length > 1) {
    return fail("invalid-header", "The webhook-id and webhook-timestamp headers must be sent once.")
  }
  if (id.includes(".")) return fail("invalid-header", "A webhook-id never contains '.'.")
  if (!TIMESTAMP.test(timestamp)) return fail("invalid-header", "The webhook-timestamp is not whole Unix seconds.")
  const tolerance = options.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS
  const now = Math.floor((options.now instanceof Date ? options.now.getTime() : options.now ?? Date.now()) / 1000)
  const sent = Number(timestamp)
  if (now - sent > tolerance) return fail("timestamp-too-old", "The webhook-timestamp is too old.")
  if (sent - now > tolerance) return fail("timestamp-too-new", "The webhook-timestamp is too far in the future.")
  const bytes = typeof body === "string" ? body : body instanceof Uint8Array ? body : new Uint8Array(body)
  const expected = await webhookHmac(secret, id, timestamp, bytes)
  let matched = false
  for (const candidate of signatures.split(" ")) {
    const comma = candidate.indexOf(",")
    if (comma < 0 || candidate.slice(0, comma) !== "v1") continue
    const signature = fromBase64(candidate.slice(comma + 1))
    if (signature !== undefined && equalInConstantTime(signature, expected)) matched = true
  }
  if (!matched) return fail("no-matching-signature", "No signature of the webhook matches.")
  return { id, timestamp: sent, body: typeof bytes === "string" ? bytes : new TextDecoder().decode(bytes) }
}
