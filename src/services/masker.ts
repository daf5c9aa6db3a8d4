/**
 * Masker: the only forms a phone number may take outside the users row: the last-4 mask, and optionally a keyed
 * fingerprint (HMAC-SHA-256 with a secret key), so that someone holding the key can match two events about the same
 * number. Events keep only a salted commitment to it; the fingerprint and salt are kept where erasure deletes them.
 * Implementations: src/layers/masker.ts.
 */
import { Context } from "effect"
import type { FingerprintOf, Mask } from "../domain/user.js"

export class Masker extends Context.Tag("users-api/Masker")<Masker, {
  readonly mask: Mask
  /** `hmac-sha256:<base64url>` of the E.164 number, salted and committed; undefined without a fingerprint key. */
  readonly fingerprint: FingerprintOf
}>() {}
