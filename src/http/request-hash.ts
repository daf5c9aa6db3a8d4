import { Context, Layer } from "effect"
import type { Actor } from "../domain/events.js"
import { MIN_IDEMPOTENCY_HASH_KEY_LENGTH } from "../services/idempotency.js"
import { hmacSha256Hex } from "../sha256.js"

export interface RequestIdentity {
  readonly method: string
  readonly path: string
  /** The same key from another caller is another request. */
  readonly actor: Actor
  readonly ifMatch: string | undefined
  readonly body: Uint8Array
}

/** Keyed: a phone number in the body is too guessable for a plain hash. */
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

/** JSON-framed so no field can bleed into the next. */
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
