// A consumer's check of the feed or its webhooks against an audit head, in Web Crypto only so it runs wherever the
// typed client does. It recomputes what chain.ts and checkpoint.ts computed (test/audit/feed.test.ts holds them
// together); events before migration 0004 are linked, not recomputed.
import { canonicalJson, GENESIS_HASH } from "./canonical-json.js"

export interface FeedEntry {
  readonly sequence: number
  readonly prevHash: string
  readonly hash: string
  readonly event: {
    readonly aggregateId: string
    readonly version: number
    readonly [field: string]: unknown
  }
  /** Erasure removed fingerprints it had when hashed: linked, not recomputed. */
  readonly redacted?: boolean
}

/** Sequence 0: none yet. */
export interface FeedHead {
  readonly organizationId: string
  readonly sequence: number
  readonly hash: string
  readonly prevHash: string
  readonly root: string
  readonly upToEventSequence: number
  readonly eventCount: number
  readonly createdAt: string | null
  readonly legacyUpToEventSequence: number | null
}

export type FeedProblem =
  | "out-of-order"
  | "hash"
  | "prev-hash"
  | "version-gap"
  | "checkpoint-missing-events"
  | "checkpoint-count"
  | "checkpoint-root"
  | "checkpoint-chain"
  | "previous-head"
  | "checkpoints-missing"

export type FeedCheck =
  | { readonly ok: true; readonly checked: number; readonly sealed: number }
  | { readonly ok: false; readonly problem: FeedProblem; readonly sequence?: number }

const encoder = new TextEncoder()

const sha256Hex = async (text: string): Promise<string> => {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)))
  let hex = ""
  for (const byte of digest) hex += byte.toString(16).padStart(2, "0")
  return hex
}

// As checkpoint.ts.
const merkleRoot = async (leaves: ReadonlyArray<string>): Promise<string> => {
  const root = async (from: number, to: number): Promise<string> => {
    const n = to - from
    if (n === 1) return leaves[from]!
    let split = 1
    while (split * 2 < n) split *= 2
    return sha256Hex("node:" + (await root(from, from + split)) + (await root(from + split, to)))
  }
  return leaves.length === 0 ? sha256Hex("empty:") : root(0, leaves.length)
}

const headsRoot = async (entries: ReadonlyArray<FeedEntry>): Promise<string> => {
  const heads = new Map<string, FeedEntry>()
  for (const entry of entries) {
    const known = heads.get(entry.event.aggregateId)
    if (known === undefined || known.event.version < entry.event.version) heads.set(entry.event.aggregateId, entry)
  }
  const sorted = [...heads.values()].sort((a, b) =>
    a.event.aggregateId < b.event.aggregateId ? -1 : a.event.aggregateId > b.event.aggregateId ? 1 : 0
  )
  const leaves = await Promise.all(
    sorted.map((head) =>
      sha256Hex(
        "leaf:" + canonicalJson({ aggregateId: head.event.aggregateId, hash: head.hash, version: head.event.version })
      )
    )
  )
  return merkleRoot(leaves)
}

const checkpointHash = (c: FeedHead): Promise<string> =>
  sha256Hex(
    c.prevHash + canonicalJson({
      checkpoint: {
        createdAt: c.createdAt,
        eventCount: c.eventCount,
        organizationId: c.organizationId,
        root: c.root,
        sequence: c.sequence,
        upToEventSequence: c.legacyUpToEventSequence ?? c.upToEventSequence
      }
    })
  )

export interface FeedCheckOptions {
  readonly previousHead?: FeedHead
  /** From the kept head (or earlier) up to `head`. */
  readonly checkpoints?: ReadonlyArray<FeedHead>
  /** Sequences of legacy (pre-0004) events: linked, not recomputed. */
  readonly legacy?: (entry: FeedEntry) => boolean
}

type Fail = (problem: FeedProblem, sequence?: number) => FeedCheck

const fail: Fail = (problem, sequence) =>
  sequence === undefined ? { ok: false, problem } : { ok: false, problem, sequence }

