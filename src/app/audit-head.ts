import { Effect } from "effect"
import { GENESIS_HASH } from "../audit/chain.js"
import { type Checkpoint, EMPTY_ROOT } from "../audit/checkpoint.js"
import { CurrentPrincipal } from "../services/auth.js"
import { EventLog } from "../services/event-log.js"
import { authorizeAuditRead } from "./authorize.js"
import { OrganizationNotFound } from "./errors.js"

export type AuditHead = Omit<Checkpoint, "createdAt"> & { readonly createdAt: string | null }

const ownAuditTrail = (organizationId: string) =>
  Effect.gen(function*() {
    const principal = yield* CurrentPrincipal
    yield* authorizeAuditRead(principal)
    if (organizationId !== principal.organizationId) return yield* new OrganizationNotFound()
  })

export const readAuditHead = (organizationId: string) =>
  Effect.gen(function*() {
    yield* ownAuditTrail(organizationId)
    const latest: Checkpoint | undefined = yield* (yield* EventLog).checkpoint(organizationId)
    const head: AuditHead = {
      organizationId,
      sequence: latest?.sequence ?? 0,
      hash: latest?.hash ?? GENESIS_HASH,
      prevHash: latest?.prevHash ?? GENESIS_HASH,
      root: latest?.root ?? EMPTY_ROOT,
      upToEventSequence: latest?.upToEventSequence ?? 0,
      eventCount: latest?.eventCount ?? 0,
      createdAt: latest?.createdAt ?? null,
      legacyUpToEventSequence: latest?.legacyUpToEventSequence ?? null
    }
    return head
  })

export interface CheckpointPage {
  readonly checkpoints: ReadonlyArray<Checkpoint>
  readonly nextAfterSequence: number | null
}

export const readAuditCheckpoints = (organizationId: string, afterSequence: number, limit: number) =>
  Effect.gen(function*() {
    yield* ownAuditTrail(organizationId)
    const rows = yield* (yield* EventLog).checkpoints(organizationId, afterSequence, limit + 1)
    const checkpoints = rows.slice(0, limit)
    const page: CheckpointPage = {
      checkpoints,
      nextAfterSequence: rows.length > limit ? checkpoints[checkpoints.length - 1]!.sequence : null
    }
    return page
  })
