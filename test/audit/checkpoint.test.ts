/**
 * Checkpoints and the verifier over plain values: a Merkle root that depends on every head and their order-free set,
 * checkpoints chained to each other, and every kind of tampering reported as the break it is.
 */
import { describe, expect, it } from "vitest"
import { GENESIS_HASH, nextLink } from "../../src/audit/chain.js"
import {
  type Checkpoint,
  EMPTY_ROOT,
  headsOf,
  headsRoot,
  leafHash,
  merkleRoot,
  nextCheckpoint
} from "../../src/audit/checkpoint.js"
import { type StoredEvent, verifyAudit } from "../../src/audit/verify.js"
import type { UserEvent } from "../../src/domain/user.js"
import { sha256Hex } from "../../src/sha256.js"

const ORG = "org_a"

const eventOf = (aggregateId: string, version: number): UserEvent =>
  ({
    id: `${aggregateId}-${version}`,
    type: version === 1 ? "UserCreated" : "UserPhoneNumberUpdated",
    aggregateType: "User",
    aggregateId,
    version,
    occurredAt: "2026-12-02T00:00:00.000Z",
    data: { maskedPhoneNumber: null },
    metadata: { organizationId: ORG, actor: { type: "service", id: "s" }, requestId: "r" }
  }) as unknown as UserEvent

/** A store's worth of events: `writes` lists user ids in commit order; each write is that user's next version. */
const history = (writes: ReadonlyArray<string>) => {
  const heads = new Map<string, { version: number; hash: string }>()
  return writes.map((userId, i): StoredEvent => {
    const head = heads.get(userId) ?? { version: 0, hash: GENESIS_HASH }
    const event = eventOf(userId, head.version + 1)
    const link = nextLink(head.hash, event)
    heads.set(userId, { version: event.version, hash: link.hash })
    return { sequence: i + 1, organizationSequence: i + 1, organizationId: ORG, chainSequence: null, ...link, event }
  })
}

const seal = (events: ReadonlyArray<StoredEvent>, cuts: ReadonlyArray<number>) => {
  const checkpoints: Array<Checkpoint> = []
  let from = 0
  for (const cut of cuts) {
    const sealed = events.slice(from, cut)
    checkpoints.push(
      nextCheckpoint(checkpoints.at(-1), {
        organizationId: ORG,
        upToEventSequence: cut,
        eventCount: sealed.length,
        heads: headsOf(
          sealed.map((e) => ({ aggregateId: e.event.aggregateId, version: e.event.version, hash: e.hash }))
        ),
        createdAt: "2026-12-02T00:01:00.000Z"
      })
    )
    from = cut
  }
  return checkpoints
}

const usersOf = (events: ReadonlyArray<StoredEvent>) =>
  headsOf(events.map((e) => ({ aggregateId: e.event.aggregateId, version: e.event.version, hash: e.hash }))).map((
    h
  ) => ({
    organizationId: ORG,
    userId: h.aggregateId,
    version: h.version
  }))

describe("the Merkle root", () => {
  it("is RFC 6962's split: two leaves hash as one node, three as a node of a pair and the third", () => {
    const [a, b, c] = ["a", "b", "c"].map((x) => sha256Hex(x))
    const node = (l: string, r: string) => sha256Hex("node:" + l + r)
    expect(merkleRoot([])).toBe(EMPTY_ROOT)
    expect(merkleRoot([a!])).toBe(a)
    expect(merkleRoot([a!, b!])).toBe(node(a!, b!))
    expect(merkleRoot([a!, b!, c!])).toBe(node(node(a!, b!), c!))
  })

  it("depends on the set of heads, not the order they were read in, and on each head's version and hash", () => {
    const heads = [
      { aggregateId: "u2", version: 3, hash: "b".repeat(64) },
      { aggregateId: "u1", version: 1, hash: "a".repeat(64) }
    ]
    expect(headsRoot(heads)).toBe(headsRoot([...heads].reverse()))
    expect(headsRoot(heads)).toBe(merkleRoot([leafHash(heads[1]!), leafHash(heads[0]!)]))
    expect(headsRoot([{ ...heads[0]!, version: 4 }, heads[1]!])).not.toBe(headsRoot(heads))
    expect(headsRoot([heads[0]!])).not.toBe(headsRoot(heads))
  })

  it("keeps a user's latest head among the events sealed", () => {
    expect(headsOf(history(["u1", "u2", "u1"]).map((e) => ({ ...e.event, hash: e.hash })))).toEqual([
      { aggregateId: "u1", version: 2, hash: expect.any(String) },
      { aggregateId: "u2", version: 1, hash: expect.any(String) }
    ])
  })
})

