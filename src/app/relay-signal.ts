/**
 * Waking the webhook relay after a write it may have to send (src/services/webhooks.ts RelaySignal): one lookup in
 * the context and a synchronous call, nothing when no signal is provided. The commit itself writes nothing for
 * webhooks (docs/DECISIONS.md, "Webhooks and the feed").
 */
import { Effect, Option } from "effect"
import { RelaySignal } from "../services/webhooks.js"

export const wakeRelay = (organizationId: string): Effect.Effect<void> =>
  Effect.map(Effect.serviceOption(RelaySignal), (signal) => {
    if (Option.isSome(signal)) signal.value.wake(organizationId)
  })

/** After a subscription is created: what the signal remembers about the organization's subscriptions is stale. */
export const subscriptionCreated = (organizationId: string): Effect.Effect<void> =>
  Effect.map(Effect.serviceOption(RelaySignal), (signal) => {
    if (Option.isSome(signal)) signal.value.subscribed?.(organizationId)
  })
