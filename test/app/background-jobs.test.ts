/**
 * The servers' background jobs as layers (src/server.ts): the checkpointer and the webhook relay run while the
 * layer's scope is open, from the moment it is built, and not a round after it closes. Doubles, and the TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Scope, TestClock } from "effect"
import { CheckpointerLive } from "../../src/app/checkpoints.js"
import { makeWakeSignal, WebhookRelayLive } from "../../src/app/webhook-relay.js"
import { webhookSecretDeriver } from "../../src/app/webhook-secrets.js"
import { EventLog } from "../../src/services/event-log.js"
import { WebhookStore, WebhookTransport } from "../../src/services/webhooks.js"
import { noLogs } from "../support/logs.js"

/** Builds `layer` in a scope of its own, lets `during` pass, closes it, lets `after` pass: the rounds at each step. */
const lifetime = <R>(layer: Layer.Layer<never, never, R>, rounds: () => number) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    yield* Layer.buildWithScope(layer, scope)
    yield* TestClock.adjust("1 second")
    const started = rounds()
    yield* TestClock.adjust("3 minutes")
    const running = rounds()
    yield* Scope.close(scope, Exit.void)
    yield* TestClock.adjust("10 minutes")
    return { started, running, stopped: rounds() }
  })

describe("background jobs as layers", () => {
  it.effect("the checkpointer: a round at once, then one a minute, none after its scope closed", () =>
    Effect.gen(function*() {
      let rounds = 0
      const log = {
        unsealedOrganizations: () => Effect.sync(() => (rounds++, [])),
        checkpoint: () => Effect.void
      } as unknown as EventLog["Type"]
      const seen = yield* lifetime(CheckpointerLive("1 minute"), () => rounds).pipe(
        Effect.provideService(EventLog, log)
      )
      expect(seen).toEqual({ started: 1, running: 4, stopped: 4 })
    }))

  it.effect("the relay: a turn at once, then one each poll, none after its scope closed", () =>
    Effect.gen(function*() {
      let turns = 0
      const store = {
        derive: () => Effect.sync(() => (turns++, 0)),
        claim: () => Effect.succeed([]),
        nextDue: Effect.succeed(undefined),
        sweep: () => Effect.void
      } as unknown as WebhookStore["Type"]
      const relay = WebhookRelayLive({
        deriveSecret: webhookSecretDeriver("background-jobs-test-secret-key-0123456789"),
        signal: makeWakeSignal(),
        pollIntervalMs: 60_000
      })
      const seen = yield* lifetime(relay, () => turns).pipe(
        Effect.provideService(WebhookStore, store),
        Effect.provideService(WebhookTransport, { send: () => Effect.die("nothing is claimed") }),
        Effect.provide(noLogs)
      )
      expect(seen).toEqual({ started: 1, running: 4, stopped: 4 })
    }))
})
