// A code checked: counted first (so at most five are ever compared), compared in constant time, then the change
// applied in one write with the pending change cleared and, for a recycled number, its holder's release.
import { Clock, Effect } from "effect"
import { GENESIS_HASH } from "../audit/chain.js"
import {
  InvalidVerificationCode,
  NoPendingChange,
  UserErased,
  UserNotFound,
  VerificationExpired
} from "../domain/errors.js"
import { confirmChange, MAX_CODE_ATTEMPTS, type PendingPhoneNumberChange } from "../domain/phone-change.js"
import { CurrentPrincipal, type Principal } from "../services/auth.js"
import { VerificationSettings } from "../services/code-sender.js"
import { PhoneNumberInUse } from "../services/errors.js"
import { Masker } from "../services/masker.js"
import { PhoneVerificationStore } from "../services/phone-verification.js"
import { UserRepo } from "../services/user-repo.js"
import { authorizeWrite } from "./authorize.js"
import { commandMetadata, uuidv7 } from "./context.js"
import { PreconditionFailed } from "./errors.js"
import { releasesVerifiedHolder } from "./phone-policy-seam.js"
import { wakeRelay } from "./relay-signal.js"
import { type CommandResult, type IfMatch, settleLostRace } from "./run-command.js"
import { equalInConstantTime } from "./verification-code.js"

export interface ConfirmInput {
  readonly code: string
  readonly ifMatch: IfMatch | undefined
}

/** Split so the HTTP handler authorizes before it reads the body. */
export const authorizeConfirmPhoneNumberChange = (userId: string) =>
  Effect.flatMap(
    CurrentPrincipal,
    (principal) =>
      Effect.as(authorizeWrite(principal, userId), (input: ConfirmInput) => confirm(principal, userId, input))
  )

const expired = (organizationId: string, userId: string, pending: PendingPhoneNumberChange) =>
  Effect.zipRight(
    Effect.flatMap(PhoneVerificationStore, (store) => store.discard(organizationId, userId, pending.id)),
    Effect.fail(new VerificationExpired())
  )

const confirm = (principal: Principal, userId: string, input: ConfirmInput) =>
  Effect.gen(function*() {
    const organizationId = principal.organizationId
    const [repo, store, settings] = [yield* UserRepo, yield* PhoneVerificationStore, yield* VerificationSettings]
    const stored = yield* repo.find(organizationId, userId)
    if (stored === null) return yield* new UserNotFound({ userId })
    if (stored.user.erasedAt !== null) return yield* new UserErased({ userId })
    if (input.ifMatch?._tag === "Version" && input.ifMatch.version !== stored.user.version) {
      return yield* new PreconditionFailed({ expected: String(input.ifMatch.version), current: stored.user.version })
    }
    const pending = yield* store.pending(organizationId, userId)
    if (pending === null) return yield* new NoPendingChange()
    const now = new Date(yield* Clock.currentTimeMillis).toISOString()
    if (now >= pending.expiresAt || pending.attempts >= MAX_CODE_ATTEMPTS) {
      return yield* expired(organizationId, userId, pending)
    }
    yield* store.countAttempt(organizationId, userId, pending.id)
    // Read again: concurrent guesses each see every attempt counted before their own comparison.
    const counted = yield* store.pending(organizationId, userId)
    if (counted === null || counted.id !== pending.id) return yield* new VerificationExpired()
    if (counted.attempts > MAX_CODE_ATTEMPTS) return yield* expired(organizationId, userId, counted)
    if (!equalInConstantTime(settings.hashCode(pending.id, input.code), counted.codeHash)) {
      if (counted.attempts >= MAX_CODE_ATTEMPTS) return yield* expired(organizationId, userId, counted)
      return yield* new InvalidVerificationCode({ attemptsLeft: MAX_CODE_ATTEMPTS - counted.attempts })
    }
    return yield* apply(principal, userId, pending.id, input.ifMatch)
  })

/** The proof holds: the write, retried against fresh state on a lost race (or a 412 under If-Match). */
const apply = (principal: Principal, userId: string, pendingId: string, ifMatch: IfMatch | undefined) =>
  Effect.gen(function*() {
    const organizationId = principal.organizationId
    const [repo, store, masker] = [yield* UserRepo, yield* PhoneVerificationStore, yield* Masker]
    const attempt = Effect.gen(function*() {
      const stored = yield* repo.find(organizationId, userId)
      const pending = yield* store.pending(organizationId, userId)
      // Replaced by a newer request meanwhile: this code no longer proves anything.
      if (pending !== null && pending.id !== pendingId) return yield* new VerificationExpired()
      const holder = pending === null ? null : yield* store.holderOf(organizationId, pending.phoneNumber)
      const decision = confirmChange(
        stored?.user ?? null,
        {
          pending,
          holder: holder?.user ?? null,
          releaseVerifiedHolder: yield* releasesVerifiedHolder(organizationId),
          releaseEventId: yield* uuidv7
        },
        yield* commandMetadata(principal),
        masker.mask,
        masker.fingerprint
      )
      switch (decision._tag) {
        case "UserNotFound":
          return yield* new UserNotFound({ userId })
        case "UserErased":
          return yield* new UserErased({ userId })
        case "NoPendingChange":
          return yield* new NoPendingChange()
        case "VerificationExpired":
          return yield* new VerificationExpired()
        case "PhoneNumberInUse":
          return yield* new PhoneNumberInUse()
        case "Changed":
          break
      }
      const { released } = decision
      yield* repo.commit({
        state: decision.state,
        event: decision.event,
        pending: decision.pending,
        previousHash: stored?.headHash ?? GENESIS_HASH,
        ...(decision.fingerprints === undefined ? {} : { fingerprints: decision.fingerprints }),
        ...(released === undefined || holder === null
          ? {}
          : { released: { ...released, previousHash: holder.headHash } })
      })
      const result: CommandResult = { aggregateId: userId, version: decision.state.version, event: decision.event }
      return result
    })
    const result = yield* settleLostRace(attempt, ifMatch, organizationId, userId)
    yield* wakeRelay(organizationId)
    return result
  })
