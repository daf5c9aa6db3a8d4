// A checkpoint seals an organization's events since the previous one: their count, a Merkle root over the users'
// new heads, and a link to the previous checkpoint (docs/DECISIONS.md, "Audit chains and checkpoints").
import { sha256Hex } from "../sha256.js"
import { canonicalJson, GENESIS_HASH } from "./chain.js"

export interface AggregateHead {
  readonly aggregateId: string
  readonly version: number
  readonly hash: string
}

export interface Checkpoint {
  readonly organizationId: string
  readonly sequence: number
  /** Every event of the organization up to this number is sealed. */
  readonly upToEventSequence: number
  readonly eventCount: number
  readonly root: string
  readonly prevHash: string
  readonly hash: string
  readonly createdAt: string
  /** Sealed before migration 0007: the hash covers this store-wide number instead. */
  readonly legacyUpToEventSequence: number | null
}

// RFC 6962's domain separation, over hex strings.
export const leafHash = (head: AggregateHead): string =>
  sha256Hex("leaf:" + canonicalJson({ aggregateId: head.aggregateId, hash: head.hash, version: head.version }))

const nodeHash = (left: string, right: string) => sha256Hex("node:" + left + right)

export const EMPTY_ROOT = sha256Hex("empty:")

/** RFC 6962: split at the largest power of two below the count. */
export const merkleRoot = (leaves: ReadonlyArray<string>): string => {
  const root = (from: number, to: number): string => {
    const n = to - from
    if (n === 1) return leaves[from]!
    let split = 1
    while (split * 2 < n) split *= 2
    return nodeHash(root(from, from + split), root(from + split, to))
  }
  return leaves.length === 0 ? EMPTY_ROOT : root(0, leaves.length)
}

export const headsRoot = (heads: ReadonlyArray<AggregateHead>): string =>
  merkleRoot(
    [...heads].sort((a, b) => (a.aggregateId < b.aggregateId ? -1 : a.aggregateId > b.aggregateId ? 1 : 0)).map(
      leafHash
    )
  )

export const checkpointHash = (checkpoint: Omit<Checkpoint, "hash">): string =>
  sha256Hex(
    checkpoint.prevHash + canonicalJson({
      checkpoint: {
        createdAt: checkpoint.createdAt,
        eventCount: checkpoint.eventCount,
        organizationId: checkpoint.organizationId,
        root: checkpoint.root,
        sequence: checkpoint.sequence,
        upToEventSequence: checkpoint.legacyUpToEventSequence ?? checkpoint.upToEventSequence
      }
    })
  )

export interface CheckpointInput {
  readonly organizationId: string
  readonly upToEventSequence: number
  readonly eventCount: number
  readonly heads: ReadonlyArray<AggregateHead>
  readonly createdAt: string
}

export const nextCheckpoint = (previous: Checkpoint | undefined, input: CheckpointInput): Checkpoint => {
  const unsealed = {
    organizationId: input.organizationId,
    sequence: (previous?.sequence ?? 0) + 1,
    upToEventSequence: input.upToEventSequence,
    eventCount: input.eventCount,
    root: headsRoot(input.heads),
    prevHash: previous?.hash ?? GENESIS_HASH,
    createdAt: input.createdAt,
    legacyUpToEventSequence: null
  }
  return { ...unsealed, hash: checkpointHash(unsealed) }
}

export const headsOf = (
  events: Iterable<{ readonly aggregateId: string; readonly version: number; readonly hash: string }>
): Array<AggregateHead> => {
  const heads = new Map<string, AggregateHead>()
  for (const { aggregateId, hash, version } of events) {
    const known = heads.get(aggregateId)
    if (known === undefined || known.version < version) heads.set(aggregateId, { aggregateId, version, hash })
  }
  return [...heads.values()]
}
