/** Ids and time the domain must not produce itself; time comes from Effect's Clock, so tests can move it. */
import { Clock, Effect, FiberRef } from "effect"
import type { CommandMetadata } from "../domain/user.js"
import type { Principal } from "../services/auth.js"
import { hexOf } from "../sha256.js"

export interface RequestIds {
  /** What events carry, never the caller's X-Request-Id: that could hold anything, and events outlive erasure. */
  readonly serverRequestId: string
  /** The caller's X-Request-Id when it is sane, else `serverRequestId`. */
  readonly requestId: string
}

export const CurrentRequest: FiberRef.FiberRef<RequestIds> = FiberRef.unsafeMake<RequestIds>({
  serverRequestId: "unknown",
  requestId: "unknown"
})

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

/** The clock is read once for both the event id and its time. */
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
