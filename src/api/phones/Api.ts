/** The phones feature's contract: each organization's phone policy, lookup by number, and the record of lookups. */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import * as Schema from "effect/Schema"
import * as Domain from "../../domain/errors.js"
import { Actor } from "../../domain/events.js"
import { PhonePolicy } from "../../domain/phone-policy-schema.js"
import * as Http from "../../http/errors.js"
import { withProblems } from "../../http/problems.js"
import * as Ports from "../../services/errors.js"
import { Authentication, Cursor, ORGANIZATION_PROBLEMS, Timestamp, UserId } from "../common.js"

export { PhonePolicy }

export const MAX_LOOKUP_NUMBERS = 100
export const MAX_LOOKUP_NUMBER_LENGTH = 64

export const PhonePolicyResponse = Schema.Struct({
  success: Schema.Literal(true),
  organizationId: Schema.String,
  policy: PhonePolicy
}).annotations({ identifier: "PhonePolicyAnswer" })

export const LookupUsersBody = Schema.Struct({
  phoneNumbers: Schema.Array(Schema.String.pipe(Schema.maxLength(MAX_LOOKUP_NUMBER_LENGTH))).pipe(
    Schema.minItems(1),
    Schema.maxItems(MAX_LOOKUP_NUMBERS)
  ).annotations({
    description: `1 to ${MAX_LOOKUP_NUMBERS} numbers in any international form libphonenumber reads ` +
      '("+14155550123", "+1 (415) 555-0123", "0033 6 12 34 56 78", "tel:+1-415-555-0123").',
    examples: [["+14155550123", "+33 6 12 34 56 78"]]
  })
}).annotations({ identifier: "LookupUsersRequest" })

export const LookupMatch = Schema.Struct({
  phoneNumber: Schema.String.annotations({ description: "The entry as the request wrote it." }),
  userId: Schema.String,
  maskedPhoneNumber: Schema.String,
  phoneNumberVerified: Schema.Boolean
}).annotations({ identifier: "LookupMatch" })

export const LookupUsersResponse = Schema.Struct({
  success: Schema.Literal(true),
  matches: Schema.Array(LookupMatch).annotations({
    description: "One per entry held by a user of the organization, in the request's order; others are left out."
  })
}).annotations({ identifier: "LookupUsersAnswer" })

export const PhoneLookupRecord = Schema.Struct({
  sequence: Schema.Int.annotations({ description: "The organization's own lookup number: 1, 2, 3…" }),
  id: Schema.String,
  occurredAt: Timestamp,
  actor: Actor,
  requestId: Schema.String,
  numbersCount: Schema.Int,
  matchesCount: Schema.Int,
  maskedPhoneNumbers: Schema.Array(Schema.String).annotations({
    description: "The numbers asked, masked, in the request's order."
  })
}).annotations({ identifier: "PhoneLookupRecord" })

export const PhoneLookupsResponse = Schema.Struct({
  success: Schema.Literal(true),
  organizationId: Schema.String,
  lookups: Schema.Array(PhoneLookupRecord),
  nextCursor: Schema.String.annotations({ description: "after= of the next request (the same when empty)." }),
  hasMore: Schema.Boolean
}).annotations({ identifier: "PhoneLookups" })

export const LOOKUPS_DEFAULT_LIMIT = 100
const LookupsQuery = Schema.Struct({
  after: Schema.optional(Cursor),
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 1_000)))
})

const OrganizationPath = HttpApiSchema.param("organizationId", UserId)

export class PhonesGroup extends HttpApiGroup.make("phones")
  .add(
    HttpApiEndpoint.get("getPhonePolicy")`/organizations/${OrganizationPath}/phone-policy`
      .addSuccess(PhonePolicyResponse)
      .pipe(withProblems(...ORGANIZATION_PROBLEMS))
      .annotate(OpenApi.Summary, "The organization's phone policy, defaults filled in (audit:read)")
  )
  .add(
    HttpApiEndpoint.put("putPhonePolicy")`/organizations/${OrganizationPath}/phone-policy`
      .setPayload(PhonePolicy)
      .addSuccess(PhonePolicyResponse)
      .pipe(withProblems(...ORGANIZATION_PROBLEMS, Http.PayloadTooLarge, Http.UnsupportedMediaType))
      .annotate(OpenApi.Summary, "Replace the organization's phone policy (policy:write); absent fields take defaults")
      .annotate(
        OpenApi.Description,
        'selfService: "verify" makes a user\'s own change of number a send-code change. allowedRegions and ' +
          "allowedLineTypes (null: any) refuse other numbers with 422 phone-number-not-allowed. codeLimits bound " +
          "the verification codes sent, per number per hour, per user per day and per organization per day (429 " +
          "verification-rate-limited with Retry-After, RateLimit and RateLimit-Policy). onVerifiedConflict: a " +
          "number proven by one user while another holds it verified is refused (reject) or released (release)."
      )
  )
  .add(
    HttpApiEndpoint.post("lookupUsers", "/users/lookup")
      .setPayload(LookupUsersBody)
      .addSuccess(LookupUsersResponse)
      .pipe(withProblems(
        Http.InvalidRequest,
        Domain.InvalidPhoneNumber,
        Ports.Forbidden,
        Ports.StoreUnavailable,
        Http.PayloadTooLarge,
        Http.UnsupportedMediaType
      ))
      .annotate(OpenApi.Summary, "Find the organization's users by phone number (users:lookup); every lookup recorded")
      .annotate(
        OpenApi.Description,
        "Numbers go in the body, never the URL. Answers the entries some user of the organization holds now " +
          "(erased users hold none), found through a keyed index of the numbers. A number that cannot be read " +
          "refuses the whole request (422 invalid-phone-number naming its place) and nothing is looked up. Each " +
          "lookup is recorded, masked, for the organization's auditors (GET /organizations/{id}/phone-lookups). " +
          "Takes no Idempotency-Key: a kept answer would keep the numbers."
      )
  )
  .add(
    HttpApiEndpoint.get("listPhoneLookups")`/organizations/${OrganizationPath}/phone-lookups`
      .setUrlParams(LookupsQuery)
      .addSuccess(PhoneLookupsResponse)
      .pipe(withProblems(...ORGANIZATION_PROBLEMS))
      .annotate(OpenApi.Summary, "Every lookup by number: who, when, how many, masked (audit:read), oldest first")
  )
  .middleware(Authentication)
  .annotate(
    OpenApi.Description,
    "Phones as keys: the organization's phone policy (who may change a number unproven, which numbers are taken, " +
      "how many codes may be sent) and finding users by number, recorded for the auditors."
  )
{}
