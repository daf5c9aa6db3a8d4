/**
 * What makes two requests under one Idempotency-Key the same request, as a keyed hash: method, path, caller,
 * If-Match and the body's bytes.
 */
import { Context, Layer } from "effect"
import type { Actor } from "../domain/events.js"
import { MIN_IDEMPOTENCY_HASH_KEY_LENGTH } from "../services/idempotency.js"
import { hmacSha256Hex } from "../sha256.js"

export interface RequestIdentity {
  readonly method: string
  /** Path and query as sent. */
  readonly path: string
  /** Who acts: the same key from another caller of the organization is another request. */
  readonly actor: Actor
  readonly ifMatch: string | undefined
  readonly body: Uint8Array
}

/**
 * The keyed hash of what makes two requests the same one: HMAC-SHA-256 (hex) under IDEMPOTENCY_HASH_KEY. Keyed because
 * the body may hold a phone number, which has too little entropy for a plain hash: anyone who read a stored hash could
 * find the number by hashing guesses. Provided by makeFetchHandler (src/fetch-handler.ts).
 */
export class RequestHasher extends Context.Tag("users-api/RequestHasher")<
  RequestHasher,
  (bytes: Uint8Array) => string
>() {}

export const requestHasher = (key: string): Layer.Layer<RequestHasher> => {
  if (key.length < MIN_IDEMPOTENCY_HASH_KEY_LENGTH) {
    throw new Error(`IDEMPOTENCY_HASH_KEY must be at least ${MIN_IDEMPOTENCY_HASH_KEY_LENGTH} characters`)
  }
  return Layer.succeed(RequestHasher, (bytes) => hmacSha256Hex(key, bytes))
}

/** The bytes the request hash covers; fields are JSON-framed so none can bleed into the next. */
export const requestIdentityBytes = (request: RequestIdentity): Uint8Array => {
  const head = new TextEncoder().encode(
    JSON.stringify([
      "users-api/idempotency/1",
      request.method.toUpperCase(),
      request.path,
      request.actor.type,
      request.actor.id,
      request.ifMatch?.trim() ?? null
    ]) + "\n"
  )
  const bytes = new Uint8Array(head.byteLength + request.body.byteLength)
  bytes.set(head, 0)
  bytes.set(request.body, head.byteLength)
  return bytes
}
