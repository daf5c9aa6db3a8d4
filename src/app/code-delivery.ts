// The signed delivery of codes to the organization's SMS gateway (Standard Webhooks, as event webhooks), and its
// configuration. Sent while the request waits, retried briefly, and kept nowhere: nothing is left to wipe or resend.
import { Clock, Effect, Layer, Schedule } from "effect"
import { checkWebhookUrl, WEBHOOK_URL_REFUSALS } from "../domain/webhook-url.js"
import { CurrentPrincipal } from "../services/auth.js"
import { type CodeDelivery, CodeSender } from "../services/code-sender.js"
import { CodeDeliveryUnavailable } from "../services/errors.js"
import { PhoneVerificationStore } from "../services/phone-verification.js"
import { type TransportResult, WebhookTransport } from "../services/webhooks.js"
import { webhookHeaders } from "../webhooks/signature.js"
import { authorizeWebhooks } from "./authorize.js"
import { InvalidWebhookUrl, OrganizationNotFound } from "./errors.js"
import { WEBHOOK_USER_AGENT } from "./webhook-delivery.js"
import type { DeriveSecret } from "./webhook-secrets.js"
import { WebhookSettings } from "./webhooks.js"

export const CODE_DELIVERY_TYPE = "phone.verification-code"
export const CODE_DELIVERY_TIMEOUT_MS = 5_000

/** One secret per organization, derived like the subscriptions' (never stored). */
export const codeDeliverySecret = (derive: DeriveSecret, organizationId: string): string =>
  derive(`code-delivery\u0000${organizationId}`, 1)

export const codeDeliveryBody = (delivery: CodeDelivery, now: number): string =>
  JSON.stringify({
    type: CODE_DELIVERY_TYPE,
    timestamp: new Date(now).toISOString(),
    data: {
      userId: delivery.userId,
      phoneNumber: delivery.phoneNumber,
      code: delivery.code,
      expiresAt: delivery.expiresAt
    }
  })

const accepted = (result: TransportResult) => result.kind === "response" && result.status >= 200 && result.status < 300

// A 4xx other than 408 and 429 will not change on a retry.
const retryable = (result: TransportResult) =>
  result.kind === "timeout" || result.kind === "network-error" ||
  (result.kind === "response" && (result.status >= 500 || result.status === 408 || result.status === 429))

const briefRetry = Schedule.exponential("200 millis").pipe(Schedule.intersect(Schedule.recurs(2)))

const failed = new CodeDeliveryUnavailable({ reason: "failed" })

export const WebhookCodeSender = Layer.effect(
  CodeSender,
  Effect.gen(function*() {
    const [store, settings, transport] = [
      yield* PhoneVerificationStore,
      yield* WebhookSettings,
      yield* WebhookTransport
    ]
    return {
      send: (delivery) =>
        Effect.gen(function*() {
          const url = yield* Effect.orElseFail(store.codeDeliveryUrl(delivery.organizationId), () => failed)
          if (url === null || settings.deriveSecret === undefined) {
            return yield* new CodeDeliveryUnavailable({ reason: "not-configured" })
          }
          const secret = codeDeliverySecret(settings.deriveSecret, delivery.organizationId)
          const once = Effect.gen(function*() {
            const now = yield* Clock.currentTimeMillis
            const body = codeDeliveryBody(delivery, now)
            const signed = yield* Effect.promise(() =>
              webhookHeaders(secret, delivery.changeId, Math.floor(now / 1000), body)
            )
            const result = yield* transport.send({
              url,
              headers: { "content-type": "application/json", "user-agent": WEBHOOK_USER_AGENT, ...signed },
              body,
              timeoutMs: CODE_DELIVERY_TIMEOUT_MS
            })
            return yield* accepted(result) ? Effect.void : Effect.fail(result)
          })
          yield* once.pipe(
            Effect.retry({ schedule: briefRetry, while: retryable }),
            Effect.tapError((result) =>
              Effect.logWarning("code delivery failed").pipe(
                Effect.annotateLogs({
                  organizationId: delivery.organizationId,
                  outcome: result.kind === "response" ? `http ${result.status}` : result.kind
                })
              )
            ),
            Effect.mapError(() => failed)
          )
        })
    }
  })
)

/** Local dev mode: an organization without a code-delivery endpoint gets its codes in the server's log. */
export const withDevFallback = <E, R>(
  primary: Layer.Layer<CodeSender, E, R>,
  fallback: Layer.Layer<CodeSender>
): Layer.Layer<CodeSender, E, R> =>
  Layer.effect(
    CodeSender,
    Effect.gen(function*() {
      const [sender, dev] = [yield* CodeSender, yield* Effect.provide(CodeSender, fallback)]
      return {
        send: (delivery: CodeDelivery) =>
          Effect.catchIf(sender.send(delivery), (error) => error.reason === "not-configured", () => dev.send(delivery))
      }
    })
  ).pipe(Layer.provide(primary))

export interface CodeDeliveryView {
  readonly url: string
  /** whsec_…: the code-delivery endpoint checks the signature with it. */
  readonly secret: string
}

/** PUT /organizations/{id}/code-delivery: the URL rules of event webhooks hold here too. */
export const authorizeSetCodeDelivery = (organizationId: string) =>
  Effect.gen(function*() {
    const principal = yield* CurrentPrincipal
    yield* authorizeWebhooks(principal)
    if (organizationId !== principal.organizationId) return yield* new OrganizationNotFound()
    return (url: string) =>
      Effect.gen(function*() {
        const { deriveSecret, urlRules } = yield* WebhookSettings
        if (deriveSecret === undefined) return yield* new CodeDeliveryUnavailable({ reason: "not-configured" })
        const checked = checkWebhookUrl(url, urlRules)
        if (!checked.ok) return yield* new InvalidWebhookUrl({ detail: WEBHOOK_URL_REFUSALS[checked.refusal] })
        const now = new Date(yield* Clock.currentTimeMillis).toISOString()
        yield* Effect.flatMap(PhoneVerificationStore, (store) =>
          store.setCodeDeliveryUrl(organizationId, checked.url, now))
        const view: CodeDeliveryView = { url: checked.url, secret: codeDeliverySecret(deriveSecret, organizationId) }
        return view
      })
  })
