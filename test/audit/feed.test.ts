/**
 * The consumer's check (src/audit/feed.ts, Web Crypto) recomputes what the server computes with node:crypto
 * (src/audit/chain.ts links, src/audit/checkpoint.ts seals): held to each other on generated histories, two
 * checkpoints deep, so the two can never drift apart unnoticed. With a head kept from before, any honest history
 * passes however many checkpoints later, and every rewrite of an event at or before the kept head fails.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { GENESIS_HASH, nextLink } from "../../src/audit/chain.js"
import { type Checkpoint, headsOf, nextCheckpoint } from "../../src/audit/checkpoint.js"
import { type FeedEntry, type FeedHead, verifyFeed } from "../../src/audit/feed.js"
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
    return { sequence: 1 + i, prevHash: link.prevHash, hash: link.hash, event }
  })
}

const GENESIS_HEAD: FeedHead = {
  organizationId: "org",
  sequence: 0,
  hash: GENESIS_HASH,
  prevHash: GENESIS_HASH,
  root: GENESIS_HASH,
  upToEventSequence: 0,
  eventCount: 0,
  createdAt: null,
  legacyUpToEventSequence: null
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
    const none = { ...GENESIS_HEAD, root: "x" }
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

/** The checkpoints a server seals at `cuts` (ascending counts of entries, the last one all of them). */
const sealAt = (entries: ReadonlyArray<FeedEntry>, cuts: ReadonlyArray<number>): Array<Checkpoint> => {
  const sealed: Array<Checkpoint> = []
  let from = 0
  for (const cut of cuts) {
    sealed.push(checkpointOver(entries.slice(from, cut), sealed.at(-1)))
    from = cut
  }
  return sealed
}

/** A history, where its checkpoints fall, which one was kept and which is the head now. */
const sealedHistories = fc.record({
  writers: fc.array(fc.constantFrom("a", "b", "c", "d"), { minLength: 2, maxLength: 30 }),
  cuts: fc.uniqueArray(fc.nat(), { maxLength: 8 }),
  kept: fc.nat(),
  head: fc.nat(),
  pick: fc.nat()
}).map(({ cuts, head, kept, pick, writers }) => {
  const entries = build(writers)
  const at = [...new Set([...cuts.map((c) => 1 + (c % entries.length)), entries.length])].sort((a, b) => a - b)
  const checkpoints = sealAt(entries, at)
  const k = kept % checkpoints.length
  const m = k + (head % (checkpoints.length - k))
  return { writers, entries, at, checkpoints, k, m, pick }
})

/** One event's content changed; the strongest server also recomputes its user's later links and every checkpoint. */
type Rewrite = "content" | "links" | "links-and-checkpoints"

const rewrite = (entries: ReadonlyArray<FeedEntry>, i: number, how: Rewrite) => {
  const changed = entries.map((e) => ({ ...e }))
  const target = changed[i]!
  changed[i] = { ...target, event: { ...target.event, occurredAt: "2000-01-01T00:00:00.000Z" } }
  if (how === "content") return changed
  const heads = new Map<string, string>()
  return changed.map((e, j) => {
    if (j < i) {
      heads.set(e.event.aggregateId, e.hash)
      return e
    }
    if (j > i && e.event.aggregateId !== target.event.aggregateId) return e
    const link = nextLink(heads.get(e.event.aggregateId) ?? GENESIS_HASH, e.event as UserEvent)
    heads.set(e.event.aggregateId, link.hash)
    return { ...e, ...link }
  })
}

