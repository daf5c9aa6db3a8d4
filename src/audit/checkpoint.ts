/**
 * The tamper-evident audit trail, part 2: organization checkpoints. A checkpoint seals the events an organization
 * wrote since the previous one (by the store's global event sequence, which follows commit order): it records how
 * many there were and a Merkle root over the new head (version and hash) of every user they touched, and it is
 * chained to the previous checkpoint, like the hourly digest files of AWS CloudTrail. So a deleted, edited,
 * swapped or truncated event before the latest checkpoint changes a recomputed root, count or link
 * (verify.ts), and anyone who kept a checkpoint's hash (GET /organizations/{id}/audit/head) can detect a
 * rewritten history even if every later hash was recomputed. Pure: the store reads and writes the rows.
 */
import { sha256Hex } from "../sha256.js"
import { canonicalJson, GENESIS_HASH } from "./chain.js"

/** A user's chain head as of a checkpoint: its last event's version and hash. */
export interface AggregateHead {
  readonly aggregateId: string
  readonly version: number
  readonly hash: string
}

export interface Checkpoint {
  readonly organizationId: string
  /** 1, 2, 3… per organization. */
  readonly sequence: number
  /** The organization's last event number it seals; every event of the organization up to it is sealed. */
  readonly upToEventSequence: number
  /** How many events of the organization it seals (those after the previous checkpoint). */
  readonly eventCount: number
  /** Merkle root over the heads of the users those events touched (`merkleRoot` of `leafHash`). */
  readonly root: string
  readonly prevHash: string
  readonly hash: string
  readonly createdAt: string
  /**
   * Only on checkpoints sealed before migration 0007: the store-wide event number they were sealed at, which their
   * hash covers instead of `upToEventSequence`.
   */
  readonly legacyUpToEventSequence: number | null
}

// Leaves, inner nodes and the empty tree hash distinct texts (RFC 6962's domain separation, over hex strings).
export const leafHash = (head: AggregateHead): string =>
  sha256Hex("leaf:" + canonicalJson({ aggregateId: head.aggregateId, hash: head.hash, version: head.version }))

const nodeHash = (left: string, right: string) => sha256Hex("node:" + left + right)

export const EMPTY_ROOT = sha256Hex("empty:")

/** RFC 6962's Merkle tree hash over leaf hashes in order: split at the largest power of two below the count. */
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

/** Heads in one order everywhere: by user id, compared as code units. */
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
  /** The latest head of each user touched since the previous checkpoint. */
  readonly heads: ReadonlyArray<AggregateHead>
  readonly createdAt: string
}

/** The checkpoint after `previous` (undefined for an organization's first). */
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

/** The latest head of each user among `events` (any order). */
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
