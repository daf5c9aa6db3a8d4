/**
 * Every event of the organization in commit order, with its chain position, so that a consumer that was down catches
 * up and can check what it received against the audit head.
 */
import { Effect } from "effect"
import { CurrentPrincipal } from "../services/auth.js"
import { EventLog } from "../services/event-log.js"
import type { ChainedEvent } from "../services/webhooks.js"
import { authorizeAuditRead } from "./authorize.js"
import { OrganizationNotFound } from "./errors.js"

export interface FeedInput {
  readonly organizationId: string
  readonly afterSequence: number
  readonly limit: number
}

export interface FeedPage {
  readonly events: ReadonlyArray<ChainedEvent>
  readonly nextAfterSequence: number
  readonly hasMore: boolean
}

export const readFeed = (input: FeedInput) =>
  Effect.gen(function*() {
    const principal = yield* CurrentPrincipal
    yield* authorizeAuditRead(principal)
    if (input.organizationId !== principal.organizationId) return yield* new OrganizationNotFound()
    const rows = yield* (yield* EventLog).feed(input.organizationId, input.afterSequence, input.limit + 1)
    const events = rows.slice(0, input.limit)
    const page: FeedPage = {
      events,
      nextAfterSequence: events.length === 0 ? input.afterSequence : events[events.length - 1]!.sequence,
      hasMore: rows.length > input.limit
    }
    return page
  })
