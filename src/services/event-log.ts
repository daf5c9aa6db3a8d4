/**
 * EventLog: reading an aggregate's audit stream (masked events, oldest first) and the head of the
 * organization's tamper-evident chain. Appends go through UserRepo.commit, which writes the event in the
 * same atomic unit as the row.
 */
import { Context, type Effect } from "effect"
import type { StoreUnavailable } from "../app/errors.js"
import type { ChainHead } from "../audit/chain.js"
import type { UserEvent } from "../domain/user.js"

export interface ReadOptions {
  readonly afterVersion: number
  readonly limit: number
}

export class EventLog extends Context.Tag("users-api/EventLog")<
  EventLog,
  {
    readonly read: (
      organizationId: string,
      aggregateId: string,
      options: ReadOptions
    ) => Effect.Effect<ReadonlyArray<UserEvent>, StoreUnavailable>
    /** The organization's chain head: how many events it holds and the last one's hash. */
    readonly head: (organizationId: string) => Effect.Effect<ChainHead, StoreUnavailable>
  }
>() {}
