/**
 * UpdatePhoneNumber: authorize, parse, read the row, decide, write row + event atomically.
 * Without If-Match a lost race is retried against the fresh row (bounded); with it, a race is a 412.
 */
import { Effect, Schedule } from "effect"
import { decide, type UserEvent } from "../domain/user.js"
import { parsePhoneNumber } from "../domain/phone.js"
import { InvalidPhoneNumber } from "../domain/errors.js"
import { CurrentPrincipal } from "../services/auth.js"
import { Masker } from "../services/masker.js"
import { UserRepo } from "../services/user-repo.js"
import { authorizeWrite } from "./authorize.js"
import { commandMetadata } from "./context.js"
import { Forbidden, PreconditionFailed, StoreUnavailable, UserNotFound, VersionConflict } from "./errors.js"

/** `If-Match: "<version>"` or `If-Match: *` (any current version). */
export type IfMatch = { readonly _tag: "Any" } | { readonly _tag: "Version"; readonly version: number }

export interface UpdatePhoneNumberInput {
  readonly userId: string
  readonly phoneNumber: string | null
  readonly ifMatch: IfMatch | undefined
}

export interface CommandResult {
  readonly aggregateId: string
  readonly version: number
  readonly event: UserEvent | null
}

/** How many times a lost race is retried before the caller is told to try again. */
export const MAX_CONFLICT_RETRIES = 25

export const retryOnConflict = <A, E, R>(attempt: Effect.Effect<A, E | VersionConflict, R>) =>
  Effect.retry(attempt, {
    while: (error) => error instanceof VersionConflict,
    times: MAX_CONFLICT_RETRIES,
    // 1 ms, growing to at most 50 ms between attempts, jittered so racing writers spread out.
    schedule: Schedule.jittered(Schedule.union(Schedule.exponential("1 millis", 1.5), Schedule.spaced("50 millis")))
  })

export const updatePhoneNumber = (
  input: UpdatePhoneNumberInput
): Effect.Effect<
  CommandResult,
  Forbidden | InvalidPhoneNumber | UserNotFound | PreconditionFailed | VersionConflict | StoreUnavailable,
  CurrentPrincipal | UserRepo | Masker
> =>
  Effect.gen(function*() {
    const principal = yield* CurrentPrincipal
    yield* authorizeWrite(principal, input.userId)
    const phoneNumber = input.phoneNumber === null ? null : yield* parsePhoneNumber(input.phoneNumber)
    const repo = yield* UserRepo
    const { mask } = yield* Masker

    const attempt = Effect.gen(function*() {
      const state = yield* repo.find(principal.organizationId, input.userId)
      if (state === null) return yield* new UserNotFound({ userId: input.userId })
      if (input.ifMatch?._tag === "Version" && input.ifMatch.version !== state.version) {
        return yield* new PreconditionFailed({ expected: String(input.ifMatch.version), current: state.version })
      }
      const metadata = yield* commandMetadata(principal)
      const decision = decide({ type: "UpdatePhoneNumber", userId: input.userId, phoneNumber }, state, metadata, mask)
      switch (decision._tag) {
        case "UserNotFound":
        case "UserAlreadyExists":
          return yield* new UserNotFound({ userId: input.userId })
        case "Unchanged":
          return { aggregateId: input.userId, version: decision.state.version, event: null }
        case "Changed":
          yield* repo.commit(decision)
          return { aggregateId: input.userId, version: decision.state.version, event: decision.event }
      }
    })

    if (input.ifMatch === undefined) return yield* retryOnConflict(attempt)
    // The caller pinned a version: losing the race means its precondition no longer holds.
    return yield* attempt.pipe(
      Effect.catchTag("VersionConflict", () =>
        repo.find(principal.organizationId, input.userId).pipe(
          Effect.flatMap((now) =>
            Effect.fail(
              new PreconditionFailed({
                expected: input.ifMatch?._tag === "Version" ? String(input.ifMatch.version) : "*",
                current: now?.version ?? 0
              })
            )
          )
        ))
    )
  })
