/**
 * Issue 9: a caller-chosen X-Request-Id (e.g. `tel:14155552671`) was copied into the append-only event metadata,
 * where it survived erasure. Events now carry only the server's own request id (a UUID v7 minted for every request);
 * the caller's stays in the answer's header, in problems and in the log line, which also names the server's id so
 * that an event can be matched to its request.
 * Through the real fetch handler over a real SQLite file.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { call, expectProblem } from "../support/client.js"
import { makeSqliteFixture, type SqliteFixture } from "../support/sqlite-fixture.js"

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
// Sane by the charset (A-Z a-z 0-9 . _ : -), so it is kept, and it is a phone number.
const CALLERS_ID = "tel:14155552671"

let f: SqliteFixture
let service: string

const logOf = (requestId: string) => {
  const lines = f.logs.filter((line) => line.requestId === requestId)
  expect(lines).toHaveLength(1)
  return lines[0]!
}

beforeAll(async () => {
  f = await makeSqliteFixture()
  service = await f.serviceToken("users:read users:write users:erase")
})
afterAll(() => f.dispose())

describe("the request id in events", () => {
  it("is never the caller's X-Request-Id, but the server's own, which the log line names", async () => {
    const headers = { "x-request-id": CALLERS_ID }
    const created = await call(f.fetch, "POST", "/users", {
      token: service,
      apiKey: f.tenant.apiKey,
      body: { id: "traced" },
      headers
    })
    expect(created.status).toBe(201)
    const updated = await call(f.fetch, "POST", "/users/traced/UpdatePhoneNumber", {
      token: service,
      apiKey: f.tenant.apiKey,
      body: { phoneNumber: "+14155552671" },
      headers: { "x-request-id": "caller-trace-2" }
    })
    expect(updated.status).toBe(200)

    for (const [answer, callers] of [[created, CALLERS_ID], [updated, "caller-trace-2"]] as const) {
      // The caller keeps its id on the answer and in the log line.
      expect(answer.headers.get("x-request-id")).toBe(callers)
      const line = logOf(callers)
      const eventRequestId = answer.body.event.metadata.requestId
      expect(eventRequestId).not.toBe(callers)
      expect(eventRequestId).toMatch(UUID_V7)
      expect(line.serverRequestId).toBe(eventRequestId)
    }

    const stored = f.query<{ metadata: string }>(
      "SELECT metadata FROM events WHERE organization_id = ? AND aggregate_id = 'traced' ORDER BY version",
      f.tenant.organizationId
    )
    expect(stored).toHaveLength(2)
    for (const row of stored) {
      expect(row.metadata).not.toContain(CALLERS_ID)
      expect(row.metadata).not.toContain("caller-trace")
      expect(JSON.parse(row.metadata).requestId).toMatch(UUID_V7)
    }
  })

  it("stays the server's when no id is offered: then the header, the log line and the event agree", async () => {
    const answer = await call(f.fetch, "POST", "/users/traced/UpdatePhoneNumber", {
      token: service,
      apiKey: f.tenant.apiKey,
      body: { phoneNumber: "+14155552672" }
    })
    const requestId = answer.headers.get("x-request-id")!
    expect(requestId).toMatch(UUID_V7)
    expect(answer.body.event.metadata.requestId).toBe(requestId)
    expect(logOf(requestId).serverRequestId).toBe(requestId)
  })

  it("keeps the caller's id in problems (body equals header) and gives every log line a server id", async () => {
    const problem = await call(f.fetch, "POST", "/users/traced/UpdatePhoneNumber", {
      token: service,
      apiKey: f.tenant.apiKey,
      body: { phoneNumber: "not a number" },
      headers: { "x-request-id": "caller-problem" }
    })
    expectProblem(problem, 422, "invalid-phone-number")
    expect(problem.body.requestId).toBe("caller-problem")
    const line = logOf("caller-problem")
    expect(line.serverRequestId).toMatch(UUID_V7)
    for (const each of f.logs) expect(each.serverRequestId).toMatch(UUID_V7)
  })
})
