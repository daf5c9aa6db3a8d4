/**
 * Where a webhook may go (src/domain/webhook-url.ts) and what the transport does at send time
 * (src/layers/webhooks/transport.ts): the address classes of both IP versions in their many spellings, the URL rules
 * of each mode, a name that resolves to the loopback refused at send time (the DNS-rebinding check of Bun and Deno),
 * no redirect followed, and at most 256 characters of an answer kept.
 */
import { Effect } from "effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { checkWebhookUrl, isLoopbackHost, isPublicAddress } from "../../src/domain/webhook-url.js"
import { sendWebhook } from "../../src/layers/webhooks/transport.js"
import { type Receiver, startReceiver } from "../support/webhook-receiver.js"

describe("isPublicAddress", () => {
  it.each([
    "0.0.0.0",
    "10.0.0.1",
    "100.64.0.1",
    "127.0.0.1",
    "127.255.255.254",
    "169.254.169.254",
    "172.16.0.1",
    "172.31.255.255",
    "192.0.0.8",
    "192.0.2.1",
    "192.168.0.1",
    "198.18.0.1",
    "198.51.100.1",
    "203.0.113.1",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "[::1]",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:10.0.0.1",
    "::127.0.0.1",
    "64:ff9b::a00:1",
    "fc00::1",
    "fd00:ec2::254",
    "fe80::1",
    "fe80::1%eth0",
    "ff02::1",
    "2001:db8::1",
    "2002:7f00:1::"
  ])("%s is not public", (address) => {
    expect(isPublicAddress(address)).toBe(false)
  })

  it.each([
    "8.8.8.8",
    "1.1.1.1",
    "172.32.0.1",
    "100.128.0.1",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    "2002:808:808::"
  ])(
    "%s is public",
    (address) => {
      expect(isPublicAddress(address)).toBe(true)
    }
  )

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

  const send = (url: string, checkAddresses: boolean) =>
    Effect.runPromise(sendWebhook({ checkAddresses })({ url, headers: {}, body: "{}", timeoutMs: 5_000 }))

  it("outside local development, refuses a host that resolves to a private address, before connecting", async () => {
    const before = receiver.received.length
    expect(await send(`http://localhost:${receiver.port}/`, true)).toEqual({ kind: "blocked-address" })
    expect(await send(`http://127.0.0.1:${receiver.port}/`, true)).toEqual({ kind: "blocked-address" })
    expect(receiver.received.length).toBe(before)
  })

  it("in local development, sends; keeps 256 characters of the answer", async () => {
    const result = await send(`http://localhost:${receiver.port}/`, false)
    expect(result).toEqual({ kind: "response", status: 200, excerpt: "é".repeat(256) })
  })

  it("follows no redirect: a 3xx is the answer", async () => {
    expect(await send(redirectUrl, false)).toMatchObject({ kind: "response", status: 307 })
    expect(redirectTarget.received).toEqual([])
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
