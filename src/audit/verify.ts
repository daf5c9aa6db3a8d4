// `npm run audit:verify`: reports the first break and, per organization, up to which checkpoint the history is
// sealed; later events are protected by their users' links only.
import type { UserEvent } from "../domain/user.js"
import { GENESIS_HASH, legacyLinkHash, linkHash } from "./chain.js"
import { type Checkpoint, checkpointHash, headsOf, headsRoot } from "./checkpoint.js"

export interface StoredEvent {
  readonly sequence: number
  readonly organizationSequence: number
  readonly organizationId: string
  /** Only on events linked into the pre-0004 organization chain. */
  readonly chainSequence: number | null
  readonly prevHash: string
  readonly hash: string
  readonly event: UserEvent
  readonly redacted?: boolean
}

export interface StoredUserVersion {
  readonly organizationId: string
  readonly userId: string
  readonly version: number
}

export type Break =
  | {
    readonly reason: "version-gap"
    readonly organizationId: string
    readonly aggregateId: string
    readonly version: number
  }
  | {
    readonly reason: "prev-hash" | "hash"
    readonly organizationId: string
    readonly aggregateId: string
    readonly version: number
    readonly eventId: string
  }
  | {
    readonly reason: "legacy-missing" | "legacy-prev-hash" | "legacy-hash"
    readonly organizationId: string
    readonly chainSequence: number
  }
  | {
    readonly reason:
      | "checkpoint-missing"
      | "checkpoint-prev-hash"
      | "checkpoint-hash"
      | "checkpoint-order"
      | "checkpoint-count"
      | "checkpoint-root"
    readonly organizationId: string
    readonly checkpoint: number
  }
  | {
    readonly reason: "organization-sequence"
    readonly organizationId: string
    readonly organizationSequence: number
  }
  | {
    readonly reason: "row-version"
    readonly organizationId: string
    readonly aggregateId: string
    readonly version: number
  }

export interface OrganizationAudit {
  readonly events: number
  readonly users: number
  readonly checkpoint: Pick<Checkpoint, "sequence" | "hash" | "upToEventSequence"> | undefined
  readonly unsealedEvents: number
  readonly redactedEvents: number
}

export interface AuditReport {
  readonly checked: number
  readonly organizations: Readonly<Record<string, OrganizationAudit>>
  readonly broken: Break | undefined
}

const groupBy = <A>(items: Iterable<A>, key: (a: A) => string) => {
  const groups = new Map<string, Array<A>>()
  for (const item of items) {
    const k = key(item)
    const group = groups.get(k)
    if (group === undefined) groups.set(k, [item])
    else group.push(item)
  }
  return groups
}

const verifyLegacyChain = (organizationId: string, events: ReadonlyArray<StoredEvent>): Break | undefined => {
  const legacy = events.filter((e) => e.chainSequence !== null).sort((a, b) => a.chainSequence! - b.chainSequence!)
  let prev = GENESIS_HASH
  for (let i = 0; i < legacy.length; i++) {
    const link = legacy[i]!
    const chainSequence = i + 1
    if (link.chainSequence !== chainSequence) return { reason: "legacy-missing", organizationId, chainSequence }
    if (link.prevHash !== prev) return { reason: "legacy-prev-hash", organizationId, chainSequence }
    if (link.redacted !== true && legacyLinkHash(link.prevHash, chainSequence, link.event) !== link.hash) {
      return { reason: "legacy-hash", organizationId, chainSequence }
    }
    prev = link.hash
  }
  return undefined
}

const verifyUserChain = (organizationId: string, events: Array<StoredEvent>): Break | undefined => {
  events.sort((a, b) => a.event.version - b.event.version)
  let prev = GENESIS_HASH
  for (let i = 0; i < events.length; i++) {
    const stored = events[i]!
    const { aggregateId, id: eventId, version } = stored.event
    if (version !== i + 1) return { reason: "version-gap", organizationId, aggregateId, version: i + 1 }
    if (stored.chainSequence === null) {
      if (stored.prevHash !== prev) return { reason: "prev-hash", organizationId, aggregateId, version, eventId }
      if (stored.redacted !== true && linkHash(stored.prevHash, stored.event) !== stored.hash) {
        return { reason: "hash", organizationId, aggregateId, version, eventId }
      }
    }
    prev = stored.hash
  }
  return undefined
}

