import * as Schema from "effect/Schema"
import { fromBase64, WEBHOOK_HEADERS, webhookHmac } from "./signature.js"

export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60

export type WebhookVerificationFailure =
  | "missing-header"
  | "invalid-header"
  | "timestamp-too-old"
  | "timestamp-too-new"
  | "no-matching-signature"

/** Answer it with a 4xx and do nothing else. */
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

/** Any letter case. */
export type WebhookRequestHeaders =
  | Headers
  | Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

export interface VerifyOptions {
  readonly toleranceSeconds?: number
  readonly now?: Date | number
}

export interface VerifiedWebhook {
  /** The same on every retry, so a receiver can drop a message it has seen. */
  readonly id: string
  readonly timestamp: number
  /** Parse it only now. */
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

/** Time depends on the lengths only. */
const equalInConstantTime = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  let difference = 0
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!
  return difference === 0
}

const TIMESTAMP = /^[0-9]{1,15}$/

/**
 * `body` must be exactly as received: never parse and re-serialize it first. A malformed secret throws a TypeError
 * (the receiver's configuration, not the request).
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
