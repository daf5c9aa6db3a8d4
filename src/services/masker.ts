/**
 * Masker: the one form a phone number may take outside the users row.
 */
import { Context, Layer } from "effect"
import { maskPhoneNumber } from "../domain/phone.js"
import type { Mask } from "../domain/user.js"

export class Masker extends Context.Tag("users-api/Masker")<Masker, { readonly mask: Mask }>() {}

/** `****` and the last four digits, whatever the number's length, so neither length nor country leaks. */
export const MaskerLast4 = Layer.succeed(Masker, { mask: maskPhoneNumber })
