/**
 * Per-request values the application needs but the domain must not produce itself: the request's ids, event ids
 * (UUID v7) and the current time. Time comes from Effect's Clock, so tests can move it.
 */
import { Clock, Effect, FiberRef } from "effect"
import type { CommandMetadata } from "../domain/user.js"
import type { Principal } from "../services/auth.js"
import { hexOf } from "../sha256.js"

/** The ids of the request being served, set by the HTTP edge (src/http/edge.ts) for each request. */
export interface RequestIds {
  /**
   * The server's own id, a UUID v7 minted for every request: the one events carry. Never the caller's X-Request-Id:
   * that is chosen by the caller and could carry anything (e.g. a phone number), and events outlive erasure.
   */
  readonly serverRequestId: string
  /** What the answer and its problem carry: the caller's X-Request-Id when it is sane, else `serverRequestId`. */
  readonly requestId: string
}

export const CurrentRequest: FiberRef.FiberRef<RequestIds> = FiberRef.unsafeMake<RequestIds>({
  serverRequestId: "unknown",
  requestId: "unknown"
})

/** A UUID v7 (RFC 9562) for `millis`: 48-bit Unix milliseconds, then random bits, so ids sort by creation time. */
export const uuidv7At = (millis: number): string => {
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
}

export const uuidv7: Effect.Effect<string> = Effect.map(Clock.currentTimeMillis, uuidv7At)

/** Ids and time for a command's event, in one step: the clock is read once for both. */
export const commandMetadata = (principal: Principal): Effect.Effect<CommandMetadata> =>
  Effect.clockWith((clock) =>
    Effect.map(FiberRef.get(CurrentRequest), (ids): CommandMetadata => {
      const millis = clock.unsafeCurrentTimeMillis()
      return {
        organizationId: principal.organizationId,
        actor: principal.actor,
        requestId: ids.serverRequestId,
        eventId: uuidv7At(millis),
        now: new Date(millis).toISOString()
      }
    })
  )
