import { Either } from "effect"
import { parsePhoneNumberFromString } from "libphonenumber-js/max"
import { InvalidPhoneNumber } from "./errors.js"
import type { MaskedPhoneNumber } from "./masked-phone-number.js"

export type E164 = string & { readonly E164: unique symbol }

export { MaskedPhoneNumber } from "./masked-phone-number.js"

// International form only: `+` or `00` first.
const INTERNATIONAL = /^(\+|00)[0-9][0-9 .\-()]*$/

export const parsePhoneNumber = (input: string): Either.Either<E164, InvalidPhoneNumber> => {
  const trimmed = input.trim()
  if (trimmed.toLowerCase() === "null") {
    return Either.left(
      new InvalidPhoneNumber({
        reason: "not-a-number",
        hint: 'To remove the phone number, send JSON null (not the string "null").'
      })
    )
  }
  if (!INTERNATIONAL.test(trimmed)) {
    return Either.left(
      new InvalidPhoneNumber({
        reason: "not-international",
        hint: "Use the international form: a leading + or 00, then the country code and the number."
      })
    )
  }
  const candidate = trimmed.startsWith("00") ? `+${trimmed.slice(2)}` : trimmed
  const parsed = parsePhoneNumberFromString(candidate)
  if (parsed === undefined || !parsed.isValid()) {
    return Either.left(
      new InvalidPhoneNumber({ reason: "invalid", hint: "The number is not a valid phone number for its country." })
    )
  }
  return Either.right(parsed.number as E164)
}

export const maskPhoneNumber = (phoneNumber: E164 | null): MaskedPhoneNumber | null =>
  phoneNumber === null ? null : (`****${phoneNumber.replace(/\D/g, "").slice(-4)}` as MaskedPhoneNumber)
