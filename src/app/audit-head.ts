/**
 * The head of an organization's audit trail: its latest checkpoint, sealing every event written until now.
 */
import { Effect } from "effect"
import { GENESIS_HASH } from "../audit/chain.js"
import { type Checkpoint, EMPTY_ROOT } from "../audit/checkpoint.js"
import { CurrentPrincipal } from "../services/auth.js"
import { EventLog } from "../services/event-log.js"
import { authorizeAuditRead } from "./authorize.js"
import { OrganizationNotFound } from "./errors.js"

export type AuditHead = Omit<Checkpoint, "createdAt"> & { readonly createdAt: string | null }

/** Another organization's head is indistinguishable from an unknown organization's. */
export const readAuditHead = (organizationId: string) =>
  Effect.gen(function*() {
    const principal = yield* CurrentPrincipal
    yield* authorizeAuditRead(principal)
    if (organizationId !== principal.organizationId) return yield* new OrganizationNotFound()
    const latest: Checkpoint | undefined = yield* (yield* EventLog).checkpoint(organizationId)
    const head: AuditHead = {
      organizationId,
      sequence: latest?.sequence ?? 0,
      hash: latest?.hash ?? GENESIS_HASH,
      prevHash: latest?.prevHash ?? GENESIS_HASH,
      root: latest?.root ?? EMPTY_ROOT,
      upToEventSequence: latest?.upToEventSequence ?? 0,
      eventCount: latest?.eventCount ?? 0,
      createdAt: latest?.createdAt ?? null
    }
    return head
  })
