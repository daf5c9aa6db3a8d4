/**
 * The consumer's check (src/audit/feed.ts, Web Crypto) recomputes what the server computes with node:crypto
 * (src/audit/chain.ts links, src/audit/checkpoint.ts seals): held to each other on generated histories, two
 * checkpoints deep, so the two can never drift apart unnoticed.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { GENESIS_HASH, nextLink } from "../../src/audit/chain.js"
import { headsOf, nextCheckpoint } from "../../src/audit/checkpoint.js"
import { type FeedEntry, verifyFeed } from "../../src/audit/feed.js"
import type { UserEvent } from "../../src/domain/user.js"

/** A history: which user writes each event, in commit order. */
const histories = fc.array(fc.constantFrom("a", "b", "c", "d", "é", "A"), { minLength: 1, maxLength: 40 })

const build = (writers: ReadonlyArray<string>): Array<FeedEntry> => {
  const heads = new Map<string, { version: number; hash: string }>()
  return writers.map((aggregateId, i) => {
    const before = heads.get(aggregateId)
    const version = (before?.version ?? 0) + 1
    const event = {
      id: `0190a000-0000-7000-8000-${String(i).padStart(12, "0")}`,
      type: version === 1 ? "UserCreated" : "UserPhoneNumberUpdated",
      aggregateType: "User",
      aggregateId,
      version,
      occurredAt: new Date(1_700_000_000_000 + i).toISOString(),
      data: version === 1
        ? { maskedPhoneNumber: null }
        : {
          maskedPhoneNumber: `****${String(i).padStart(4, "0")}`,
          previousMaskedPhoneNumber: null,
          phoneNumberVerified: false
        },
      metadata: { organizationId: "org", actor: { type: "service", id: "svc" }, requestId: `r${i}` }
    } as UserEvent
    const link = nextLink(before?.hash ?? GENESIS_HASH, event)
    heads.set(aggregateId, { version, hash: link.hash })
    return { sequence: 10 + 3 * i, prevHash: link.prevHash, hash: link.hash, event }
  })
}

const checkpointOver = (entries: ReadonlyArray<FeedEntry>, previous?: ReturnType<typeof nextCheckpoint>) =>
  nextCheckpoint(previous, {
    organizationId: "org",
    upToEventSequence: entries[entries.length - 1]!.sequence,
    eventCount: entries.length,
    heads: headsOf(entries.map((e) => ({ aggregateId: e.event.aggregateId, version: e.event.version, hash: e.hash }))),
    createdAt: "2026-01-01T00:00:00.000Z"
  })

describe("verifyFeed agrees with the server's chain and checkpoints", () => {
  it("accepts every generated history sealed by one checkpoint, or by two", async () => {
    await fc.assert(
      fc.asyncProperty(histories, fc.nat(), async (writers, cut) => {
        const entries = build(writers)
        const one = checkpointOver(entries)
        expect(await verifyFeed(entries, one)).toEqual({ ok: true, checked: entries.length, sealed: entries.length })
        const split = cut % entries.length
        if (split === 0) return
        const first = checkpointOver(entries.slice(0, split))
        const second = checkpointOver(entries.slice(split), first)
        expect(await verifyFeed(entries, second)).toMatchObject({ ok: true, sealed: entries.length - split })
        expect(await verifyFeed(entries, second, { previousHead: first })).toMatchObject({ ok: true })
        // A consumer that joined after the first checkpoint checks the second from what it has.
        const joined = entries.slice(split)
        const fresh = joined.every((e) => writers.indexOf(e.event.aggregateId as (typeof writers)[number]) >= split)
        if (fresh) expect(await verifyFeed(joined, second)).toMatchObject({ ok: true })
      }),
      { numRuns: 60 }
    )
  })

  it("refuses a generated history with one event's content changed", async () => {
    await fc.assert(
      fc.asyncProperty(histories, fc.nat(), async (writers, pick) => {
        const entries = build(writers)
        const head = checkpointOver(entries)
        const i = pick % entries.length
        const changed = entries.map((e, j) =>
          j === i ? { ...e, event: { ...e.event, occurredAt: "2000-01-01T00:00:00.000Z" } } : e
        )
        expect(await verifyFeed(changed, head)).toMatchObject({ ok: false, problem: "hash" })
      }),
      { numRuns: 30 }
    )
  })

  it("takes a redacted entry's hash as given, and still checks its links and seal", async () => {
    const entries = build(["a", "a", "b"])
    const head = checkpointOver(entries)
    const stripped = { ...entries[0]!, event: { ...entries[0]!.event, data: {} } }
    expect(await verifyFeed([stripped, ...entries.slice(1)], head)).toMatchObject({ ok: false, problem: "hash" })
    expect(await verifyFeed([{ ...stripped, redacted: true }, ...entries.slice(1)], head)).toMatchObject({ ok: true })
    const relinked = { ...stripped, redacted: true, hash: "f".repeat(64) }
    expect(await verifyFeed([relinked, ...entries.slice(1)], head)).toMatchObject({ ok: false, problem: "prev-hash" })
  })

  it("checks no seal while there is no checkpoint, and still every link", async () => {
    const entries = build(["a", "a", "b"])
    const none = { sequence: 0, upToEventSequence: 0, eventCount: 0, root: "x" }
    expect(await verifyFeed(entries, none)).toEqual({ ok: true, checked: 3, sealed: 0 })
    expect(await verifyFeed([entries[0]!, entries[2]!, { ...entries[1]!, sequence: 99 }], none)).toMatchObject({
      ok: true
    })
    expect(await verifyFeed([{ ...entries[0]!, prevHash: "1".repeat(64) }], none)).toMatchObject({
      ok: false,
      problem: "hash"
    })
  })
})
