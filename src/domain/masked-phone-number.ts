// Apart from phone.ts so that decoding events does not load libphonenumber-js's full metadata.
import * as Schema from "effect/Schema"

export const MaskedPhoneNumber = Schema.String.pipe(
  Schema.pattern(/^\*{4}\d{4}$/),
  Schema.brand("MaskedPhoneNumber"),
  Schema.annotations({ examples: ["****2671" as never] })
)
export type MaskedPhoneNumber = typeof MaskedPhoneNumber.Type