const checkLinks = async (entries: ReadonlyArray<FeedEntry>, options: FeedCheckOptions) => {
  const byUser = new Map<string, FeedEntry>()
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!
    if (i > 0 && entry.sequence <= entries[i - 1]!.sequence) return fail("out-of-order", entry.sequence)
    const { event } = entry
    if (
      options.legacy?.(entry) !== true && entry.redacted !== true &&
      (await sha256Hex(entry.prevHash + canonicalJson({ event }))) !== entry.hash
    ) {
      return fail("hash", entry.sequence)
    }
    const before = byUser.get(event.aggregateId)
    if (before !== undefined) {
      if (event.version !== before.event.version + 1) return fail("version-gap", entry.sequence)
      if (entry.prevHash !== before.hash) return fail("prev-hash", entry.sequence)
    } else if (event.version === 1 && entry.prevHash !== GENESIS_HASH) {
      return fail("prev-hash", entry.sequence)
    }
    byUser.set(event.aggregateId, entry)
  }
  return undefined
}

const knownChain = async (head: FeedHead, options: FeedCheckOptions): Promise<Array<FeedHead> | FeedCheck> => {
  const chain = (options.checkpoints ?? []).filter((c) => c.sequence <= head.sequence)
  if (chain.at(-1)?.sequence !== head.sequence) chain.push(head)
  else if (chain.at(-1)!.hash !== head.hash) return fail("checkpoint-chain")
  const kept = options.previousHead
  if (kept !== undefined && kept.sequence < chain[0]!.sequence) chain.unshift(kept)
  for (let i = 0; i < chain.length; i++) {
    const c = chain[i]!
    if (c.sequence === 0) {
      if (c.hash !== GENESIS_HASH || c.upToEventSequence !== 0) return fail("previous-head")
      continue
    }
    if ((await checkpointHash(c)) !== c.hash) return fail("checkpoint-chain")
    const before = chain[i - 1]
    if (before === undefined) continue
    const linked = c.sequence === before.sequence + 1 && c.prevHash === before.hash &&
      c.upToEventSequence - c.eventCount === before.upToEventSequence
    // Between the kept head and the rest, a missing checkpoint is the caller's to fetch; otherwise it is a break.
    if (!linked && before === kept && c.sequence > kept.sequence + 1) return fail("checkpoints-missing")
    if (!linked) return fail(before === kept ? "previous-head" : "checkpoint-chain")
  }
  if (kept !== undefined && kept.sequence > 0) {
    const found = chain.find((c) => c.sequence === kept.sequence)
    if (found === undefined || found.hash !== kept.hash || found.upToEventSequence !== kept.upToEventSequence) {
      return fail("previous-head")
    }
  }
  return chain.filter((c) => c.sequence > 0)
}

/** With `previousHead`, every entry at or before it must be sealed by a given checkpoint. */
export const verifyFeed = async (
  entries: ReadonlyArray<FeedEntry>,
  head: FeedHead,
  options: FeedCheckOptions = {}
): Promise<FeedCheck> => {
  const broken = await checkLinks(entries, options)
  if (broken !== undefined) return broken
  if (options.previousHead !== undefined && options.previousHead.sequence > head.sequence) return fail("previous-head")
  const chain = await knownChain(head, options)
  if (!Array.isArray(chain)) return chain
  const keptUpTo = options.previousHead?.upToEventSequence ?? 0
  const first = entries[0]?.sequence ?? Infinity
  let sealed = 0
  for (const c of chain) {
    const start = c.upToEventSequence - c.eventCount
    const inside = entries.filter((e) => e.sequence > start && e.sequence <= c.upToEventSequence)
    const isHead = c === chain.at(-1)
    if (c.eventCount === 0 || c.upToEventSequence < first && (!isHead || c.upToEventSequence <= keptUpTo)) continue
    if (first > start + 1 && !isHead && c.upToEventSequence > keptUpTo) {
      if (inside.length !== c.upToEventSequence - first + 1) return fail("checkpoint-count")
      continue
    }
    if (inside.at(-1)?.sequence !== c.upToEventSequence) return fail("checkpoint-missing-events")
    if (inside.length !== c.eventCount) return fail("checkpoint-count")
    if ((await headsRoot(inside)) !== c.root) return fail("checkpoint-root")
    sealed += inside.length
  }
  const known = chain[0] === undefined ? 0 : chain[0].upToEventSequence - chain[0].eventCount
  if (options.previousHead !== undefined && first <= Math.min(keptUpTo, known)) return fail("checkpoints-missing")
  return { ok: true, checked: entries.length, sealed }
}
