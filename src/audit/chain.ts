/**
 * The tamper-evident audit trail, part 1: each user's events form a hash chain by version,
 * hash = SHA-256(prevHash ‖ canonical JSON of {event}), starting from GENESIS_HASH at version 1. Only writers of
 * the same user ever extend the same chain, and the version guard already serializes those, so an organization's
 * writes never contend for a shared head. Organization checkpoints (checkpoint.ts) seal the heads periodically.
 *
 * Events written before migration 0004 were linked into one chain per organization instead
 * (hash = SHA-256(prevHash ‖ canonical JSON of {chainSequence, event})); they keep their links and verify under
 * that rule (`legacyLinkHash`), and the first event of a user after them links to the user's last legacy event.
 */
import type { UserEvent } from "../domain/user.js"
import { sha256Hex } from "../sha256.js"
import { canonicalJson, GENESIS_HASH } from "./canonical-json.js"

export { canonicalJson, GENESIS_HASH }

/** Where an event sits in its user's chain: the hash it links to and its own. */
export interface EventLink {
  readonly prevHash: string
  readonly hash: string
}

export const linkHash = (prevHash: string, event: UserEvent): string => sha256Hex(prevHash + canonicalJson({ event }))

/** The link of the user's next event, given the hash of the user's last one (GENESIS_HASH for a new user). */
export const nextLink = (prevHash: string, event: UserEvent): EventLink => ({
  prevHash,
  hash: linkHash(prevHash, event)
})

/** The rule of the organization-wide chain that events written before migration 0004 were linked with. */
export const legacyLinkHash = (prevHash: string, chainSequence: number, event: UserEvent): string =>
  sha256Hex(prevHash + canonicalJson({ chainSequence, event }))
