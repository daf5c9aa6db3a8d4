/**
 * Our Standard Webhooks signer and verifier (src/webhooks) against the specification's reference: the test vectors of
 * the official libraries (standard-webhooks/libraries: the JavaScript, Python and Go tests share them) and the
 * `standardwebhooks` npm package itself, in both directions, on fixed and on generated inputs.
 */
import fc from "fast-check"
import { Webhook, WebhookVerificationError as ReferenceError } from "standardwebhooks"
import { describe, expect, it } from "vitest"
import { generateWebhookSecret, signWebhook, webhookHeaders } from "../../src/webhooks/signature.js"
import { verifyWebhook, WEBHOOK_TOLERANCE_SECONDS, WebhookVerificationError } from "../../src/webhooks/verify.js"

// The official vectors: the libraries' `sign` tests (JavaScript, Python, Go) expect exactly this signature.
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
const BARE_SECRET = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
const ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
const TIMESTAMP = 1614265330
const PAYLOAD = '{"test": 2432232314}'
const SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
// The Python library's invalid signature: the vector's with its last base64 digit changed.
const NEAR_MISS = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="
// The libraries' "invalid" and "multi sig" fillers.
const OTHER = "Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="

const at = (seconds: number) => ({ now: seconds * 1000 })
const vectorHeaders = (signature = SIGNATURE): Record<string, string> => ({
  "webhook-id": ID,
  "webhook-timestamp": String(TIMESTAMP),
  "webhook-signature": signature
})

const refusal = async (promise: Promise<unknown>): Promise<string> => {
  const error = await promise.then(() => undefined, (e: unknown) => e)
  expect(error).toBeInstanceOf(WebhookVerificationError)
  return (error as WebhookVerificationError).reason
}

