import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { type E164, maskPhoneNumber, parsePhoneNumber } from "../../src/domain/phone.js"

const valid: ReadonlyArray<readonly [string, string, string]> = [
  // input, E.164, what it is
  ["+14155552671", "+14155552671", "US, E.164 as is"],
  ["+1 (415) 555-2671", "+14155552671", "US, parentheses and dash"],
  ["+1.415.555.2671", "+14155552671", "US, dots"],
  ["  +14155552671  ", "+14155552671", "surrounding spaces"],
  ["+44 20 7946 0958", "+442079460958", "UK, London"],
  ["0044 20 7946 0958", "+442079460958", "UK with the 00 prefix"],
  ["+49 30 901820", "+4930901820", "Germany, Berlin (short number)"],
  ["+33 1 42 68 53 00", "+33142685300", "France"],
  ["+81 3-3224-5000", "+81332245000", "Japan"],
  ["+91 98765 43210", "+919876543210", "India, mobile"],
  ["+61 2 9374 4000", "+61293744000", "Australia"],
  ["+55 11 91234-5678", "+5511912345678", "Brazil, mobile"],
  ["+86 10 6552 9988", "+861065529988", "China"],
  ["+234 803 123 4567", "+2348031234567", "Nigeria, mobile"]
]

const invalid: ReadonlyArray<readonly [string, string, string]> = [
  ["+1 415 555 267", "invalid", "one digit short"],
  ["+44 20 7946 09580", "invalid", "one digit long"],
  ["+999 123 456", "invalid", "unassigned country code"],
  ["4155552671", "not-international", "national form without country code"],
  ["+1-800-FLOWERS", "not-international", "letters"],
  ["+1 415 555 2671 ext 3", "not-international", "an extension"],
  ["abc", "not-international", "letters only"],
  ["   ", "not-international", "whitespace only"],
  ["+", "not-international", "a lone plus"],
  ["++14155552671", "not-international", "two pluses"],
  ["null", "not-a-number", "the string null"],
  ["NULL", "not-a-number", "the string NULL"]
]

describe("parsing a phone number", () => {
  it.each(valid)("accepts %j and stores it as %s (%s)", (input, e164) => {
    expect(parsePhoneNumber(input)).toEqual(Either.right(e164))
  })

  it.each(invalid)("rejects %j as %s (%s)", (input, reason) => {
    const result = parsePhoneNumber(input)
    expect(Either.isLeft(result) && result.left.reason).toBe(reason)
  })

  it("hints that JSON null, not the string, removes the number", () => {
    const result = parsePhoneNumber("null")
    expect(Either.isLeft(result) && result.left.hint).toMatch(/JSON null/)
  })

  it("never puts the input in its error", () => {
    for (const [input] of invalid) {
      const result = parsePhoneNumber(input)
      const digits = input.replace(/\D/g, "")
      if (Either.isLeft(result) && digits.length >= 4) expect(JSON.stringify(result.left)).not.toContain(digits)
    }
  })
})

describe("masking a phone number", () => {
  it("keeps only the last four digits behind four stars", () => {
    expect(maskPhoneNumber("+14155552671" as E164)).toBe("****2671")
  })

  it("gives the same length whatever the number's length or country", () => {
    const masked = valid.map(([, e164]) => maskPhoneNumber(e164 as E164))
    for (const m of masked) expect(m).toMatch(/^\*{4}\d{4}$/)
  })

  it("is null when there is no number", () => {
    expect(maskPhoneNumber(null)).toBeNull()
  })
})
