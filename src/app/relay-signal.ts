/** Wakes the webhook relay after a write; nothing when no signal is provided. */
import { Effect, Option } from "effect"
import { RelaySignal } from "../services/webhooks.js"

export const wakeRelay = (organizationId: string): Effect.Effect<void> =>
  Effect.map(Effect.serviceOption(RelaySignal), (signal) => {
    if (Option.isSome(signal)) signal.value.wake(organizationId)
  })

export const subscriptionCreated = (organizationId: string): Effect.Effect<void> =>
  Effect.map(Effect.serviceOption(RelaySignal), (signal) => {
    if (Option.isSome(signal)) signal.value.subscribed?.(organizationId)
  })
