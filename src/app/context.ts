/**
 * Per-request values the application needs but the domain must not produce itself: the request id,
 * event ids (UUID v7) and the current time. Time comes from Effect's Clock, so tests can move it.
 */
import { Clock, Effect, FiberRef } from "effect"
import type { CommandMetadata } from "../domain/user.js"
import type { Principal } from "../services/auth.js"
import { hexOf } from "../sha256.js"

/**
 * The server's own id of the current request, a UUID v7 the HTTP edge mints for every request: the one events carry.
 * Never the caller's X-Request-Id: that is chosen by the caller and could carry anything (e.g. a phone number), and
 * events are append-only and outlive erasure. The caller's id stays in the answer and the log (src/http/edge.ts).
 */
export const CurrentRequestId: FiberRef.FiberRef<string> = FiberRef.unsafeMake("unknown")

/** A UUID v7 (RFC 9562): 48-bit Unix milliseconds, then random bits, so ids sort by creation time. */
export const uuidv7: Effect.Effect<string> = Effect.map(Clock.currentTimeMillis, (millis) => {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  let ms = millis
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256
    ms = Math.floor(ms / 256)
  }
  bytes[6] = (bytes[6]! & 0x0f) | 0x70
  bytes[8] = (bytes[8]! & 0x3f) | 0x80
  const hex = hexOf(bytes)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
})

export const commandMetadata = (principal: Principal): Effect.Effect<CommandMetadata> =>
  Effect.all({
    requestId: FiberRef.get(CurrentRequestId),
    eventId: uuidv7,
    now: Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms).toISOString())
  }).pipe(Effect.map((values) => ({ ...values, organizationId: principal.organizationId, actor: principal.actor })))
