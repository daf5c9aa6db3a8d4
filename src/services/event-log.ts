/**
 * EventLog: reading a user's audit stream (masked events, oldest first), the organization's feed of every event in
 * commit order, and the organization's checkpoints, which seal what it wrote (src/audit/checkpoint.ts). Appends go through UserRepo.commit, which writes the event in the
 * same atomic unit as the row.
 */
import { Context, type Effect } from "effect"
import type { Checkpoint } from "../audit/checkpoint.js"
import type { UserEvent } from "../domain/user.js"
import type { StoreUnavailable } from "./errors.js"
import type { ChainedEvent } from "./webhooks.js"

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
    /**
     * Seals the organization's events written since its latest checkpoint with a new one, if there are any, and
     * answers the latest checkpoint (undefined while the organization has no event).
     */
    readonly checkpoint: (organizationId: string) => Effect.Effect<Checkpoint | undefined, StoreUnavailable>
    /** The organization's checkpoints after its checkpoint number `afterSequence`, oldest first. */
    readonly checkpoints: (
      organizationId: string,
      afterSequence: number,
      limit: number
    ) => Effect.Effect<ReadonlyArray<Checkpoint>, StoreUnavailable>
    /**
     * The organization's events after its event number `afterSequence`, in that order (commit order), each with its
     * chain position: the organization's feed (GET /organizations/{id}/events).
     */
    readonly feed: (
      organizationId: string,
      afterSequence: number,
      limit: number
    ) => Effect.Effect<ReadonlyArray<ChainedEvent>, StoreUnavailable>
    /** Organizations with events their latest checkpoint has not sealed (at most `limit`). */
    readonly unsealedOrganizations: (limit: number) => Effect.Effect<ReadonlyArray<string>, StoreUnavailable>
  }
>() {}
