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
    /** Seals unsealed events first. */
    readonly checkpoint: (organizationId: string) => Effect.Effect<Checkpoint | undefined, StoreUnavailable>
    readonly checkpoints: (
      organizationId: string,
      afterSequence: number,
      limit: number
    ) => Effect.Effect<ReadonlyArray<Checkpoint>, StoreUnavailable>
    readonly feed: (
      organizationId: string,
      afterSequence: number,
      limit: number
    ) => Effect.Effect<ReadonlyArray<ChainedEvent>, StoreUnavailable>
    readonly unsealedOrganizations: (limit: number) => Effect.Effect<ReadonlyArray<string>, StoreUnavailable>
  }
>() {}
