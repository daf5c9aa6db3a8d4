/** Without If-Match a lost race is retried against the fresh row (bounded); with it, a race is a 412. */
import { Effect, Schedule } from "effect"
import { GENESIS_HASH } from "../audit/chain.js"
import { UserAlreadyExists, UserErased, UserNotFound, VerificationRejected } from "../domain/errors.js"
import { decide, type UserCommand, type UserEvent } from "../domain/user.js"
import type { Principal } from "../services/auth.js"
import type { IdempotencyKeyInUse, PhoneNumberInUse, StoreUnavailable } from "../services/errors.js"
import { VersionConflict } from "../services/errors.js"
import { Masker } from "../services/masker.js"
import { UserRepo } from "../services/user-repo.js"
import { commandMetadata } from "./context.js"
import { PreconditionFailed } from "./errors.js"
import { wakeRelay } from "./relay-signal.js"

/** `If-Match: "<version>"` or `If-Match: *` (any current version). */
export type IfMatch = { readonly _tag: "Any" } | { readonly _tag: "Version"; readonly version: number }

export interface CommandResult {
  readonly aggregateId: string
  readonly version: number
  readonly event: UserEvent | null
  /** A verified change requested (202): what is pending, and the code when the caller sends it itself. */
  readonly pendingChange?: { readonly id: string; readonly maskedPhoneNumber: string; readonly expiresAt: string }
  readonly verificationCode?: string
}

export type CommandError =
  | UserNotFound
  | UserAlreadyExists
  | UserErased
  | VerificationRejected
  | PreconditionFailed
  | PhoneNumberInUse
  | IdempotencyKeyInUse
  | VersionConflict
  | StoreUnavailable

export const MAX_CONFLICT_RETRIES = 25

// Jittered so racing writers spread out.
const lostRaceBackoff = Schedule.exponential("1 millis", 1.5).pipe(
  Schedule.union(Schedule.spaced("50 millis")),
  Schedule.jittered
)

const isConflict = (error: unknown): error is VersionConflict => error instanceof VersionConflict

// The first attempt runs bare: Effect.retry sets the context for every attempt, most requests never conflict.
export const retryOnConflict = <A, E, R>(attempt: Effect.Effect<A, E | VersionConflict, R>) =>
  Effect.catchIf(
    attempt,
    isConflict,
    () => Effect.retry(attempt, { schedule: lostRaceBackoff, while: isConflict, times: MAX_CONFLICT_RETRIES - 1 })
  )

/** Without If-Match a lost race runs again; with it, losing the race means its precondition no longer holds (412). */
export const settleLostRace = <A, E, R>(
  attempt: Effect.Effect<A, E | VersionConflict, R>,
  ifMatch: IfMatch | undefined,
  organizationId: string,
  userId: string
): Effect.Effect<A, E | VersionConflict | PreconditionFailed | StoreUnavailable, R | UserRepo> =>
  ifMatch === undefined ?
    retryOnConflict(attempt) :
    Effect.catchIf(
      attempt,
      isConflict,
      () =>
        Effect.flatMap(UserRepo, (repo) =>
          Effect.flatMap(repo.find(organizationId, userId), (now) =>
            Effect.fail(
              new PreconditionFailed({
                expected: ifMatch._tag === "Version" ? String(ifMatch.version) : "*",
                current: now?.user.version ?? 0
              })
            )))
    )

export const runCommand = (
  principal: Principal,
  command: UserCommand,
  ifMatch?: IfMatch
): Effect.Effect<CommandResult, CommandError, UserRepo | Masker> =>
  Effect.flatMap(UserRepo, (repo) =>
    Effect.flatMap(Masker, (masker) => {
      const userId = command.userId
      const attempt: Effect.Effect<CommandResult, CommandError> = Effect.flatMap(
        repo.find(principal.organizationId, userId),
        (stored) => {
          const state = stored?.user ?? null
          if (state !== null && ifMatch?._tag === "Version" && ifMatch.version !== state.version) {
            return Effect.fail(new PreconditionFailed({ expected: String(ifMatch.version), current: state.version }))
          }
          return Effect.flatMap(commandMetadata(principal), (metadata): Effect.Effect<CommandResult, CommandError> => {
            const decision = decide(command, state, metadata, masker.mask, masker.fingerprint)
            switch (decision._tag) {
              case "UserNotFound":
                return Effect.fail(new UserNotFound({ userId }))
              case "UserAlreadyExists":
                return Effect.fail(new UserAlreadyExists({ userId }))
              case "UserErased":
                return Effect.fail(new UserErased({ userId }))
              case "NoPhoneNumber":
                return Effect.fail(new VerificationRejected({ reason: "no-phone-number" }))
              case "PhoneNumberChanged":
                return Effect.fail(new VerificationRejected({ reason: "phone-number-mismatch" }))
              case "Unchanged":
                return Effect.succeed({ aggregateId: userId, version: decision.state.version, event: null })
              case "Changed":
                return repo.commit({ ...decision, previousHash: stored?.headHash ?? GENESIS_HASH }).pipe(
                  Effect.zipRight(wakeRelay(principal.organizationId)),
                  Effect.as({ aggregateId: userId, version: decision.state.version, event: decision.event })
                )
            }
          })
        }
      )
      return settleLostRace(attempt, ifMatch, principal.organizationId, userId)
    }))
