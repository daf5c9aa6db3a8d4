/**
 * An organization's phone policy: who may change a number without proof, which numbers it accepts, how many codes
 * may be sent. `checkNumberAllowed` is pure; the policy is stored by the PhonePolicies service.
 */
import { Either } from "effect"
import * as Schema from "effect/Schema"
import { getCountries, parsePhoneNumberFromString } from "libphonenumber-js/max"
import type { E164 } from "./phone.js"
import { problem } from "./problem.js"

/** libphonenumber's types; a number whose type it cannot tell matches none. */
export const LINE_TYPES = [
  "MOBILE",
  "FIXED_LINE",
  "FIXED_LINE_OR_MOBILE",
  "TOLL_FREE",
  "PREMIUM_RATE",
  "SHARED_COST",
  "VOIP",
  "PERSONAL_NUMBER",
  "PAGER",
  "UAN",
  "VOICEMAIL"
] as const
export const LineType = Schema.Literal(...LINE_TYPES).annotations({
  identifier: "LineType",
  description: "A libphonenumber number type."
})
export type LineType = typeof LineType.Type

// The regions libphonenumber has numbers for: ISO 3166-1 alpha-2 codes (and AC, TA, XK, which it uses too).
const REGIONS: ReadonlySet<string> = new Set(getCountries())

export const RegionCode = Schema.String.pipe(
  Schema.filter((code) => REGIONS.has(code) || "an ISO 3166-1 alpha-2 region with phone numbers, in capitals"),
  Schema.annotations({ identifier: "RegionCode", description: "An ISO 3166-1 alpha-2 region code, e.g. FR." })
)

const count = (max: number, description: string) =>
  Schema.Int.pipe(Schema.between(1, max), Schema.annotations({ description }))

/** Defaults: what one person plausibly needs, far below what pays a pumping scheme (docs/DECISIONS.md). */
export const DEFAULT_CODE_LIMITS = { perNumberPerHour: 5, perUserPerDay: 10, perOrganizationPerDay: 10_000 } as const

export class CodeLimits extends Schema.Class<CodeLimits>("CodeLimits")({
  perNumberPerHour: Schema.optionalWith(count(100, "Codes sent to one number per hour (1-100)."), {
    default: () => DEFAULT_CODE_LIMITS.perNumberPerHour
  }),
  perUserPerDay: Schema.optionalWith(count(1_000, "Codes requested for one user per day (1-1000)."), {
    default: () => DEFAULT_CODE_LIMITS.perUserPerDay
  }),
  perOrganizationPerDay: Schema.optionalWith(
    count(10_000_000, "Codes sent for the whole organization per day (1-10000000)."),
    { default: () => DEFAULT_CODE_LIMITS.perOrganizationPerDay }
  )
}) {}

export class PhonePolicy extends Schema.Class<PhonePolicy>("PhonePolicy")({
  /** "verify": a user's own change of number is always a send-code change. */
  selfService: Schema.optionalWith(Schema.Literal("direct", "verify"), { default: () => "direct" as const }),
  /** null: every region. */
  allowedRegions: Schema.optionalWith(
    Schema.NullOr(Schema.Array(RegionCode).pipe(Schema.minItems(1), Schema.maxItems(300))),
    { default: () => null }
  ),
  /** null: every line type. */
  allowedLineTypes: Schema.optionalWith(
    Schema.NullOr(Schema.Array(LineType).pipe(Schema.minItems(1))),
    { default: () => null }
  ),
  codeLimits: Schema.optionalWith(CodeLimits, { default: () => CodeLimits.make({}) }),
  /** When a user proves a number another user holds verified: refuse (409), or release it from the holder. */
  onVerifiedConflict: Schema.optionalWith(Schema.Literal("reject", "release"), { default: () => "reject" as const })
}) {}

/** The policy of an organization that never set one: today's behaviour. */
export const DEFAULT_PHONE_POLICY: PhonePolicy = PhonePolicy.make({})

export type PolicyRule = "allowed-regions" | "allowed-line-types"

/** The number is outside the organization's policy. Names the rule, never the number. */
export class PhoneNumberNotAllowed extends Schema.TaggedError<PhoneNumberNotAllowed>()(
  "PhoneNumberNotAllowed",
  { rule: Schema.Literal("allowed-regions", "allowed-line-types") },
  problem<{ readonly rule: PolicyRule }>({
    status: 422,
    title: "Phone number not allowed",
    codes: ["phone-number-not-allowed"],
    detail: (e) =>
      e.rule === "allowed-regions"
        ? "The organization's phone policy does not allow numbers of this region (rule: allowedRegions)."
        : "The organization's phone policy does not allow numbers of this line type (rule: allowedLineTypes)."
  })
) {}

export const checkNumberAllowed = (
  policy: PhonePolicy,
  phoneNumber: E164
): Either.Either<E164, PhoneNumberNotAllowed> => {
  if (policy.allowedRegions === null && policy.allowedLineTypes === null) return Either.right(phoneNumber)
  const parsed = parsePhoneNumberFromString(phoneNumber)
  if (policy.allowedRegions !== null) {
    const region = parsed?.country
    if (region === undefined || !policy.allowedRegions.includes(region)) {
      return Either.left(new PhoneNumberNotAllowed({ rule: "allowed-regions" }))
    }
  }
  if (policy.allowedLineTypes !== null) {
    const type = parsed?.getType()
    if (type === undefined || !policy.allowedLineTypes.includes(type)) {
      return Either.left(new PhoneNumberNotAllowed({ rule: "allowed-line-types" }))
    }
  }
  return Either.right(phoneNumber)
}
