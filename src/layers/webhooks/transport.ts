/**
 * WebhookTransport over the runtime's global fetch (Bun, Deno, workerd alike): one POST, redirects not followed (a
 * 3xx is an answer like any other non-2xx, retried), the whole exchange bounded by the timeout, and at most
 * RESPONSE_EXCERPT_LENGTH characters of the answer read before the rest is dropped.
 *
 * `urlRules` (every runtime): the URL is held to the subscription rules again (src/domain/webhook-url.ts), so a
 * subscription made under older rules, or a host since taken off WEBHOOK_ALLOWED_HOSTS, is refused before connecting.
 * `checkAddresses` (Bun and Deno outside local development): the host is resolved first, and a name that resolves to
 * any address a webhook may not reach is refused, so a DNS answer that changed after the subscription was created
 * (rebinding) cannot point a delivery at this machine or a private network. fetch resolves the name again itself, so
 * a resolver that answers differently from one moment to the next could still slip past: the window is one lookup
 * wide. On Workers there is no lookup; the allow-list stands in for it (docs/PRODUCTION.md, "Webhooks").
 */
import { Effect, Layer } from "effect"
import type * as NodeDns from "node:dns"
import { checkWebhookUrl, isPublicAddress, type WebhookUrlRules } from "../../domain/webhook-url.js"
import {
  type OutgoingWebhook,
  RESPONSE_EXCERPT_LENGTH,
  type TransportResult,
  WebhookTransport
} from "../../services/webhooks.js"

export interface TransportOptions {
  /** Resolve each host and refuse private addresses (outside local development on Bun and Deno). */
  readonly checkAddresses: boolean
  /** The rules every URL is held to again before sending; undefined only where tests send anywhere. */
  readonly urlRules?: WebhookUrlRules | undefined
}

// Looked up, not imported, so that no Workers bundle has to resolve it (as src/sha256.ts does node:crypto).
const nodeDns = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
  ?.getBuiltinModule?.("node:dns") as typeof NodeDns | undefined

/** Whether every address `host` stands for is one a webhook may reach; undefined when it does not resolve. */
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

const decoder = new TextDecoder()

/** The first characters of the answer's body, then the rest is cancelled. */
const excerptOf = async (response: Response): Promise<string> => {
  if (response.body === null) return ""
  const reader = response.body.getReader()
  const chunks: Array<Uint8Array> = []
  let length = 0
  try {
    while (length < RESPONSE_EXCERPT_LENGTH * 4) {
      const { done, value } = await reader.read()
      if (done) break
      chunks.push(value)
      length += value.byteLength
    }
  } finally {
    await reader.cancel().catch(() => undefined)
  }
  const bytes = new Uint8Array(length)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  return decoder.decode(bytes).slice(0, RESPONSE_EXCERPT_LENGTH)
}

/** An error's message and code (ECONNRESET, ECONNREFUSED, …), never more than the excerpt holds. */
const describe = (error: unknown): string => {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } })?.cause
  const code = (error as { code?: unknown })?.code ?? cause?.code
  const message = error instanceof Error ? error.message : String(error)
  // Bun's message begins with the code already ("ECONNREFUSED: Unable to connect…").
  const prefix = typeof code === "string" && !message.startsWith(code) ? `${code}: ` : ""
  return `${prefix}${message}`.slice(0, RESPONSE_EXCERPT_LENGTH)
}

export const sendWebhook = (options: TransportOptions) => (webhook: OutgoingWebhook) =>
  Effect.promise(async (interrupted): Promise<TransportResult> => {
    const url = new URL(webhook.url)
    const timeout = new AbortController()
    const timer = setTimeout(() => timeout.abort(), webhook.timeoutMs)
    const signal = AbortSignal.any([timeout.signal, interrupted])
    try {
      if (options.urlRules !== undefined && !checkWebhookUrl(webhook.url, options.urlRules).ok) {
        return { kind: "blocked-address" }
      }
      if (options.checkAddresses) {
        const reachable = await resolvesToPublic(url.hostname)
        if (reachable === false) return { kind: "blocked-address" }
        if (reachable === undefined) return { kind: "network-error", detail: "the host does not resolve" }
      }
      const response = await fetch(url, {
        method: "POST",
        headers: webhook.headers,
        body: webhook.body,
        redirect: "manual",
        signal
      })
      return { kind: "response", status: response.status, excerpt: await excerptOf(response) }
    } catch (error) {
      return timeout.signal.aborted ? { kind: "timeout" } : { kind: "network-error", detail: describe(error) }
    } finally {
      clearTimeout(timer)
    }
  })

export const FetchWebhookTransport = (options: TransportOptions) =>
  Layer.succeed(WebhookTransport, { send: sendWebhook(options) })
