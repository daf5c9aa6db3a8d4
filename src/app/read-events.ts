import { Effect } from "effect"
import { UserNotFound } from "../domain/errors.js"
import type { UserEvent } from "../domain/user.js"
import { CurrentPrincipal } from "../services/auth.js"
import { EventLog } from "../services/event-log.js"
import { UserRepo } from "../services/user-repo.js"
import { authorizeRead } from "./authorize.js"

export interface ReadEventsInput {
  readonly userId: string
  readonly afterVersion: number
  readonly limit: number
}

export interface EventPage {
  readonly aggregateId: string
  readonly events: ReadonlyArray<UserEvent>
  readonly nextAfterVersion: number | null
}

export const readEvents = (input: ReadEventsInput) =>
  Effect.gen(function*() {
    const principal = yield* CurrentPrincipal
    yield* authorizeRead(principal, input.userId)
    const stored = yield* (yield* UserRepo).find(principal.organizationId, input.userId)
    if (stored === null) return yield* new UserNotFound({ userId: input.userId })
    const rows = yield* (yield* EventLog).read(principal.organizationId, input.userId, {
      afterVersion: input.afterVersion,
      limit: input.limit + 1
    })
    const events = rows.slice(0, input.limit)
    const page: EventPage = {
      aggregateId: input.userId,
      events,
      nextAfterVersion: rows.length > input.limit ? events[events.length - 1]!.version : null
    }
    return page
  })