describe("verifyAudit", () => {
  const events = history(["u1", "u2", "u1", "u3", "u2", "u1", "u4", "u2"])
  const checkpoints = seal(events, [3, 6])
  const verify = (e = events, c = checkpoints, u = usersOf(events)) =>
    verifyAudit({ events: e, checkpoints: c, users: u })

  it("accepts an untouched history and says up to which checkpoint it is sealed", () => {
    const report = verify()
    expect(report.broken).toBeUndefined()
    expect(report.checked).toBe(8)
    expect(report.organizations[ORG]).toEqual({
      events: 8,
      users: 4,
      checkpoint: { sequence: 2, hash: checkpoints[1]!.hash, upToEventSequence: 6 },
      unsealedEvents: 2,
      redactedEvents: 0
    })
  })

  it("reports an edited event at its own hash", () => {
    const edited = events.map((e, i) => (i === 2 ? { ...e, event: { ...e.event, occurredAt: "2027-01-01" } } : e))
    expect(verify(edited).broken).toMatchObject({ reason: "hash", aggregateId: "u1", version: 2 })
  })

  it("checks an event redacted by erasure by its links and seal, not its content", () => {
    // The event at sequence 3 lost fields after it was hashed (erasure of fingerprints written before 0008).
    const redacted = events.map((e, i) =>
      i === 2
        ? { ...e, event: { ...e.event, data: { maskedPhoneNumber: "****0000" } } as UserEvent, redacted: true }
        : e
    )
    const report = verify(redacted)
    expect(report.broken).toBeUndefined()
    expect(report.organizations[ORG]).toMatchObject({ redactedEvents: 1 })
    expect(verify(redacted.filter((_, i) => i !== 2)).broken).toMatchObject({ reason: "version-gap", version: 2 })
    const relinked = redacted.map((e, i) => (i === 2 ? { ...e, hash: "f".repeat(64) } : e))
    expect(verify(relinked).broken).toMatchObject({ reason: "prev-hash", aggregateId: "u1", version: 3 })
  })

  it("reports a deleted event in the middle of a user's chain as a gap", () => {
    expect(verify(events.filter((_, i) => i !== 2)).broken).toMatchObject({ reason: "version-gap", version: 2 })
  })

  it("reports a user's newest sealed event deleted and its row rolled back, at the checkpoint that sealed it", () => {
    // u1's v3 (sequence 6) was sealed by checkpoint 2; without it and with u1's row at version 2, links still hold.
    const truncated = events.filter((e) => e.sequence !== 6)
    expect(verify(truncated, checkpoints, usersOf(truncated)).broken).toMatchObject({
      reason: "checkpoint-count",
      checkpoint: 2
    })
  })

  it("reports an unsealed event deleted whose row was not rolled back, at the row", () => {
    const truncated = events.filter((e) => e.sequence !== 8)
    expect(verify(truncated).broken).toMatchObject({ reason: "row-version", aggregateId: "u2", version: 3 })
  })

  it("reports an event rewritten with a recomputed link at the first checkpoint that sealed it", () => {
    // u3 has one event (sequence 4): forging it with a fresh link breaks no link, only checkpoint 2's root.
    const event = { ...eventOf("u3", 1), occurredAt: "forged" } as UserEvent
    const forged = events.map((e) => (e.sequence === 4 ? { ...e, event, ...nextLink(GENESIS_HASH, event) } : e))
    expect(verify(forged).broken).toMatchObject({ reason: "checkpoint-root", checkpoint: 2 })
  })

  it("reports a swapped pair of a user's events", () => {
    const swapped = events.map((e) =>
      e.sequence === 1 ? { ...e, event: events[2]!.event } : e.sequence === 3 ? { ...e, event: events[0]!.event } : e
    )
    expect(verify(swapped).broken?.reason).toMatch(/prev-hash|hash|version-gap/)
  })

  it("reports a removed, an edited and a re-linked checkpoint", () => {
    expect(verify(events, [checkpoints[1]!]).broken).toMatchObject({ reason: "checkpoint-missing", checkpoint: 1 })
    expect(verify(events, [checkpoints[0]!, { ...checkpoints[1]!, eventCount: 2 }]).broken).toMatchObject({
      reason: "checkpoint-hash"
    })
    expect(verify(events, [checkpoints[0]!, { ...checkpoints[1]!, prevHash: GENESIS_HASH }]).broken).toMatchObject({
      reason: "checkpoint-prev-hash"
    })
  })

  it("verifies events of the organization-wide chain (before migration 0004) and the user links that follow them", async () => {
    const { legacyLinkHash } = await import("../../src/audit/chain.js")
    let prev = GENESIS_HASH
    const legacy = ["u1", "u2"].map((userId, i): StoredEvent => {
      const event = eventOf(userId, 1)
      const hash = legacyLinkHash(prev, i + 1, event)
      const stored = {
        sequence: i + 1,
        organizationSequence: i + 1,
        organizationId: ORG,
        chainSequence: i + 1,
        prevHash: prev,
        hash,
        event
      }
      prev = hash
      return stored
    })
    const next = eventOf("u1", 2)
    const after: StoredEvent = {
      sequence: 3,
      organizationSequence: 3,
      organizationId: ORG,
      chainSequence: null,
      ...nextLink(legacy[0]!.hash, next),
      event: next
    }
    const all = [...legacy, after]
    expect(verify(all, seal(all, [3]), usersOf(all)).broken).toBeUndefined()
    const broken = [legacy[0]!, { ...legacy[1]!, prevHash: "f".repeat(64) }, after]
    expect(verify(broken, [], usersOf(all)).broken).toMatchObject({ reason: "legacy-prev-hash", chainSequence: 2 })
  })
})
