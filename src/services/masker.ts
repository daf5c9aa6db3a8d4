import { Context } from "effect"
import type { FingerprintOf, Mask } from "../domain/user.js"

export class Masker extends Context.Tag("users-api/Masker")<Masker, {
  readonly mask: Mask
  readonly fingerprint: FingerprintOf
}>() {}
