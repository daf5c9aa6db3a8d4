/**
 * The key under which users are found by number: `<key id>:<HMAC-SHA-256 of the E.164 number>`, written beside the
 * number in the users row. The key id tells rows keyed under another key apart, so they are keyed again.
 * A Reference: without a key (no layer set) nothing is keyed and lookup by number is unavailable.
 */
import { Context } from "effect"
import type { E164 } from "../domain/phone.js"

export interface NumberKeying {
  /** `<keyId>:`, the prefix of every key this keying makes. */
  readonly prefix: string
  readonly keyOf: (phoneNumber: E164) => string
}

export class PhoneNumberKeys extends Context.Reference<PhoneNumberKeys>()("users-api/PhoneNumberKeys", {
  defaultValue: (): { readonly keying: NumberKeying | undefined } => ({ keying: undefined })
}) {}
