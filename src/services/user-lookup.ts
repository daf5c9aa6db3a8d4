/** Users found by number through the keyed index (no scan), and the record of every lookup for the auditors. */
import { Context, type Effect } from "effect"
import type { Actor } from "../domain/events.js"
import type { E164, MaskedPhoneNumber } from "../domain/phone.js"
import type { StoreUnavailable } from "./errors.js"

export interface NumberMatch {
  readonly phoneNumber: E164
  readonly userId: string
  readonly phoneNumberVerified: boolean
}

/** What a lookup leaves: who asked, how many, what matched, and the masked forms only. */
export interface LookupRecord {
  readonly sequence: number
  readonly id: string
  readonly occurredAt: string
  readonly actor: Actor
  readonly requestId: string
  readonly numbersCount: number
  readonly matchesCount: number
  readonly maskedPhoneNumbers: ReadonlyArray<MaskedPhoneNumber>
}

export class UserLookup extends Context.Tag("users-api/UserLookup")<UserLookup, {
  /** The organization's users holding these numbers now; erased users hold none. */
  readonly find: (
    organizationId: string,
    numbers: ReadonlyArray<E164>
  ) => Effect.Effect<ReadonlyArray<NumberMatch>, StoreUnavailable>
  readonly record: (
    organizationId: string,
    record: Omit<LookupRecord, "sequence">
  ) => Effect.Effect<void, StoreUnavailable>
  /** Oldest first, after `afterSequence`. */
  readonly records: (
    organizationId: string,
    afterSequence: number,
    limit: number
  ) => Effect.Effect<ReadonlyArray<LookupRecord>, StoreUnavailable>
}>() {}
