/**
 * The 400 invalid-body texts (src/http/decode-detail.ts) for the contract's own request schemas: one sentence naming
 * the field, the JSON type sent and the type needed, a hint from the field's description, and no value: neither a
 * submitted one nor an example.
 */
import { Either } from "effect"
import * as Schema from "effect/Schema"
import { describe, expect, it } from "vitest"
import { CreateUserBody, MarkPhoneNumberVerifiedBody, UpdatePhoneNumberBody } from "../../src/api/users/Api.js"
import { CreateWebhookBody } from "../../src/api/webhooks/Api.js"
import { describeDecodeError } from "../../src/http/decode-detail.js"

const PHONE_HINT =
  "Send phoneNumber as a string: 1 to 64 characters in international form (+ or 00, then the country code); " +
  "stored as E.164. JSON null removes the number."

// As src/http/body.ts decodes a body.
const describeBody = (schema: Schema.Schema<any, any>, json: unknown) => {
  const decoded = Schema.decodeUnknownEither(schema, { onExcessProperty: "error", errors: "all" })(json)
  if (Either.isRight(decoded)) throw new Error(`${JSON.stringify(json)} decodes`)
  return describeDecodeError(decoded.left)
}

describe("describeDecodeError", () => {
  it("names the field, the JSON type it got and the one it needs, with the field's description as a hint", () => {
    expect(describeBody(UpdatePhoneNumberBody, { phoneNumber: 4155550123 })).toEqual({
      detail: "phoneNumber must be a string or null, not a number.",
      hint: PHONE_HINT
    })
    expect(describeBody(UpdatePhoneNumberBody, { phoneNumber: ["+14155550123"] }).detail).toBe(
      "phoneNumber must be a string or null, not an array."
    )
    expect(describeBody(MarkPhoneNumberVerifiedBody, { phoneNumber: null }).detail).toBe(
      "phoneNumber must be a string, not null."
    )
    expect(describeBody(CreateUserBody, { id: 42 })).toEqual({
      detail: "id must be a string, not a number.",
      hint: "Send id as a string: 1 to 64 characters of A-Z, a-z, 0-9, _ and -."
    })
  })

  it("says what a value of the right type breaks, with the field's own description", () => {
    expect(describeBody(UpdatePhoneNumberBody, { phoneNumber: "" })).toMatchObject({
      detail: "phoneNumber must be at least 1 character long.",
      hint: expect.stringMatching(/^phoneNumber: 1 to 64 characters in international form/)
    })
    expect(describeBody(UpdatePhoneNumberBody, { phoneNumber: "+1".padEnd(65, "5") }).detail).toBe(
      "phoneNumber must be at most 64 characters long."
    )
    expect(describeBody(CreateWebhookBody, { url: "https://hooks.example.com", eventTypes: [] }).detail).toBe(
      "eventTypes must have at least 1 item."
    )
    expect(describeBody(CreateWebhookBody, { url: "https://hooks.example.com", eventTypes: ["UserDeleted"] }).detail)
      .toMatch(/^eventTypes\.0 must be one of "UserCreated", /)
  })

  it("names a missing field, the body's own type, and an unknown field only when its name is a plain word", () => {
    expect(describeBody(UpdatePhoneNumberBody, {})).toEqual({ detail: "phoneNumber is required.", hint: PHONE_HINT })
    expect(describeBody(UpdatePhoneNumberBody, []).detail).toBe("The body must be an object, not an array.")
    expect(describeBody(UpdatePhoneNumberBody, { phoneNumber: null, phonenumber: null }).detail).toBe(
      "phonenumber is not an accepted field."
    )
    const unknown = describeBody(UpdatePhoneNumberBody, { phoneNumber: null, "+14155550123": null })
    expect(unknown.detail).toBe("A field is not accepted.")
    expect(JSON.stringify(unknown)).not.toContain("4155550123")
  })

  it("puts every finding in one sentence, and holds no phone number, sent or example", () => {
    const both = describeBody(CreateUserBody, { id: 7, phoneNumber: 4155550123 })
    expect(both.detail).toBe("id must be a string, not a number; phoneNumber must be a string or null, not a number.")
    for (
      const json of [{ phoneNumber: 4155550123 }, { phoneNumber: "4155550123".repeat(7) }, {
        phoneNumber: [4155550123]
      }]
    ) {
      const text = JSON.stringify(describeBody(UpdatePhoneNumberBody, json))
      expect(text).not.toContain("4155550123")
      expect(text).not.toMatch(/\d{4}/)
    }
  })
})
