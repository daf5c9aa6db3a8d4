/**
 * The phones feature's handlers. Bodies are read after authorization (`handleRaw`, as src/api/users/Http.ts), and a
 * refused body names the field and its rule, never the value sent.
 */
import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Effect, Either, ParseResult } from "effect"
import * as Schema from "effect/Schema"
import { authorizeLookupUsers, readLookupRecords } from "../../app/lookup-users.js"
import { authorizePutPhonePolicy, readPhonePolicy } from "../../app/phone-policy.js"
import { LINE_TYPES, PhonePolicy } from "../../domain/phone-policy-schema.js"
import { UsersApi } from "../../http/api.js"
import { readJsonBytes } from "../../http/body.js"
import { decodeCursor, encodeCursor } from "../../http/cursor.js"
import { InvalidRequest } from "../../http/errors.js"
import { answered } from "../../http/problems.js"
import {
  LOOKUPS_DEFAULT_LIMIT,
  LookupUsersBody,
  LookupUsersResponse,
  MAX_LOOKUP_NUMBER_LENGTH,
  MAX_LOOKUP_NUMBERS,
  PhonePolicyResponse
} from "./Api.js"

const RULES: Record<string, string> = {
  selfService: 'selfService must be "direct" or "verify"',
  allowedRegions: "allowedRegions must be null or 1 to 300 ISO 3166-1 alpha-2 region codes with phone numbers, in " +
    'capitals (e.g. ["FR", "BE"])',
  allowedLineTypes: `allowedLineTypes must be null or a non-empty list of ${LINE_TYPES.join(", ")}`,
  codeLimits: "codeLimits must be an object of perNumberPerHour, perUserPerDay and perOrganizationPerDay",
  "codeLimits.perNumberPerHour": "codeLimits.perNumberPerHour must be a whole number from 1 to 100",
  "codeLimits.perUserPerDay": "codeLimits.perUserPerDay must be a whole number from 1 to 1000",
  "codeLimits.perOrganizationPerDay": "codeLimits.perOrganizationPerDay must be a whole number from 1 to 10000000",
  onVerifiedConflict: 'onVerifiedConflict must be "reject" or "release"',
  phoneNumbers: `phoneNumbers must be a list of 1 to ${MAX_LOOKUP_NUMBERS} strings of at most ` +
    `${MAX_LOOKUP_NUMBER_LENGTH} characters`
}

/** Names the field and its rule; an unknown field only when its name is a plain word (it could be a number). */
const bodyDecoder = <A, I>(schema: Schema.Schema<A, I>) => {
  const decode = Schema.decodeUnknownEither(schema, { onExcessProperty: "error", errors: "all" })
  const utf8 = new TextDecoder("utf-8", { fatal: true })
  return (bytes: Uint8Array): Either.Either<A, InvalidRequest> => {
    let json: unknown
    try {
      json = JSON.parse(utf8.decode(bytes))
    } catch {
      return Either.left(new InvalidRequest({ code: "malformed-json", detail: "The body is not valid UTF-8 JSON." }))
    }
    return Either.mapLeft(decode(json), (error) => {
      const rules = ParseResult.ArrayFormatter.formatErrorSync(error).slice(0, 5).map((issue) => {
        const named = issue.path.filter((part) => typeof part === "string").join(".")
        if (issue._tag === "Unexpected") {
          return /^[A-Za-z_.]{1,60}$/.test(named) ? `${named} is not an accepted field` : "a field is not accepted"
        }
        const index = issue.path.find((part) => typeof part === "number")
        const rule = RULES[named] ?? RULES[String(issue.path[0])] ?? "the body must be a JSON object"
        return index === undefined ? rule : `${rule} (entry ${String(index)})`
      })
      return new InvalidRequest({ code: "invalid-body", detail: `Invalid body: ${[...new Set(rules)].join("; ")}.` })
    })
  }
}

const decodePolicy = bodyDecoder(PhonePolicy)
const decodeLookup = bodyDecoder(LookupUsersBody)
const encodePolicyAnswer = Schema.encode(PhonePolicyResponse)
const encodeLookupAnswer = Schema.encode(LookupUsersResponse)

const json = <E>(encoded: Effect.Effect<unknown, E>) =>
  Effect.map(Effect.orDie(encoded), (body) => HttpServerResponse.unsafeJson(body))

export const PhonesHandlers = HttpApiBuilder.group(UsersApi, "phones", (handlers) =>
  handlers
    .handle("getPhonePolicy", ({ path }) =>
      answered(Effect.map(readPhonePolicy(path.organizationId), (policy) => ({
        success: true as const,
        organizationId: path.organizationId,
        policy
      }))))
    .handleRaw("putPhonePolicy", ({ path, request }) =>
      answered(Effect.gen(function*() {
        const put = yield* authorizePutPhonePolicy(path.organizationId)
        const policy = yield* Effect.flatMap(readJsonBytes(request), decodePolicy)
        const stored = yield* put(policy)
        return yield* json(encodePolicyAnswer({ success: true, organizationId: path.organizationId, policy: stored }))
      })))
    .handleRaw("lookupUsers", ({ request }) =>
      answered(Effect.gen(function*() {
        const lookup = yield* authorizeLookupUsers
        const body = yield* Effect.flatMap(readJsonBytes(request), decodeLookup)
        const matches = yield* lookup(body.phoneNumbers)
        return yield* json(encodeLookupAnswer({ success: true, matches }))
      })))
    .handle("listPhoneLookups", ({ path, urlParams }) =>
      answered(Effect.gen(function*() {
        const afterSequence = yield* decodeCursor(urlParams.after)
        const page = yield* readLookupRecords({
          organizationId: path.organizationId,
          afterSequence,
          limit: urlParams.limit ?? LOOKUPS_DEFAULT_LIMIT
        })
        return {
          success: true as const,
          organizationId: path.organizationId,
          lookups: page.lookups,
          nextCursor: encodeCursor(page.nextAfterSequence),
          hasMore: page.hasMore
        }
      }))))
