/** Whether a number is one the organization's policy accepts: pure, by libphonenumber's region and type. */
import { Either } from "effect"
import { parsePhoneNumberFromString } from "libphonenumber-js/max"
import { PhoneNumberNotAllowed, type PhonePolicy } from "./phone-policy-schema.js"
import type { E164 } from "./phone.js"

export * from "./phone-policy-schema.js"

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
