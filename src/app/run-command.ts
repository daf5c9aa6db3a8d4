/**
 * Runs one User command: read the row, decide, write row + event atomically.
 * Without If-Match a lost race is retried against the fresh row (bounded); with it, a race is a 412.
 */
import { Effect } from "effect"
import { UserAlreadyExists } from "../domain/errors.js"
import type { E164 } from "../domain/phone.js"
import { decide, type UserCommand, type UserEvent } from "../domain/user.js"
import type { Principal } from "../services/auth.js"
import { Masker } from "../services/masker.js"
import { UserRepo } from "../services/user-repo.js"
import { commandMetadata } from "./context.js"
import {
  type PhoneNumberInUse,
  PreconditionFailed,
  type StoreUnavailable,
  UserErased,
  UserNotFound,
  VerificationRejected,
  VersionConflict
} from "./errors.js"

/** `If-Match: "<version>"` or `If-Match: *` (any current version). */
export type IfMatch = { readonly _tag: "Any" } | { readonly _tag: "Version"; readonly version: number }

export interface CommandResult {
  readonly aggregateId: string
  readonly version: number
  readonly event: UserEvent | null
}

export type CommandError =
  | UserNotFound
  | UserAlreadyExists
  | UserErased
  | VerificationRejected
  | PreconditionFailed
  | PhoneNumberInUse
  | VersionConflict
  | StoreUnavailable

/** How many times a lost race is retried before the caller is told to try again. */
export const MAX_CONFLICT_RETRIES = 25

// 1 ms, growing by half each time to at most 50 ms between attempts, jittered (80–120 %) so racing writers spread
// out. A plain catch rather than Effect.retry with a Schedule: the first attempt, which nearly always succeeds,
// then costs no schedule driver (about a tenth of a write's CPU time on the bench machine; BENCHMARKS.md).
const backoffMillis = (retry: number) => Math.min(50, 1.5 ** retry) * (0.8 + 0.4 * Math.random())

const retryOnConflict = <A, E, R>(attempt: Effect.Effect<A, E | VersionConflict, R>) => {
  const from = (retry: number): Effect.Effect<A, E | VersionConflict, R> =>
    Effect.catchIf(
      attempt,
      (error): error is VersionConflict => error instanceof VersionConflict && retry < MAX_CONFLICT_RETRIES,
      () => Effect.zipRight(Effect.sleep(backoffMillis(retry)), from(retry + 1))
    )
  return from(0)
}

const fingerprintsOf = (masker: Masker["Type"], numbers: ReadonlyArray<E164 | null>) =>
  Effect.forEach(
    numbers.filter((n): n is E164 => n !== null),
    (n) => Effect.map(masker.fingerprint(n), (f) => [n, f] as const)
  ).pipe(
    Effect.map((pairs) => new Map(pairs.filter((p): p is readonly [E164, string] => p[1] !== undefined)))
  )

export const runCommand = (
  principal: Principal,
  command: UserCommand,
  ifMatch?: IfMatch
): Effect.Effect<CommandResult, CommandError, UserRepo | Masker> =>
  Effect.gen(function*() {
    const repo = yield* UserRepo
    const masker = yield* Masker
    const userId = command.userId

    const attempt = Effect.gen(function*() {
      const state = yield* repo.find(principal.organizationId, userId)
      if (state !== null && ifMatch?._tag === "Version" && ifMatch.version !== state.version) {
        return yield* new PreconditionFailed({ expected: String(ifMatch.version), current: state.version })
      }
      const fingerprints = yield* fingerprintsOf(masker, [
        command.type === "ErasePersonalData" ? null : command.phoneNumber,
        state?.phoneNumber ?? null
      ])
      const decision = decide(
        command,
        state,
        yield* commandMetadata(principal),
        masker.mask,
        (n) => fingerprints.get(n)
      )
      switch (decision._tag) {
        case "UserNotFound":
          return yield* new UserNotFound({ userId })
        case "UserAlreadyExists":
          return yield* new UserAlreadyExists({ userId })
        case "UserErased":
          return yield* new UserErased({ userId })
        case "NoPhoneNumber":
          return yield* new VerificationRejected({ reason: "no-phone-number" })
        case "PhoneNumberChanged":
          return yield* new VerificationRejected({ reason: "phone-number-mismatch" })
        case "Unchanged":
          return { aggregateId: userId, version: decision.state.version, event: null }
        case "Changed":
          yield* repo.commit(decision)
          return { aggregateId: userId, version: decision.state.version, event: decision.event }
      }
    })

    if (ifMatch === undefined) return yield* retryOnConflict(attempt)
    // The caller pinned a version: losing the race means its precondition no longer holds.
    return yield* attempt.pipe(
      Effect.catchTag("VersionConflict", () =>
        repo.find(principal.organizationId, userId).pipe(
          Effect.flatMap((now) =>
            Effect.fail(
              new PreconditionFailed({
                expected: ifMatch._tag === "Version" ? String(ifMatch.version) : "*",
                current: now?.version ?? 0
              })
            )
          )
        ))
    )
  })
