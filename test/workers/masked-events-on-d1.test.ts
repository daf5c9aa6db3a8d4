/**
 * PII on D1: the raw number lives only in the users row; the events table holds the masked form alone.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { type ApiClient, makeD1Api, rows, userRow } from "./support/d1-fixture.js"

let api: ApiClient

beforeAll(async () => {
  api = await makeD1Api()
})
afterAll(() => api.handler.dispose())

// Each number as sent, its E.164 form, and its digits alone (with and without the country code).
const NUMBERS = [
  { sent: "+1 (415) 555-2671", e164: "+14155552671", digits: ["14155552671", "4155552671"] },
  { sent: "0044 20 7946 0958", e164: "+442079460958", digits: ["442079460958", "2079460958"] },
  { sent: "+49.151.2345.6789", e164: "+4915123456789", digits: ["4915123456789", "15123456789"] }
]

describe("the events table on D1", () => {
  it("holds no raw number, in E.164 or as bare digits, after a create, updates and a removal", async () => {
    const [first, second, third] = NUMBERS
    expect((await api.createUser("u_pii", first!.sent)).status).toBe(201)
    expect((await api.updatePhoneNumber("u_pii", second!.sent)).status).toBe(200)
    expect((await api.updatePhoneNumber("u_pii", third!.sent, { token: await api.userToken("u_pii") })).status).toBe(
      200
    )
    // The row holds the raw number, so the check below looks where the number would be if it leaked.
    expect(await userRow(api.tenant.organizationId, "u_pii")).toEqual({ phone_number: third!.e164, version: 3 })
    expect((await api.updatePhoneNumber("u_pii", null)).status).toBe(200)

    const events = await rows<Record<string, unknown>>(
      "SELECT * FROM events WHERE organization_id = ? AND aggregate_id = ? ORDER BY version",
      api.tenant.organizationId,
      "u_pii"
    )
    expect(events).toHaveLength(4)
    const stored = JSON.stringify(events)
    for (const number of NUMBERS) {
      expect(stored).not.toContain(number.e164)
      for (const digits of number.digits) expect(stored).not.toContain(digits)
    }
    expect(events.map((e) => JSON.parse(String(e.data)))).toEqual([
      { maskedPhoneNumber: "****2671" },
      { maskedPhoneNumber: "****0958", previousMaskedPhoneNumber: "****2671", phoneNumberVerified: false },
      { maskedPhoneNumber: "****6789", previousMaskedPhoneNumber: "****0958", phoneNumberVerified: false },
      { maskedPhoneNumber: null, previousMaskedPhoneNumber: "****6789", phoneNumberVerified: false }
    ])
  })
})
