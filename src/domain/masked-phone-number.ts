/**
 * The masked form of a phone number, on its own so that what only decodes events (src/domain/events.ts, the typed
 * client) does not load libphonenumber-js and its full metadata, which only parsing (phone.ts) needs.
 */
import * as Schema from "effect/Schema"

/** `****` and the last four digits: the only form a number takes outside the users row. */
export const MaskedPhoneNumber = Schema.String.pipe(
  Schema.pattern(/^\*{4}\d{4}$/),
  Schema.brand("MaskedPhoneNumber"),
  Schema.annotations({ examples: ["****2671" as never] })
)
export type MaskedPhoneNumber = typeof MaskedPhoneNumber.Type
