// A verified change requested: the event and the pending change in one write, then the code handed over (send-code)
// or answered (return-code). A failed delivery leaves the change pending; the next request replaces its code.
import { Clock, Effect } from "effect"
import { GENESIS_HASH } from "../audit/chain.js"
import { UserErased, UserNotFound } from "../domain/errors.js"
import { CODE_TTL_MS, type Delivery, type PendingPhoneNumberChange, requestChange } from "../domain/phone-change.js"
import type { E164 } from "../domain/phone.js"
import type { Principal } from "../services/auth.js"
import { CodeSender, VerificationSettings } from "../services/code-sender.js"
import { Forbidden } from "../services/errors.js"
import { currentKeyedWrite } from "../services/idempotency.js"
import { Masker } from "../services/masker.js"
import { UserRepo } from "../services/user-repo.js"
import { Scopes } from "./authorize.js"
import { commandMetadata, uuidv7 } from "./context.js"
import { PreconditionFailed } from "./errors.js"
import { checkBeforeCode } from "./phone-policy-seam.js"
import { wakeRelay } from "./relay-signal.js"
import { type CommandResult, type IfMatch, settleLostRace } from "./run-command.js"
import { generateCode } from "./verification-code.js"

export const RETURN_CODE_SCOPE = Scopes.codeReturn

const mayReturnCode = (principal: Principal) =>
  principal.actor.type === "service" && principal.scopes.has(RETURN_CODE_SCOPE)
    ? Effect.void
    : Effect.fail(
      new Forbidden({
        reason: "missing-scope",
        detail: `Only a service token with ${RETURN_CODE_SCOPE} may have the code returned.`
      })
    )

export const requestPhoneNumberChange = (
  principal: Principal,
  userId: string,
  phoneNumber: E164,
  delivery: Delivery,
  ifMatch: IfMatch | undefined
) =>
  Effect.gen(function*() {
    if (delivery === "return-code") yield* mayReturnCode(principal)
    const organizationId = principal.organizationId
    const [repo, masker, settings] = [yield* UserRepo, yield* Masker, yield* VerificationSettings]
    yield* checkBeforeCode(organizationId, userId, phoneNumber)
    const code = generateCode()
    const id = yield* uuidv7
    const pending: PendingPhoneNumberChange = {
      id,
      phoneNumber,
      maskedPhoneNumber: masker.mask(phoneNumber)!,
      codeHash: settings.hashCode(id, code),
      attempts: 0,
      expiresAt: new Date((yield* Clock.currentTimeMillis) + CODE_TTL_MS).toISOString()
    }
    const attempt = Effect.gen(function*() {
      const stored = yield* repo.find(organizationId, userId)
      if (stored !== null && ifMatch?._tag === "Version" && ifMatch.version !== stored.user.version) {
        return yield* new PreconditionFailed({ expected: String(ifMatch.version), current: stored.user.version })
      }
      const decision = requestChange(stored?.user ?? null, pending, delivery, yield* commandMetadata(principal))
      if (decision._tag === "UserNotFound") return yield* new UserNotFound({ userId })
      if (decision._tag === "UserErased") return yield* new UserErased({ userId })
      if (decision._tag !== "Changed") return yield* Effect.dieMessage(`unexpected ${decision._tag}`)
      // Kept by the HTTP layer afterwards (or not at all with the code in it), not with the change.
      yield* Effect.locally(
        repo.commit({
          state: decision.state,
          event: decision.event,
          pending: decision.pending,
          previousHash: stored?.headHash ?? GENESIS_HASH
        }),
        currentKeyedWrite,
        undefined
      )
      return decision
    })
    const written = yield* settleLostRace(attempt, ifMatch, organizationId, userId)
    yield* wakeRelay(organizationId)
    if (delivery === "send-code") {
      yield* Effect.flatMap(CodeSender, (sender) =>
        sender.send({ organizationId, userId, changeId: id, phoneNumber, code, expiresAt: pending.expiresAt }))
    }
    const result: CommandResult = {
      aggregateId: userId,
      version: written.state.version,
      event: written.event,
      pendingChange: { id, maskedPhoneNumber: pending.maskedPhoneNumber, expiresAt: pending.expiresAt },
      ...(delivery === "return-code" ? { verificationCode: code } : {})
    }
    return result
  })
