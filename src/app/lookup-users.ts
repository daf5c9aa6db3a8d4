/**
 * Users found by number, within the caller's organization, recorded before the answer: who asked, how many, and the
 * masked forms. An unreadable number refuses the whole request (docs/DECISIONS.md, "Lookup by number").
 */
import { Clock, Effect, Either, FiberRef } from "effect"
import { parseLookupNumber } from "../domain/phone-lookup.js"
import type { E164 } from "../domain/phone.js"
import { CurrentPrincipal } from "../services/auth.js"
import { Masker } from "../services/masker.js"
import { UserLookup } from "../services/user-lookup.js"
import { authorizeAuditRead, authorizeLookup } from "./authorize.js"
import { CurrentRequest, uuidv7At } from "./context.js"
import { OrganizationNotFound } from "./errors.js"

export interface LookupMatch {
  /** The entry as the caller wrote it. */
  readonly phoneNumber: string
  readonly userId: string
  readonly maskedPhoneNumber: string
  readonly phoneNumberVerified: boolean
}

/** Authorized before the body is read. */
export const authorizeLookupUsers = Effect.gen(function*() {
  const principal = yield* CurrentPrincipal
  yield* authorizeLookup(principal)
  const [lookup, masker] = yield* Effect.all([UserLookup, Masker])
  return (inputs: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const numbers: Array<E164> = []
      for (const [index, input] of inputs.entries()) {
        const parsed = parseLookupNumber(input, index)
        if (Either.isLeft(parsed)) return yield* parsed.left
        numbers.push(parsed.right)
      }
      const found = yield* lookup.find(principal.organizationId, [...new Set(numbers)])
      const holder = new Map(found.map((match) => [match.phoneNumber as string, match]))
      const matches: Array<LookupMatch> = []
      for (const [index, input] of inputs.entries()) {
        const match = holder.get(numbers[index]!)
        if (match !== undefined) {
          matches.push({
            phoneNumber: input,
            userId: match.userId,
            maskedPhoneNumber: masker.mask(match.phoneNumber)!,
            phoneNumberVerified: match.phoneNumberVerified
          })
        }
      }
      const [now, ids] = yield* Effect.all([Clock.currentTimeMillis, FiberRef.get(CurrentRequest)])
      yield* lookup.record(principal.organizationId, {
        id: uuidv7At(now),
        occurredAt: new Date(now).toISOString(),
        actor: principal.actor,
        requestId: ids.serverRequestId,
        numbersCount: inputs.length,
        matchesCount: matches.length,
        maskedPhoneNumbers: numbers.map((n) => masker.mask(n)!)
      })
      return matches
    })
})

/** The record of lookups, for the organization's auditors. */
export const readLookupRecords = (input: {
  readonly organizationId: string
  readonly afterSequence: number
  readonly limit: number
}) =>
  Effect.gen(function*() {
    const principal = yield* CurrentPrincipal
    yield* authorizeAuditRead(principal)
    if (input.organizationId !== principal.organizationId) return yield* new OrganizationNotFound()
    const rows = yield* (yield* UserLookup).records(input.organizationId, input.afterSequence, input.limit + 1)
    const lookups = rows.slice(0, input.limit)
    return {
      lookups,
      nextAfterSequence: lookups.length === 0 ? input.afterSequence : lookups[lookups.length - 1]!.sequence,
      hasMore: rows.length > input.limit
    }
  })
