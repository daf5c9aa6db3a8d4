/**
 * Where a webhook may go (src/domain/webhook-url.ts, src/domain/ip-address.ts) and what the transport does at send
 * time (src/layers/webhooks/transport.ts): the special-purpose registries of both IP versions and the audit's forms
 * (test/support/address-table.ts, which test/workers runs too), the URL rules of each mode, the operator's allow-list,
 * the rules held again at send time, a name that resolves to the loopback refused at send time (the DNS-rebinding
 * check of Bun and Deno), no redirect followed, and at most 256 characters of an answer kept.
 */
import { Effect } from "effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ConfigError, readEnv, webhookAllowedHosts } from "../../src/config.js"
import {
  allowedHostEntry,
  checkWebhookUrl,
  isLoopbackHost,
  isPublicAddress,
  type WebhookUrlRules
} from "../../src/domain/webhook-url.js"
import { sendWebhook } from "../../src/layers/webhooks/transport.js"
import { IPV4_REGISTRY, IPV6_REGISTRY, PRODUCTION_URLS } from "../support/address-table.js"
import { type Receiver, startReceiver } from "../support/webhook-receiver.js"

describe("isPublicAddress", () => {
  it.each([...IPV4_REGISTRY, ...IPV6_REGISTRY])("%s is public: %s (%s)", (address, isPublic) => {
    expect(isPublicAddress(address)).toBe(isPublic)
  })

  it.each(["example.com", "1.2.3", "1.2.3.256", "::g", "1::2::3", ""])("%s is not an address", (text) => {
    expect(isPublicAddress(text)).toBeUndefined()
  })

  it("knows the loopback in its spellings", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "[::1]", "::1", "localhost", "[::ffff:7f00:1]"]) {
      expect(isLoopbackHost(host), host).toBe(true)
    }
    for (const host of ["10.0.0.1", "example.com", "[::2]", "localhost.example.com"]) {
      expect(isLoopbackHost(host), host).toBe(false)
    }
  })
})

describe("checkWebhookUrl", () => {
  const production = { allowLoopback: false }
  const local = { allowLoopback: true }
  it("normalizes what it accepts as the URL parser writes it", () => {
    expect(checkWebhookUrl("HTTPS://Hooks.Example.COM:443/a b", production)).toEqual({
      ok: true,
      url: "https://hooks.example.com/a%20b"
    })
  })
  it("says why it refuses, in every refusal's words", () => {
    const refusal = (url: string, rules = production) => {
      const checked = checkWebhookUrl(url, rules)
      return checked.ok ? "accepted" : checked.refusal
    }
    expect(refusal("x".repeat(2_049))).toBe("too-long")
    expect(refusal("hooks.example.com")).toBe("not-a-url")
    expect(refusal("ws://hooks.example.com/")).toBe("not-https")
    expect(refusal("http://hooks.example.com/")).toBe("not-https")
    expect(refusal("http://hooks.example.com/", local)).toBe("not-https")
    expect(refusal("https://a:b@hooks.example.com/")).toBe("credentials")
    expect(refusal("https://hooks.example.com/#")).toBe("fragment")
    expect(refusal("https://[::1]:8443/")).toBe("private-address")
    expect(refusal("https://LOCALHOST./")).toBe("local-name")
    expect(refusal("https://printer/")).toBe("local-name")
    expect(refusal("http://127.0.0.1:1/", local)).toBe("accepted")
    expect(refusal("https://10.0.0.1/", local)).toBe("accepted")
  })

  it.each(PRODUCTION_URLS)("judges %s after normalizing it: %s", (url, expected) => {
    const checked = checkWebhookUrl(url, production)
    expect(checked.ok ? "accepted" : checked.refusal).toBe(expected)
  })

  it("keeps the trailing dot it accepted (a dot-terminated name gets no search domain)", () => {
    expect(checkWebhookUrl("https://Hooks.Example.COM./x", production)).toEqual({
      ok: true,
      url: "https://hooks.example.com./x"
    })
  })

  it("with an allow-list, accepts only its hosts and suffixes, and still refuses private addresses", () => {
    const entries = ["hooks.example.com", ".receivers.example.net", "*.other.example.org", "B\u00fccher.DE."]
    const allowedHosts = entries.map((entry) => allowedHostEntry(entry)!)
    expect(allowedHosts).toEqual([
      "hooks.example.com",
      ".receivers.example.net",
      ".other.example.org",
      "xn--bcher-kva.de"
    ])
    const refusal = (url: string, rules = { ...production, allowedHosts }) => {
      const checked = checkWebhookUrl(url, rules)
      return checked.ok ? "accepted" : checked.refusal
    }
    expect(refusal("https://hooks.example.com/a")).toBe("accepted")
    expect(refusal("https://HOOKS.example.com./a")).toBe("accepted")
    expect(refusal("https://a.receivers.example.net/")).toBe("accepted")
    expect(refusal("https://x.y.other.example.org/")).toBe("accepted")
    expect(refusal("https://b\u00fccher.de/")).toBe("accepted")
    expect(refusal("https://receivers.example.net/")).toBe("host-not-allowed")
    expect(refusal("https://evilreceivers.example.net/")).toBe("host-not-allowed")
    expect(refusal("https://hooks.example.com.evil.com/")).toBe("host-not-allowed")
    expect(refusal("https://8.8.8.8/")).toBe("host-not-allowed")
    expect(refusal("https://[::ffff:0:7f00:1]/")).toBe("private-address")
    expect(refusal("http://127.0.0.1:1/", { allowLoopback: true, allowedHosts })).toBe("host-not-allowed")
    for (const entry of ["", ".", "*.", "https://x.com", "x.com/path", "a b", "user@x.com", "x.com:443"]) {
      expect(allowedHostEntry(entry), entry).toBeUndefined()
    }
  })
})