describe("verifyFeed with a head kept from before", () => {
  it("accepts any honest history, however many checkpoints after the kept head", async () => {
    await fc.assert(
      fc.asyncProperty(sealedHistories, async ({ checkpoints, entries, k, m }) => {
        const kept = checkpoints[k]!
        const head = checkpoints[m]!
        const since = checkpoints.slice(k + 1, m + 1)
        // From the start, with every checkpoint; from the kept head's own events; from just after it.
        const all = { previousHead: kept, checkpoints: checkpoints.slice(0, m + 1) }
        expect(await verifyFeed(entries, head, all)).toMatchObject({ ok: true })
        const ownStart = kept.upToEventSequence - kept.eventCount
        expect(await verifyFeed(entries.slice(ownStart), head, { previousHead: kept, checkpoints: since }))
          .toMatchObject({ ok: true })
        const after = entries.slice(kept.upToEventSequence)
        expect(await verifyFeed(after, head, { previousHead: kept, checkpoints: since })).toMatchObject({ ok: true })
        // The genesis head kept: the first checkpoint must link to it.
        expect(await verifyFeed(entries, head, { previousHead: GENESIS_HEAD, checkpoints: all.checkpoints }))
          .toMatchObject({ ok: true })
      }),
      { numRuns: 150 }
    )
  })

  it("refuses every single-event rewrite at or before the kept head, however the server covers it up", async () => {
    await fc.assert(
      fc.asyncProperty(
        sealedHistories,
        fc.constantFrom<Rewrite>("content", "links", "links-and-checkpoints"),
        async ({ at, checkpoints, entries, k, m, pick }, how) => {
          const kept = checkpoints[k]!
          const i = pick % kept.upToEventSequence
          const served = rewrite(entries, i, how)
          const sealed = how === "links-and-checkpoints" ? sealAt(served, at) : checkpoints
          const head = sealed[m]!
          const fromStart = await verifyFeed(served, head, {
            previousHead: kept,
            checkpoints: sealed.slice(0, m + 1)
          })
          expect(fromStart.ok, JSON.stringify(fromStart)).toBe(false)
          // A consumer that reads only what came after its kept head still sees the history fork from it.
          if (how === "links-and-checkpoints") {
            const after = await verifyFeed(served.slice(kept.upToEventSequence), head, {
              previousHead: kept,
              checkpoints: sealed.slice(k + 1, m + 1)
            })
            expect(after).toMatchObject({ ok: false, problem: "previous-head" })
          }
        }
      ),
      { numRuns: 300 }
    )
  })

  it("names what is missing: the checkpoints between, or those sealing entries at or before the kept head", async () => {
    const entries = build(["a", "b", "a", "c", "b", "a"])
    const [first, second, third] = sealAt(entries, [2, 4, 6]) as [Checkpoint, Checkpoint, Checkpoint]
    expect(await verifyFeed(entries.slice(2), third, { previousHead: first })).toMatchObject({
      ok: false,
      problem: "checkpoints-missing"
    })
    expect(await verifyFeed(entries, third, { previousHead: second, checkpoints: [third] })).toMatchObject({
      ok: false,
      problem: "checkpoints-missing"
    })
    expect(await verifyFeed(entries, first, { previousHead: second })).toMatchObject({
      ok: false,
      problem: "previous-head"
    })
    expect(await verifyFeed(entries, third, { previousHead: first, checkpoints: [{ ...second, root: "0" }, third] }))
      .toMatchObject({ ok: false, problem: "checkpoint-chain" })
  })
})

describe("verifyFeed with a kept head, two examples", () => {
  const entries = build(["a", "b", "a", "c", "b", "a", "d"])
  const cuts = [2, 4, 6, 7]

  it("passes an honest server whose checkpointer sealed twice since the kept head", async () => {
    const [kept, , , head] = sealAt(entries, cuts) as [Checkpoint, Checkpoint, Checkpoint, Checkpoint]
    const between = sealAt(entries, cuts).slice(1)
    expect(await verifyFeed(entries.slice(2), head, { previousHead: kept, checkpoints: between })).toEqual({
      ok: true,
      checked: 5,
      sealed: 5
    })
  })

  it("fails a history rewritten before the kept head, every later hash recomputed", async () => {
    const kept = sealAt(entries, cuts)[2]!
    const served = rewrite(entries, 0, "links-and-checkpoints")
    const head = sealAt(served, cuts)[3]!
    // The new events (d@1) are untouched, and as many as the head says: only the kept head's hash tells.
    expect(await verifyFeed(served.slice(6), head, { previousHead: kept, checkpoints: [head] }))
      .toMatchObject({ ok: false, problem: "previous-head" })
  })
})
