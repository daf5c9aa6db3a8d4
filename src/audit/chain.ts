// hash = SHA-256(prevHash ‖ canonical JSON of {event}) per user, so writes never contend for a shared head
// (docs/DECISIONS.md, "Audit chains and checkpoints"). Events before migration 0004 keep one chain per organization.
import type { UserEvent } from "../domain/user.js"
import { sha256Hex } from "../sha256.js"
import { canonicalJson, GENESIS_HASH } from "./canonical-json.js"

export { canonicalJson, GENESIS_HASH }

export interface EventLink {
  readonly prevHash: string
  readonly hash: string
}

export const linkHash = (prevHash: string, event: UserEvent): string => sha256Hex(prevHash + canonicalJson({ event }))

export const nextLink = (prevHash: string, event: UserEvent): EventLink => ({
  prevHash,
  hash: linkHash(prevHash, event)
})

export const legacyLinkHash = (prevHash: string, chainSequence: number, event: UserEvent): string =>
  sha256Hex(prevHash + canonicalJson({ chainSequence, event }))
