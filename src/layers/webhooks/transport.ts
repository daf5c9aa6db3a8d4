// URL rules and the DNS check run before every send (docs/DECISIONS.md, "Webhook URLs").
import { FetchHttpClient, HttpClient, HttpClientRequest, type HttpClientResponse } from "@effect/platform"
import { Duration, Effect, Layer, Stream } from "effect"
import type * as NodeDns from "node:dns"
import { checkWebhookUrl, isPublicAddress, type WebhookUrlRules } from "../../domain/webhook-url.js"
import {
  type OutgoingWebhook,
  RESPONSE_EXCERPT_LENGTH,
  type TransportResult,
  WebhookTransport
} from "../../services/webhooks.js"

export interface TransportOptions {
  readonly checkAddresses: boolean
  /** Undefined only where tests send anywhere. */
  readonly urlRules?: WebhookUrlRules | undefined
}

// Looked up, not imported, so that no Workers bundle has to resolve it (as src/sha256.ts does node:crypto).
const nodeDns = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
  ?.getBuiltinModule?.("node:dns") as typeof NodeDns | undefined

/** Undefined when the host does not resolve. */
const resolvesToPublic = async (host: string): Promise<boolean | undefined> => {
  const literal = isPublicAddress(host)
  if (literal !== undefined) return literal
  if (nodeDns === undefined) throw new Error("node:dns is not available to check the webhook's addresses")
  try {
    const addresses = await nodeDns.promises.lookup(host, { all: true, verbatim: true })
    return addresses.length > 0 && addresses.every(({ address }) => isPublicAddress(address) === true)
  } catch {
    return undefined
  }
}

/** The stream's end cancels the rest, unread. */
const excerptOf = (response: HttpClientResponse.HttpClientResponse) =>
  response.stream.pipe(
    Stream.decodeText(),
    Stream.runFoldWhile("", (text) => text.length < RESPONSE_EXCERPT_LENGTH, (text, chunk) => text + chunk),
    Effect.map((text) => text.slice(0, RESPONSE_EXCERPT_LENGTH)),
    Effect.catchIf((error) => error.reason === "EmptyBody", () => Effect.succeed(""))
  )

const describe = (error: unknown): string => {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } })?.cause
  const code = (error as { code?: unknown })?.code ?? cause?.code
  const message = error instanceof Error ? error.message : String(error)
  // Bun's message begins with the code already ("ECONNREFUSED: Unable to connect…").
  const prefix = typeof code === "string" && !message.startsWith(code) ? `${code}: ` : ""
  return `${prefix}${message}`.slice(0, RESPONSE_EXCERPT_LENGTH)
}

const TIMED_OUT: TransportResult = { kind: "timeout" }
const BLOCKED: TransportResult = { kind: "blocked-address" }
const NOT_FOLLOWED: FetchHttpClient.RequestInit["Type"] = { redirect: "manual" }

export const sendWith =
  (client: HttpClient.HttpClient, options: TransportOptions) =>
  (webhook: OutgoingWebhook): Effect.Effect<TransportResult> =>
    Effect.gen(function*() {
      if (options.urlRules !== undefined && !checkWebhookUrl(webhook.url, options.urlRules).ok) return BLOCKED
      if (options.checkAddresses) {
        const reachable = yield* Effect.tryPromise(() => resolvesToPublic(new URL(webhook.url).hostname))
        if (reachable === false) return BLOCKED
        if (reachable === undefined) return { kind: "network-error", detail: "the host does not resolve" } as const
      }
      const request = HttpClientRequest.post(webhook.url).pipe(
        HttpClientRequest.bodyText(webhook.body, webhook.headers["content-type"]),
        HttpClientRequest.setHeaders(webhook.headers)
      )
      const response = yield* client.execute(request)
      return { kind: "response", status: response.status, excerpt: yield* excerptOf(response) } as const
    }).pipe(
      Effect.provideService(FetchHttpClient.RequestInit, NOT_FOLLOWED),
      Effect.catchAll((error) =>
        Effect.succeed<TransportResult>({
          kind: "network-error",
          detail: describe(error._tag === "UnknownException" ? error.error : error.cause)
        })
      ),
      Effect.timeoutTo({
        duration: Duration.millis(webhook.timeoutMs),
        onSuccess: (result) => result,
        onTimeout: () => TIMED_OUT
      })
    )

const untraced = (client: HttpClient.HttpClient) => HttpClient.withTracerDisabledWhen(client, () => true)

/** Without a span per send: no exporter reads them. */
export const HttpWebhookTransport = (options: TransportOptions) =>
  Layer.effect(
    WebhookTransport,
    Effect.map(HttpClient.HttpClient, (client) => ({ send: sendWith(untraced(client), options) }))
  )

export const FetchWebhookTransport = (options: TransportOptions) =>
  Layer.provide(HttpWebhookTransport(options), FetchHttpClient.layer)

export const sendWebhook = (options: TransportOptions) => (webhook: OutgoingWebhook) =>
  Effect.provide(
    Effect.flatMap(HttpClient.HttpClient, (client) => sendWith(untraced(client), options)(webhook)),
    FetchHttpClient.layer
  )
