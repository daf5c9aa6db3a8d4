// A number to look up, in any form libphonenumber reads without a default region: "+1 (415) 555-0123",
// "0033 6 12 34 56 78", "tel:+1-415-555-0123". The hint names the entry's place, never its text.
import { Either } from "effect"
import { parsePhoneNumberFromString } from "libphonenumber-js/max"
import { InvalidPhoneNumber } from "./errors.js"
import type { E164 } from "./phone.js"

// Longer is no phone number; the contract bounds entries to 64 characters before this runs.
const MAX_LENGTH = 64

export const parseLookupNumber = (input: string, index: number): Either.Either<E164, InvalidPhoneNumber> => {
  const trimmed = input.trim()
  const text = trimmed.startsWith("00") ? `+${trimmed.slice(2)}` : trimmed
  const parsed = text.length > MAX_LENGTH ? undefined : parsePhoneNumberFromString(text)
  return parsed !== undefined && parsed.isValid()
    ? Either.right(parsed.number as E164)
    : Either.left(
      new InvalidPhoneNumber({
        reason: parsed === undefined ? "not-international" : "invalid",
        hint: `phoneNumbers[${index}] is not a valid phone number in international form (a leading + or 00, then ` +
          "the country code); nothing was looked up."
      })
    )
}
