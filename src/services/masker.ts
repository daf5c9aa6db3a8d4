/**
 * Masker: the only forms a phone number may take outside the users row: the last-4 mask, and optionally a keyed
 * fingerprint (HMAC-SHA-256 with a secret key), so that someone holding the key can match two events about the same
 * number while a leaked log cannot be reversed by enumerating numbers. Implementations: src/layers/masker.ts.
 */
import { Context } from "effect"
import type { FingerprintOf, Mask } from "../domain/user.js"

export class Masker extends Context.Tag("users-api/Masker")<Masker, {
  readonly mask: Mask
  /** `hmac-sha256:<base64url>` of the E.164 number, or undefined when no fingerprint key is configured. */
  readonly fingerprint: FingerprintOf
}>() {}
