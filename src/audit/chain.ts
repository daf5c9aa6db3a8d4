/**
 * The tamper-evident audit chain: each organization's events are linked by
 * hash = SHA-256(prevHash ‖ canonical JSON of {chainSequence, event}), starting from GENESIS_HASH.
 * Editing, deleting or reordering a stored event breaks a link that `verifyChain` reports.
 * The same SHA-256 in every runtime: node:crypto where it exists (Bun, Deno, Node), Web Crypto on Workers.
 */
import { Effect } from "effect"
import type { UserEvent } from "../domain/user.js"
import { sha256Hex, sha256HexEffect } from "../sha256.js"

export const GENESIS_HASH = "0".repeat(64)

export interface ChainHead {
  /** How many events the organization's chain holds (0 for none). */
  readonly sequence: number
  readonly hash: string
}

export const emptyHead: ChainHead = { sequence: 0, hash: GENESIS_HASH }

export interface ChainLink {
  readonly chainSequence: number
  readonly prevHash: string
  readonly hash: string
}

/** JSON with object keys sorted at every level and no whitespace: one text per value. */
export const canonicalJson = (value: unknown): string => {
  if (value === null || typeof value !== "object") return JSON.stringify(value)
  if (Array.isArray(value)) {
    let text = "["
    // An undefined item adds nothing, as Array.prototype.join leaves it (the texts already hashed keep verifying).
    for (let i = 0; i < value.length; i++) text += (i === 0 ? "" : ",") + (canonicalJson(value[i]) ?? "")
    return text + "]"
  }
  // One string built in a loop: this runs on every write, while the write holds the store.
  const record = value as Record<string, unknown>
  const keys = Object.keys(record).sort()
  let text = "{"
  let first = true
  for (const key of keys) {
    const field = record[key]
    if (field === undefined) continue
    text += (first ? "" : ",") + JSON.stringify(key) + ":" + canonicalJson(field)
    first = false
  }
  return text + "}"
}

const linkText = (prevHash: string, chainSequence: number, event: UserEvent) =>
  prevHash + canonicalJson({ chainSequence, event })

export const eventHash = (prevHash: string, chainSequence: number, event: UserEvent): Promise<string> =>
  sha256Hex(linkText(prevHash, chainSequence, event))

export const nextLink = async (head: ChainHead, event: UserEvent): Promise<ChainLink> => {
  const chainSequence = head.sequence + 1
  return { chainSequence, prevHash: head.hash, hash: await eventHash(head.hash, chainSequence, event) }
}

/** nextLink as an Effect: computed at once where node:crypto exists, through Web Crypto elsewhere (Workers). */
export const nextLinkEffect = (head: ChainHead, event: UserEvent): Effect.Effect<ChainLink> => {
  const chainSequence = head.sequence + 1
  return Effect.map(sha256HexEffect(linkText(head.hash, chainSequence, event)), (hash) => ({
    chainSequence,
    prevHash: head.hash,
    hash
  }))
}

export interface StoredLink extends ChainLink {
  readonly organizationId: string
  readonly event: UserEvent
}

export type Break =
  | { readonly reason: "missing"; readonly organizationId: string; readonly chainSequence: number }
  | {
    readonly reason: "prev-hash"
    readonly organizationId: string
    readonly chainSequence: number
    readonly eventId: string
  }
  | {
    readonly reason: "hash"
    readonly organizationId: string
    readonly chainSequence: number
    readonly eventId: string
  }

export interface Verification {
  readonly checked: number
  readonly heads: Readonly<Record<string, ChainHead>>
  /** The first broken link, in (organization, chain sequence) order; undefined when every link holds. */
  readonly broken: Break | undefined
}

/** Walks each organization's chain in sequence order and recomputes every hash. */
export const verifyChain = async (links: Iterable<StoredLink>): Promise<Verification> => {
  const byOrganization = new Map<string, Array<StoredLink>>()
  for (const link of links) {
    const list = byOrganization.get(link.organizationId) ?? []
    list.push(link)
    byOrganization.set(link.organizationId, list)
  }
  const heads: Record<string, ChainHead> = {}
  let checked = 0
  for (const organizationId of [...byOrganization.keys()].sort()) {
    const chain = byOrganization.get(organizationId)!.sort((a, b) => a.chainSequence - b.chainSequence)
    let head = emptyHead
    for (const link of chain) {
      const expected = head.sequence + 1
      if (link.chainSequence !== expected) {
        return { checked, heads, broken: { reason: "missing", organizationId, chainSequence: expected } }
      }
      if (link.prevHash !== head.hash) {
        return {
          checked,
          heads,
          broken: { reason: "prev-hash", organizationId, chainSequence: expected, eventId: link.event.id }
        }
      }
      if ((await eventHash(link.prevHash, link.chainSequence, link.event)) !== link.hash) {
        return {
          checked,
          heads,
          broken: { reason: "hash", organizationId, chainSequence: expected, eventId: link.event.id }
        }
      }
      head = { sequence: link.chainSequence, hash: link.hash }
      checked++
    }
    heads[organizationId] = head
  }
  return { checked, heads, broken: undefined }
}
