/**
 * The chain's link functions, pinned: a stored chain verifies only while the canonical text and its hash stay
 * byte-for-byte what they were when the events were written. The legacy (organization-wide) value was computed by
 * the first implementation (commit 9942fa9); the per-user value by the one that introduced it (migration 0004).
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { uuidv7 } from "../../src/app/context.js"
import { canonicalJson, GENESIS_HASH, legacyLinkHash, linkHash, nextLink } from "../../src/audit/chain.js"
import type { UserEvent } from "../../src/domain/user.js"

const event = {
  type: "UserPhoneNumberUpdated",
  id: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
  aggregateType: "User",
  aggregateId: "u1",
  version: 2,
  occurredAt: "2026-11-27T05:00:00.000Z",
  data: { maskedPhoneNumber: "****2671", previousMaskedPhoneNumber: null, phoneNumberVerified: false },
  metadata: { organizationId: "org", actor: { type: "service", id: "s" }, requestId: "r" }
} as unknown as UserEvent

describe("the audit chain's link", () => {
  it("writes canonical JSON: keys sorted at every level, undefined fields left out, no whitespace", () => {
    expect(canonicalJson({ z: undefined, y: { d: 1, c: [] }, x: "é", "10": 1, "9": 2, A: 0 })).toBe(
      '{"10":1,"9":2,"A":0,"x":"é","y":{"c":[],"d":1}}'
    )
    expect(canonicalJson([1, undefined, { b: 2, a: [null, "x"] }])).toBe('[1,,{"a":[null,"x"],"b":2}]')
  })

  it("writes every string, key or value, exactly as JSON.stringify does, escapes included", () => {
    const strings = [
      "",
      "plain ~ text!",
      'a "quoted" word',
      "back\\slash",
      "tab\tnew\nline",
      "\u0000\u001f\u007f",
      "é ü 日本",
      "\u2028\u2029",
      "\ud800 lone",
      "😀"
    ]
    for (const text of strings) {
      expect(canonicalJson(text)).toBe(JSON.stringify(text))
      expect(canonicalJson({ [text]: text })).toBe(`{${JSON.stringify(text)}:${JSON.stringify(text)}}`)
    }
  })

  it("hashes a legacy (organization-chain) event to the value the first implementation stored", () => {
    expect(legacyLinkHash(GENESIS_HASH, 1, event)).toBe(
      "027f298f2012c6123addc026bb9e4971801e16401e897c780001f147ea4065d1"
    )
    expect(legacyLinkHash("a".repeat(64), 5, event)).toBe(
      "2119d13e69746dc9475f3809809daf1610046b8ffcf626234224bb02956ba593"
    )
  })

  it("links a user's event to the previous one's hash, to the value pinned when per-user chains began", () => {
    const link = nextLink("a".repeat(64), event)
    expect(link).toEqual({ prevHash: "a".repeat(64), hash: linkHash("a".repeat(64), event) })
    expect(link.hash).toBe("ae3785733555ce70380cfb13f6d36b04e40d555cf3db2bf2be4b31fe948f3770")
    expect(linkHash(GENESIS_HASH, event)).not.toBe(legacyLinkHash(GENESIS_HASH, 1, event))
  })
})

describe("uuidv7", () => {
  it("is an RFC 9562 version-7 UUID whose first 48 bits are the clock's milliseconds", () => {
    const before = Date.now()
    const id = Effect.runSync(uuidv7)
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    const millis = parseInt(id.replace(/-/g, "").slice(0, 12), 16)
    expect(millis).toBeGreaterThanOrEqual(before)
    expect(millis).toBeLessThanOrEqual(Date.now())
  })
})
