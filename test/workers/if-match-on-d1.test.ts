/**
 * Optimistic concurrency with If-Match over D1: a stale version is a 412 and nothing is written.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { type ApiClient, eventRows, makeD1Api, userRow } from "./support/d1-fixture.js"

let api: ApiClient

beforeAll(async () => {
  api = await makeD1Api()
})
afterAll(() => api.handler.dispose())

describe("If-Match on D1", () => {
  it("writes when If-Match names the current version", async () => {
    await api.createUser("u_match")
    const response = await api.updatePhoneNumber("u_match", "+14155552671", { headers: { "if-match": '"1"' } })
    expect(response.status).toBe(200)
    expect(response.headers.get("etag")).toBe('"2"')
    expect(await userRow(api.tenant.organizationId, "u_match")).toEqual({ phone_number: "+14155552671", version: 2 })
  })

  it("answers 412 to a stale If-Match and leaves the row and the events as they were", async () => {
    await api.createUser("u_stale")
    expect((await api.updatePhoneNumber("u_stale", "+14155552671")).status).toBe(200)
    const before = await eventRows(api.tenant.organizationId, "u_stale")

    const response = await api.updatePhoneNumber("u_stale", "+442079460958", { headers: { "if-match": '"1"' } })
    const problem = await response.json() as Record<string, unknown>

    expect(response.status).toBe(412)
    expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/)
    expect(problem).toMatchObject({ status: 412, code: "version-mismatch", success: false })
    expect(await userRow(api.tenant.organizationId, "u_stale")).toEqual({ phone_number: "+14155552671", version: 2 })
    expect(await eventRows(api.tenant.organizationId, "u_stale")).toEqual(before)
    expect(before.map((e) => e.version)).toEqual([1, 2])
  })
})