describe("the official test vectors", () => {
  it("signs the vector to the libraries' expected signature, with or without the whsec_ prefix", async () => {
    expect(await signWebhook(SECRET, ID, TIMESTAMP, PAYLOAD)).toBe(SIGNATURE)
    expect(await signWebhook(SECRET, ID, new Date(TIMESTAMP * 1000), PAYLOAD)).toBe(SIGNATURE)
    expect(await signWebhook(BARE_SECRET, ID, TIMESTAMP, PAYLOAD)).toBe(SIGNATURE)
    expect(await signWebhook(SECRET, ID, TIMESTAMP, new TextEncoder().encode(PAYLOAD))).toBe(SIGNATURE)
  })

  it("verifies the vector (headers in any letter case, a Headers object, the body as text or bytes)", async () => {
    const expected = { id: ID, timestamp: TIMESTAMP, body: PAYLOAD }
    expect(await verifyWebhook(SECRET, vectorHeaders(), PAYLOAD, at(TIMESTAMP))).toEqual(expected)
    expect(await verifyWebhook(BARE_SECRET, vectorHeaders(), PAYLOAD, at(TIMESTAMP))).toEqual(expected)
    expect(await verifyWebhook(SECRET, new Headers(vectorHeaders()), PAYLOAD, at(TIMESTAMP))).toEqual(expected)
    const shouting = Object.fromEntries(Object.entries(vectorHeaders()).map(([k, v]) => [k.toUpperCase(), v]))
    expect(await verifyWebhook(SECRET, shouting, PAYLOAD, at(TIMESTAMP))).toEqual(expected)
    const bytes = new TextEncoder().encode(PAYLOAD)
    expect(await verifyWebhook(SECRET, vectorHeaders(), bytes, at(TIMESTAMP))).toEqual(expected)
    expect(await verifyWebhook(SECRET, vectorHeaders(), bytes.buffer, at(TIMESTAMP))).toEqual(expected)
  })

  it("finds the valid one among several signatures (the libraries' multi-signature case)", async () => {
    const header = [`v1,${OTHER}`, `v2,${OTHER}`, SIGNATURE, `v1,${OTHER}`].join(" ")
    expect((await verifyWebhook(SECRET, vectorHeaders(header), PAYLOAD, at(TIMESTAMP))).id).toBe(ID)
    // Asymmetric (v1a) signatures are another scheme: skipped, not an error.
    const spec =
      `${SIGNATURE} v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==`
    expect((await verifyWebhook(SECRET, vectorHeaders(spec), PAYLOAD, at(TIMESTAMP))).id).toBe(ID)
  })

  it("refuses what the libraries refuse", async () => {
    const verify = (headers: Record<string, string>, body = PAYLOAD, now = TIMESTAMP) =>
      refusal(verifyWebhook(SECRET, headers, body, at(now)))
    const without = (name: string) => Object.fromEntries(Object.entries(vectorHeaders()).filter(([k]) => k !== name))
    expect(await verify(without("webhook-id"))).toBe("missing-header")
    expect(await verify(without("webhook-timestamp"))).toBe("missing-header")
    expect(await verify(without("webhook-signature"))).toBe("missing-header")
    expect(await verify({ ...vectorHeaders(), "webhook-timestamp": "hello" })).toBe("invalid-header")
    expect(await verify(vectorHeaders("v1,dawfeoifkpqwoekfpqoekf"))).toBe("no-matching-signature")
    expect(await verify(vectorHeaders(NEAR_MISS))).toBe("no-matching-signature")
    expect(await verify(vectorHeaders(`v1,${OTHER}`))).toBe("no-matching-signature")
    expect(await verify(vectorHeaders(SIGNATURE.slice(0, 8)))).toBe("no-matching-signature")
    expect(await verify(vectorHeaders("v1,"))).toBe("no-matching-signature")
    // The right signature under another scheme's name, or with no scheme at all.
    expect(await verify(vectorHeaders(SIGNATURE.replace("v1,", "v2,")))).toBe("no-matching-signature")
    expect(await verify(vectorHeaders(SIGNATURE.slice(3)))).toBe("no-matching-signature")
    // Another body, id or timestamp than the signed ones.
    expect(await verify(vectorHeaders(), '{"test": 2432232315}')).toBe("no-matching-signature")
    expect(await verify(vectorHeaders(), `${PAYLOAD} `)).toBe("no-matching-signature")
    expect(await verify({ ...vectorHeaders(), "webhook-id": `${ID}x` })).toBe("no-matching-signature")
    expect(await verify({ ...vectorHeaders(), "webhook-timestamp": String(TIMESTAMP + 1) })).toBe(
      "no-matching-signature"
    )
  })

  it("holds the timestamp to 5 minutes either way (the libraries' old and new timestamp cases)", async () => {
    const verify = (now: number) => verifyWebhook(SECRET, vectorHeaders(), PAYLOAD, at(now))
    expect(WEBHOOK_TOLERANCE_SECONDS).toBe(300)
    await expect(verify(TIMESTAMP + 300)).resolves.toMatchObject({ id: ID })
    await expect(verify(TIMESTAMP - 300)).resolves.toMatchObject({ id: ID })
    expect(await refusal(verify(TIMESTAMP + 301))).toBe("timestamp-too-old")
    expect(await refusal(verify(TIMESTAMP - 301))).toBe("timestamp-too-new")
    const longer = verifyWebhook(SECRET, vectorHeaders(), PAYLOAD, { ...at(TIMESTAMP + 3600), toleranceSeconds: 3600 })
    await expect(longer).resolves.toMatchObject({ id: ID })
  })
})

