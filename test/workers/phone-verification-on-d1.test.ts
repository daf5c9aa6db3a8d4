/**
 * The verified change on D1, inside workerd: the races of test/support/phone-races.ts over the Worker's handler
 * (each write one D1 batch), and a confirm releasing a recycled number written as one batch: the holder's row and
 * event, the user's row and event, the pending change deleted, or none of it.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { env } from "cloudflare:test"
import { signServiceToken } from "../../src/dev/signing.js"
import { type FetchHandler, makeFetchHandler } from "../../src/fetch-handler.js"
import { D1Services } from "../../src/layers/d1.js"
import * as races from "../support/phone-races.js"
import { BASE_URL, handlerOptions, jwtConfig, rows, seedTenant, testKey } from "./support/d1-fixture.js"

const SCOPES = "users:read users:write users:erase users:pii:read phone:code:return"

let handler: FetchHandler

const clientFor = async (): Promise<races.RaceClient & { organizationId: string }> => {
  const tenant = await seedTenant()
  const token = await signServiceToken(testKey, "svc_phone", tenant.organizationId, SCOPES)
  return {
    organizationId: tenant.organizationId,
    send: async (method, path, body) => {
      const response = await handler.fetch(
        new Request(`${BASE_URL}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            "x-api-key": tenant.apiKey,
            ...(body === undefined ? {} : { "content-type": "application/json" })
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) })
        })
      )
      const text = await response.text()
      return { status: response.status, body: text === "" ? undefined : JSON.parse(text) }
    }
  }
}

beforeAll(() => {
  handler = makeFetchHandler(D1Services(env.DB, jwtConfig), handlerOptions)
})
afterAll(() => handler.dispose())

describe("the verified change on D1", () => {
  it("confirms a recycled number in one batch: holder released, user changed, pending change gone", async () => {
    const client = await clientFor()
    expect((await client.send("POST", "/users", { id: "holder", phoneNumber: "+14155552671" })).status).toBe(201)
    expect((await client.send("POST", "/users", { id: "u1", phoneNumber: null })).status).toBe(201)
    const requested = await client.send("POST", "/users/u1/UpdatePhoneNumber", {
      phoneNumber: "+14155552671",
      verification: "return-code"
    })
    expect(requested.status).toBe(202)
    const pending = await rows<{ code_hash: string }>(
      "SELECT code_hash FROM pending_phone_changes WHERE organization_id = ?",
      client.organizationId
    )
    expect(pending).toHaveLength(1)
    expect(pending[0]!.code_hash).not.toContain(requested.body.verificationCode)
    const confirmed = await client.send("POST", "/users/u1/ConfirmPhoneNumberChange", {
      code: requested.body.verificationCode
    })
    expect(confirmed.status).toBe(200)
    expect(
      await rows(
        "SELECT id, phone_number, phone_number_verified, version FROM users WHERE organization_id = ? " +
          "ORDER BY id",
        client.organizationId
      )
    ).toEqual([
      { id: "holder", phone_number: null, phone_number_verified: 0, version: 2 },
      { id: "u1", phone_number: "+14155552671", phone_number_verified: 1, version: 3 }
    ])
    const events = await rows<{ aggregate_id: string; type: string; version: number }>(
      "SELECT aggregate_id, type, version FROM events WHERE organization_id = ? ORDER BY organization_sequence",
      client.organizationId
    )
    expect(events.slice(-2)).toEqual([
      { aggregate_id: "holder", type: "UserPhoneNumberReleased", version: 2 },
      { aggregate_id: "u1", type: "UserPhoneNumberUpdated", version: 3 }
    ])
    expect(await rows("SELECT * FROM pending_phone_changes WHERE organization_id = ?", client.organizationId))
      .toEqual([])
  })

  it("five confirms of one code at once: exactly one applies it", async () =>
    races.twoConfirmsRace(await clientFor(), "u1"))
  it("a confirm racing a new request", async () => races.confirmRacesNewRequest(await clientFor(), "u1"))
  it("a confirm racing an erasure", async () => races.confirmRacesErasure(await clientFor(), "u1"))
  it("ten wrong codes at once: at most five compared", async () => races.concurrentGuesses(await clientFor(), "u1"))
  it("a release racing the holder's own change", async () => races.releaseRacesHolder(await clientFor(), "u1"))
})
