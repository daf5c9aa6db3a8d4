/**
 * An organization's phone policy as a schema: who may change a number without proof, which numbers it accepts, how
 * many codes may be sent. Without libphonenumber, so the client can load it (phone-policy.ts checks numbers).
 */
import * as Schema from "effect/Schema"
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

/** The regions libphonenumber has numbers for: ISO 3166-1 alpha-2 codes, and AC, TA, XK, which it uses too. */
export const REGIONS: ReadonlyArray<string> = [
  "AC",
  "AD",
  "AE",
  "AF",
  "AG",
  "AI",
  "AL",
  "AM",
  "AO",
  "AR",
  "AS",
  "AT",
  "AU",
  "AW",
  "AX",
  "AZ",
  "BA",
  "BB",
  "BD",
  "BE",
  "BF",
  "BG",
  "BH",
  "BI",
  "BJ",
  "BL",
  "BM",
  "BN",
  "BO",
  "BQ",
  "BR",
  "BS",
  "BT",
  "BW",
  "BY",
  "BZ",
  "CA",
  "CC",
  "CD",
  "CF",
  "CG",
  "CH",
  "CI",
  "CK",
  "CL",
  "CM",
  "CN",
  "CO",
  "CR",
  "CU",
  "CV",
  "CW",
  "CX",
  "CY",
  "CZ",
  "DE",
  "DJ",
  "DK",
  "DM",
  "DO",
  "DZ",
  "EC",
  "EE",
  "EG",
  "EH",
  "ER",
  "ES",
  "ET",
  "FI",
  "FJ",
  "FK",
  "FM",
  "FO",
  "FR",
  "GA",
  "GB",
  "GD",
  "GE",
  "GF",
  "GG",
  "GH",
  "GI",
  "GL",
  "GM",
  "GN",
  "GP",
  "GQ",
  "GR",
  "GT",
  "GU",
  "GW",
  "GY",
  "HK",
  "HN",
  "HR",
  "HT",
  "HU",
  "ID",
  "IE",
  "IL",
  "IM",
  "IN",
  "IO",
  "IQ",
  "IR",
  "IS",
  "IT",
  "JE",
  "JM",
  "JO",
  "JP",
  "KE",
  "KG",
  "KH",
  "KI",
  "KM",
  "KN",
  "KP",
  "KR",
  "KW",
  "KY",
  "KZ",
  "LA",
  "LB",
  "LC",
  "LI",
  "LK",
  "LR",
  "LS",
  "LT",
  "LU",
  "LV",
  "LY",
  "MA",
  "MC",
  "MD",
  "ME",
  "MF",
  "MG",
  "MH",
  "MK",
  "ML",
  "MM",
  "MN",
  "MO",
  "MP",
  "MQ",
  "MR",
  "MS",
  "MT",
  "MU",
  "MV",
  "MW",
  "MX",
  "MY",
  "MZ",
  "NA",
  "NC",
  "NE",
  "NF",
  "NG",
  "NI",
  "NL",
  "NO",
  "NP",
  "NR",
  "NU",
  "NZ",
  "OM",
  "PA",
  "PE",
  "PF",
  "PG",
  "PH",
  "PK",
  "PL",
  "PM",
  "PR",
  "PS",
  "PT",
  "PW",
  "PY",
  "QA",
  "RE",
  "RO",
  "RS",
  "RU",
  "RW",
  "SA",
  "SB",
  "SC",
  "SD",
  "SE",
  "SG",
  "SH",
  "SI",
  "SJ",
  "SK",
  "SL",
  "SM",
  "SN",
  "SO",
  "SR",
  "SS",
  "ST",
  "SV",
  "SX",
  "SY",
  "SZ",
  "TA",
  "TC",
  "TD",
  "TG",
  "TH",
  "TJ",
  "TK",
  "TL",
  "TM",
  "TN",
  "TO",
  "TR",
  "TT",
  "TV",
  "TW",
  "TZ",
  "UA",
  "UG",
  "US",
  "UY",
  "UZ",
  "VA",
  "VC",
  "VE",
  "VG",
  "VI",
  "VN",
  "VU",
  "WF",
  "WS",
  "XK",
  "YE",
  "YT",
  "ZA",
  "ZM",
  "ZW"
]
const KNOWN_REGIONS: ReadonlySet<string> = new Set(REGIONS)

export const RegionCode = Schema.String.pipe(
  Schema.filter((code) => KNOWN_REGIONS.has(code) || "an ISO 3166-1 alpha-2 region with phone numbers, in capitals"),
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