describe("rules of the specification beyond the vectors", () => {
  it("refuses an id with a dot (the signed content is split on dots) and an id or timestamp sent twice", async () => {
    const body = "2.{}"
    const signature = await signWebhook(SECRET, "msg", 1, body) // signs "msg.1.2.{}", which "msg.1" and 2 also spell
    const headers = { "webhook-id": "msg.1", "webhook-timestamp": "2", "webhook-signature": signature }
    expect(await refusal(verifyWebhook(SECRET, headers, "{}", at(2)))).toBe("invalid-header")
    await expect(signWebhook(SECRET, "msg.1", 2, "{}")).rejects.toThrow(TypeError)
    const twice = { ...vectorHeaders(), "webhook-id": [ID, ID] }
    expect(await refusal(verifyWebhook(SECRET, twice, PAYLOAD, at(TIMESTAMP)))).toBe("invalid-header")
    // Node's IncomingHttpHeaders may give a header as an array: several signature lines are one list.
    const lines = { ...vectorHeaders(), "webhook-signature": [`v1,${OTHER}`, SIGNATURE] }
    await expect(verifyWebhook(SECRET, lines, PAYLOAD, at(TIMESTAMP))).resolves.toMatchObject({ id: ID })
  })

  it("takes secrets as whsec_<base64>, refuses an empty or malformed one, and signs only with 24 bytes or more", async () => {
    for (const secret of ["", "whsec_", "whsec_not base64!"]) {
      await expect(verifyWebhook(secret, vectorHeaders(), PAYLOAD, at(TIMESTAMP))).rejects.toThrow(TypeError)
    }
    const short = `whsec_${btoa("sixteen bytes!!!")}`
    await expect(signWebhook(short, ID, TIMESTAMP, PAYLOAD)).rejects.toThrow(/24 bytes/)
    const generated = generateWebhookSecret()
    expect(generated).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
    expect(generateWebhookSecret()).not.toBe(generated)
  })

  it("signs with every secret while one is rotated; either secret verifies", async () => {
    const [fresh, old] = [generateWebhookSecret(), generateWebhookSecret()]
    const now = Math.floor(Date.now() / 1000)
    const headers = await webhookHeaders([fresh, old], "msg_rotation", now, PAYLOAD)
    expect(headers["webhook-signature"].split(" ")).toHaveLength(2)
    for (const secret of [fresh, old]) {
      await expect(verifyWebhook(secret, headers, PAYLOAD)).resolves.toMatchObject({ id: "msg_rotation" })
      expect(new Webhook(secret).verify(PAYLOAD, headers)).toEqual(JSON.parse(PAYLOAD))
    }
    const stranger = generateWebhookSecret()
    expect(await refusal(verifyWebhook(stranger, headers, PAYLOAD))).toBe("no-matching-signature")
  })
})

describe("against the standardwebhooks package", () => {
  // Secrets of 24 to 64 bytes, ids the spec allows, any Unicode body, timestamps within the tolerance.
  const secret = fc.uint8Array({ minLength: 24, maxLength: 64 }).map((bytes) =>
    `whsec_${Buffer.from(bytes).toString("base64")}`
  )
  const id = fc.stringMatching(/^msg_[A-Za-z0-9_-]{1,40}$/)
  const body = fc.oneof(fc.string({ unit: "binary" }), fc.json())
  const skew = fc.integer({ min: -WEBHOOK_TOLERANCE_SECONDS + 5, max: WEBHOOK_TOLERANCE_SECONDS - 5 })

  it("signs exactly as the package signs", async () => {
    await fc.assert(
      fc.asyncProperty(secret, id, fc.integer({ min: 0, max: 4_000_000_000 }), body, async (s, i, ts, b) => {
        expect(await signWebhook(s, i, ts, b)).toBe(new Webhook(s).sign(i, new Date(ts * 1000), b))
      }),
      { numRuns: 200 }
    )
  })

  it("verifies what the package signed", async () => {
    await fc.assert(
      fc.asyncProperty(secret, id, skew, body, async (s, i, offset, b) => {
        const now = Math.floor(Date.now() / 1000)
        const signature = new Webhook(s).sign(i, new Date((now + offset) * 1000), b)
        const headers = { "webhook-id": i, "webhook-timestamp": String(now + offset), "webhook-signature": signature }
        expect(await verifyWebhook(s, headers, b, at(now))).toEqual({ id: i, timestamp: now + offset, body: b })
      }),
      { numRuns: 200 }
    )
  })

  it("makes webhooks the package verifies, and refuses what the package refuses", async () => {
    await fc.assert(
      fc.asyncProperty(secret, id, skew, fc.json(), async (s, i, offset, b) => {
        const now = Math.floor(Date.now() / 1000)
        const headers = await webhookHeaders(s, i, now + offset, b)
        expect(new Webhook(s).verify(b, headers)).toEqual(b === "" ? undefined : JSON.parse(b))
        // One changed byte of the body: both refuse.
        const tampered = `${b} `
        expect(() => new Webhook(s).verify(tampered, headers)).toThrow(ReferenceError)
        expect(await refusal(verifyWebhook(s, headers, tampered))).toBe("no-matching-signature")
      }),
      { numRuns: 100 }
    )
  })
})
