import { Either, Schema } from "effect"
import { getCountries } from "libphonenumber-js/max"
import { describe, expect, it } from "vitest"
import { checkNumberAllowed, DEFAULT_PHONE_POLICY, PhonePolicy, REGIONS } from "../../src/domain/phone-policy.js"
import type { E164 } from "../../src/domain/phone.js"

const FR_MOBILE = "+33612345678" as E164
const FR_FIXED = "+33123456789" as E164
const US = "+14155550123" as E164

const rule = (policy: PhonePolicy, phone: E164) => {
  const checked = checkNumberAllowed(policy, phone)
  return Either.isLeft(checked) ? checked.left.rule : "allowed"
}

describe("checkNumberAllowed", () => {
  it("allows every number under the default policy", () => {
    expect([FR_MOBILE, FR_FIXED, US].map((n) => rule(DEFAULT_PHONE_POLICY, n))).toEqual([
      "allowed",
      "allowed",
      "allowed"
    ])
  })

  it("names allowedRegions for a number of another region", () => {
    const policy = PhonePolicy.make({ allowedRegions: ["FR", "BE"] })
    expect(rule(policy, FR_MOBILE)).toBe("allowed")
    expect(rule(policy, US)).toBe("allowed-regions")
  })

  it("names allowedLineTypes for a line type not listed; libphonenumber's type is matched as is", () => {
    const policy = PhonePolicy.make({ allowedLineTypes: ["MOBILE"] })
    expect(rule(policy, FR_MOBILE)).toBe("allowed")
    expect(rule(policy, FR_FIXED)).toBe("allowed-line-types")
    // US numbers are FIXED_LINE_OR_MOBILE: only a policy naming that type takes them.
    expect(rule(policy, US)).toBe("allowed-line-types")
    expect(rule(PhonePolicy.make({ allowedLineTypes: ["MOBILE", "FIXED_LINE_OR_MOBILE"] }), US)).toBe("allowed")
  })

  it("the error's problem names the rule and never the number", () => {
    const checked = checkNumberAllowed(PhonePolicy.make({ allowedRegions: ["FR"] }), US)
    expect(Either.isLeft(checked) && JSON.stringify(checked.left)).not.toContain("4155550123")
  })
})

describe("PhonePolicy", () => {
  const decode = Schema.decodeUnknownEither(PhonePolicy)
  it("fills absent fields with the defaults", () => {
    expect(decode({})).toEqual(Either.right(DEFAULT_PHONE_POLICY))
    expect(Either.getOrThrow(decode({ codeLimits: { perUserPerDay: 3 } })).codeLimits).toEqual({
      perNumberPerHour: 5,
      perUserPerDay: 3,
      perOrganizationPerDay: 10_000
    })
  })

  it.each([
    ["a lower-case region", { allowedRegions: ["fr"] }],
    ["an unknown region", { allowedRegions: ["ZZ"] }],
    ["an alpha-3 region", { allowedRegions: ["FRA"] }],
    ["no region at all", { allowedRegions: [] }],
    ["an unknown line type", { allowedLineTypes: ["SATELLITE"] }],
    ["a zero limit", { codeLimits: { perNumberPerHour: 0 } }],
    ["a limit over its range", { codeLimits: { perNumberPerHour: 101 } }],
    ["a fractional limit", { codeLimits: { perUserPerDay: 2.5 } }],
    ["an unknown selfService", { selfService: "auto" }],
    ["an unknown onVerifiedConflict", { onVerifiedConflict: "steal" }]
  ])("refuses %s", (_, input) => {
    expect(Either.isLeft(decode(input))).toBe(true)
  })
})

describe("REGIONS", () => {
  it("is libphonenumber's list of regions, kept apart so the client need not load libphonenumber", () => {
    expect(REGIONS).toEqual([...getCountries()].sort())
  })
})