describe("WEBHOOK_ALLOWED_HOSTS", () => {
  it("is read as hosts and suffixes, unset when empty; an entry that is no host stops the start", () => {
    expect(readEnv(webhookAllowedHosts, {})).toBeUndefined()
    expect(readEnv(webhookAllowedHosts, { WEBHOOK_ALLOWED_HOSTS: " , " })).toBeUndefined()
    expect(readEnv(webhookAllowedHosts, { WEBHOOK_ALLOWED_HOSTS: "Hooks.Example.com., *.example.net .example.org" }))
      .toEqual(["hooks.example.com", ".example.net", ".example.org"])
    expect(() => readEnv(webhookAllowedHosts, { WEBHOOK_ALLOWED_HOSTS: "hooks.example.com/x" })).toThrow(ConfigError)
  })
})

describe("sending (the transport)", () => {
  let receiver: Receiver
  let redirectTarget: Receiver
  let redirecting: ReturnType<typeof createServer>
  let redirectUrl: string

  beforeAll(async () => {
    receiver = await startReceiver(() => ({ status: 200, body: "é".repeat(400) }))
    redirectTarget = await startReceiver()
    redirecting = createServer((_, response) => {
      response.writeHead(307, { location: redirectTarget.url }).end()
    })
    await new Promise<void>((resolve) => redirecting.listen(0, "127.0.0.1", resolve))
    redirectUrl = `http://127.0.0.1:${(redirecting.address() as AddressInfo).port}/`
  })
  afterAll(async () => {
    await receiver.close()
    await redirectTarget.close()
    await new Promise((resolve) => redirecting.close(resolve))
  })

  const send = (url: string, checkAddresses: boolean, urlRules?: WebhookUrlRules) =>
    Effect.runPromise(sendWebhook({ checkAddresses, urlRules })({ url, headers: {}, body: "{}", timeoutMs: 5_000 }))

  it("outside local development, refuses a host that resolves to a private address, before connecting", async () => {
    const before = receiver.received.length
    expect(await send(`http://localhost:${receiver.port}/`, true)).toEqual({ kind: "blocked-address" })
    expect(await send(`http://127.0.0.1:${receiver.port}/`, true)).toEqual({ kind: "blocked-address" })
    expect(receiver.received.length).toBe(before)
  })

  it("holds every URL to the rules again, literal addresses included, with or without a lookup (Workers)", async () => {
    const before = receiver.received.length
    for (const checkAddresses of [true, false]) {
      for (const url of ["https://[::ffff:0:7f00:1]/", "https://[64:ff9b:1::a9fe:a9fe]/", "https://vm./"]) {
        expect(await send(url, checkAddresses, { allowLoopback: false }), url).toEqual({ kind: "blocked-address" })
      }
    }
    expect(await send(`http://127.0.0.1:${receiver.port}/`, false, { allowLoopback: false })).toEqual({
      kind: "blocked-address"
    })
    expect(receiver.received.length).toBe(before)
  })

  it("sends only to the allow-list's hosts when there is one, on every runtime", async () => {
    const before = receiver.received.length
    const rules = (allowedHosts: ReadonlyArray<string>) => ({ allowLoopback: true, allowedHosts })
    const url = `http://127.0.0.1:${receiver.port}/`
    expect(await send(url, false, rules(["hooks.example.com"]))).toEqual({ kind: "blocked-address" })
    expect(receiver.received.length).toBe(before)
    expect(await send(url, false, rules(["127.0.0.1"]))).toMatchObject({ kind: "response", status: 200 })
    expect(receiver.received.length).toBe(before + 1)
  })

  it("in local development, sends; keeps 256 characters of the answer", async () => {
    const result = await send(`http://localhost:${receiver.port}/`, false)
    expect(result).toEqual({ kind: "response", status: 200, excerpt: "é".repeat(256) })
  })

  it("follows no redirect: a 3xx is the answer", async () => {
    expect(await send(redirectUrl, false)).toMatchObject({ kind: "response", status: 307 })
    expect(redirectTarget.received).toEqual([])
  })

  it("reads no more of an endless answer than the excerpt needs, then hangs up", async () => {
    let written = 0
    const endless = createServer((_, response) => {
      response.writeHead(200, { "content-type": "text/plain" })
      const chunk = "y".repeat(64 * 1024)
      const more = () => {
        while (!response.destroyed && response.write(chunk)) written += chunk.length
        if (!response.destroyed) response.once("drain", more)
      }
      more()
    })
    await new Promise<void>((resolve) => endless.listen(0, "127.0.0.1", resolve))
    const url = `http://127.0.0.1:${(endless.address() as AddressInfo).port}/`
    try {
      expect(await send(url, false)).toEqual({ kind: "response", status: 200, excerpt: "y".repeat(256) })
      // Far less than the time-out allows: the rest was cancelled, not read (the socket buffers a few MiB at most).
      expect(written).toBeLessThan(64 * 1024 * 1024)
    } finally {
      endless.closeAllConnections()
      await new Promise((resolve) => endless.close(resolve))
    }
  })

  it("a closed port is a network error", async () => {
    const closed = await startReceiver()
    await closed.close()
    expect(await send(closed.url, false)).toMatchObject({
      kind: "network-error",
      detail: expect.stringMatching(/ECONNREFUSED|fetch failed/)
    })
  })
})