const verifyOrganizationSequence = (
  organizationId: string,
  bySequence: ReadonlyArray<StoredEvent>
): Break | undefined => {
  const at = bySequence.findIndex((e, i) => e.organizationSequence !== i + 1)
  return at === -1 ? undefined : { reason: "organization-sequence", organizationId, organizationSequence: at + 1 }
}

const verifyCheckpoints = (
  organizationId: string,
  bySequence: ReadonlyArray<StoredEvent>,
  checkpoints: ReadonlyArray<Checkpoint>
): Break | undefined => {
  let prevHash = GENESIS_HASH
  let from = 0
  let upTo = 0
  for (let i = 0; i < checkpoints.length; i++) {
    const checkpoint = checkpoints[i]!
    const at = { organizationId, checkpoint: i + 1 }
    if (checkpoint.sequence !== i + 1) return { reason: "checkpoint-missing", ...at }
    if (checkpoint.prevHash !== prevHash) return { reason: "checkpoint-prev-hash", ...at }
    if (checkpointHash(checkpoint) !== checkpoint.hash) return { reason: "checkpoint-hash", ...at }
    if (checkpoint.upToEventSequence < upTo) return { reason: "checkpoint-order", ...at }
    let to = from
    while (to < bySequence.length && bySequence[to]!.organizationSequence <= checkpoint.upToEventSequence) to++
    const sealed = bySequence.slice(from, to)
    if (sealed.length !== checkpoint.eventCount) return { reason: "checkpoint-count", ...at }
    // Sealed before migration 0007: its hash covers the store-wide number.
    const legacy = checkpoint.legacyUpToEventSequence
    if (legacy !== null && bySequence.filter((e) => e.sequence <= legacy).length !== to) {
      return { reason: "checkpoint-count", ...at }
    }
    const heads = headsOf(
      sealed.map((e) => ({ aggregateId: e.event.aggregateId, version: e.event.version, hash: e.hash }))
    )
    if (headsRoot(heads) !== checkpoint.root) return { reason: "checkpoint-root", ...at }
    prevHash = checkpoint.hash
    upTo = checkpoint.upToEventSequence
    from = to
  }
  return undefined
}

export interface AuditInput {
  readonly events: Iterable<StoredEvent>
  readonly checkpoints: Iterable<Checkpoint>
  readonly users: Iterable<StoredUserVersion>
}

export const verifyAudit = (input: AuditInput): AuditReport => {
  const events = groupBy(input.events, (e) => e.organizationId)
  const checkpoints = groupBy(input.checkpoints, (c) => c.organizationId)
  const users = groupBy(input.users, (u) => u.organizationId)
  const organizations: Record<string, OrganizationAudit> = {}
  let checked = 0
  const ids = [...new Set([...events.keys(), ...checkpoints.keys(), ...users.keys()])].sort()
  for (const organizationId of ids) {
    const own = events.get(organizationId) ?? []
    const bySequence = [...own].sort((a, b) => a.sequence - b.sequence)
    const byUser = groupBy(own, (e) => e.event.aggregateId)
    const sealing = (checkpoints.get(organizationId) ?? []).sort((a, b) => a.sequence - b.sequence)
    const broken = verifyLegacyChain(organizationId, own) ??
      [...byUser.keys()].sort().reduce<Break | undefined>(
        (found, userId) => found ?? verifyUserChain(organizationId, byUser.get(userId)!),
        undefined
      ) ??
      verifyCheckpoints(organizationId, bySequence, sealing) ??
      verifyOrganizationSequence(organizationId, bySequence) ??
      (users.get(organizationId) ?? []).map((row): Break | undefined => {
        const last = byUser.get(row.userId)?.at(-1)?.event.version ?? 0
        return last === row.version
          ? undefined
          : { reason: "row-version", organizationId, aggregateId: row.userId, version: row.version }
      }).find((b) => b !== undefined)
    if (broken !== undefined) return { checked, organizations, broken }
    const latest = sealing.at(-1)
    organizations[organizationId] = {
      events: own.length,
      users: byUser.size,
      checkpoint: latest === undefined
        ? undefined
        : { sequence: latest.sequence, hash: latest.hash, upToEventSequence: latest.upToEventSequence },
      unsealedEvents: own.filter((e) => e.organizationSequence > (latest?.upToEventSequence ?? 0)).length,
      redactedEvents: own.filter((e) => e.redacted === true).length
    }
    checked += own.length
  }
  return { checked, organizations, broken: undefined }
}
