/**
 * A consumer's check of what it received from the organization's feed (GET /organizations/{id}/events) or its
 * webhooks, against the audit head it read (GET /organizations/{id}/audit/head): exported by the typed client
 * (src/client.ts) and written with Web Crypto only, so it runs wherever the client does. It recomputes what the
 * server computed (chain.ts for each link, checkpoint.ts for the seal; test/audit/feed.test.ts holds the two to
 * each other):
 *
 * - every event's `hash` is SHA-256(prevHash ‖ canonical JSON of {event}): the event is the one the chain holds;
 * - a user's consecutive versions link (`prevHash` of version v is the `hash` of v − 1), and no version received is
 *   missing between two others;
 * - the events the head seals, the last `eventCount` received up to its `upToEventSequence` (or, given the head kept
 *   before, exactly those after its `upToEventSequence`), are that many, end at that number, and give its Merkle
 *   `root` over the users' newest heads.
 *
 * So a feed replayed with an event changed, dropped, reordered or invented fails here, and a head kept elsewhere
 * makes a rewritten history fail too. Events written before migration 0004 link by another rule and are not
 * recomputed (their `hash` is taken as the feed gives it); every organization created since has none.
 */
import { canonicalJson, GENESIS_HASH } from "./canonical-json.js"

/** One entry of the feed (or a webhook's `chain` with its `data`): the chain position and the event as shown. */
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

/** The audit head's fields this check reads (the answer of GET …/audit/head has them all). */
export interface FeedHead {
  readonly sequence: number
  readonly upToEventSequence: number
  readonly eventCount: number
  readonly root: string
}

export type FeedProblem =
  | "out-of-order"
  | "hash"
  | "prev-hash"
  | "version-gap"
  | "checkpoint-missing-events"
  | "checkpoint-count"
  | "checkpoint-root"

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

// As checkpoint.ts: leaves, inner nodes and the empty tree hash distinct texts (RFC 6962), heads sorted by user id.
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

export interface FeedCheckOptions {
  /** The head kept from before: the check then knows exactly where the new head's events begin. */
  readonly previousHead?: Pick<FeedHead, "upToEventSequence">
  /**
   * Events with a legacy organization-chain link (written before migration 0004), by sequence: their hash is not
   * recomputed. Leave it out for organizations created since.
   */
  readonly legacy?: (entry: FeedEntry) => boolean
}

/**
 * Checks `entries` (the feed's events in the order received, from any starting point) against `head`. A head with
 * sequence 0 (no checkpoint yet) seals nothing; the links are still checked.
 */
export const verifyFeed = async (
  entries: ReadonlyArray<FeedEntry>,
  head: FeedHead,
  options: FeedCheckOptions = {}
): Promise<FeedCheck> => {
  const fail = (problem: FeedProblem, sequence?: number): FeedCheck =>
    sequence === undefined ? { ok: false, problem } : { ok: false, problem, sequence }
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
  if (head.sequence === 0) return { ok: true, checked: entries.length, sealed: 0 }
  const upTo = entries.filter((entry) => entry.sequence <= head.upToEventSequence)
  if (upTo.length === 0 || upTo[upTo.length - 1]!.sequence !== head.upToEventSequence) {
    return fail("checkpoint-missing-events")
  }
  const sealed = options.previousHead === undefined
    ? upTo.slice(Math.max(0, upTo.length - head.eventCount))
    : upTo.filter((entry) => entry.sequence > options.previousHead!.upToEventSequence)
  if (sealed.length !== head.eventCount) return fail("checkpoint-count")
  if ((await headsRoot(sealed)) !== head.root) return fail("checkpoint-root")
  return { ok: true, checked: entries.length, sealed: sealed.length }
}
