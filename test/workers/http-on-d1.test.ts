/**
 * The fetch handler over D1Services, inside workerd: the main answers of the HTTP contract (docs/CONTRACT.md §4) on
 * real local D1.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { type ApiClient, BASE_URL, makeD1Api, userRow } from "./support/d1-fixture.js"

let api: ApiClient

beforeAll(async () => {
  api = await makeD1Api()
})
afterAll(() => api.handler.dispose())

const json = async (response: Response) => ({
  status: response.status,
  headers: response.headers,
  body: await response.json() as any
})

describe("the fetch handler over D1", () => {
  it("answers the health check without credentials", async () => {
    const answer = await json(await api.handler.fetch(new Request(`${BASE_URL}/healthz`)))
    expect(answer.status).toBe(200)
    expect(answer.body).toEqual({ status: "ok" })
  })

  it("creates a user: 201 with a UserCreated event at version 1 whose number is masked", async () => {
    const answer = await json(await api.createUser("u_create", "+1 415 555 2671"))
    expect(answer.status).toBe(201)
    expect(answer.headers.get("etag")).toBe('"1"')
    expect(answer.body).toMatchObject({
      success: true,
      aggregateId: "u_create",
      version: 1,
      event: { type: "UserCreated", version: 1, data: { maskedPhoneNumber: "****2671" } }
    })
    expect(await userRow(api.tenant.organizationId, "u_create")).toEqual({ phone_number: "+14155552671", version: 1 })
  })

  it("updates the number for the user itself: 200, a masked event and the ETag of the new version", async () => {
    await api.createUser("u_update")
    const answer = await json(
      await api.updatePhoneNumber("u_update", "+44 20 7946 0958", { token: await api.userToken("u_update") })
    )
    expect(answer.status).toBe(200)
    expect(answer.headers.get("etag")).toBe('"2"')
    expect(answer.headers.get("x-request-id")).toBe(answer.body.event.metadata.requestId)
    expect(answer.body).toMatchObject({
      success: true,
      aggregateId: "u_update",
      version: 2,
      event: {
        type: "UserPhoneNumberUpdated",
        aggregateType: "User",
        aggregateId: "u_update",
        version: 2,
        data: { maskedPhoneNumber: "****0958", previousMaskedPhoneNumber: null },
        metadata: { organizationId: api.tenant.organizationId, actor: { type: "user", id: "u_update" } }
      }
    })
    expect(await userRow(api.tenant.organizationId, "u_update")).toEqual({ phone_number: "+442079460958", version: 2 })
  })

  it("answers event null and writes nothing when the same number comes again in another format", async () => {
    await api.createUser("u_same", "+14155552671")
    const answer = await json(await api.updatePhoneNumber("u_same", "001 (415) 555-2671"))
    expect(answer.status).toBe(200)
    expect(answer.body).toEqual({ success: true, aggregateId: "u_same", version: 1, event: null })
    expect(await userRow(api.tenant.organizationId, "u_same")).toEqual({ phone_number: "+14155552671", version: 1 })
  })

  it("refuses a call without an API key: 401 problem with WWW-Authenticate", async () => {
    await api.createUser("u_nokey")
    const answer = await json(await api.updatePhoneNumber("u_nokey", "+14155552671", { apiKey: null }))
    expect(answer.status).toBe(401)
    expect(answer.headers.get("content-type")).toMatch(/^application\/problem\+json/)
    expect(answer.headers.get("www-authenticate")).toMatch(/^Bearer/)
    expect(answer.body).toMatchObject({ status: 401, code: "missing-api-key", success: false })
    expect(await userRow(api.tenant.organizationId, "u_nokey")).toEqual({ phone_number: null, version: 1 })
  })

  it("refuses an invalid number: 422 problem that does not echo it, and nothing written", async () => {
    await api.createUser("u_invalid")
    const response = await api.updatePhoneNumber("u_invalid", "+1 555 0100 999")
    const text = await response.text()
    expect(response.status).toBe(422)
    expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/)
    const { requestId, ...problem } = JSON.parse(text) as Record<string, unknown>
    expect(problem).toMatchObject({ status: 422, code: "invalid-phone-number", success: false })
    // The request id is random hex and may hold "555" by chance; everything else must not echo a digit run.
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/)
    expect(JSON.stringify(problem)).not.toMatch(/555|0100/)
    expect(await userRow(api.tenant.organizationId, "u_invalid")).toEqual({ phone_number: null, version: 1 })
  })
})
