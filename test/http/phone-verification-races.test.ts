/** The verified change's races on a real SQLite file (test/support/phone-races.ts; the same run on D1 in workerd). */
import { afterAll, beforeAll, beforeEach, describe, it } from "vitest"
import { call } from "../support/client.js"
import * as races from "../support/phone-races.js"
import { makeSqliteFixture, type SqliteFixture } from "../support/sqlite-fixture.js"

let f: SqliteFixture
let client: races.RaceClient

beforeAll(async () => {
  f = await makeSqliteFixture()
})
afterAll(() => f.dispose())
beforeEach(async () => {
  const tenant = await f.newTenant()
  const token = await f.serviceToken(
    "users:read users:write users:erase users:pii:read phone:code:return",
    tenant.organizationId
  )
  client = {
    send: async (method, path, body) => {
      const answer = await call(f.fetch, method, path, { token, apiKey: tenant.apiKey, body })
      return { status: answer.status, body: answer.body }
    }
  }
})

describe("races of the verified change on SQLite", () => {
  it("five confirms of one code at once: exactly one applies it", () => races.twoConfirmsRace(client, "u1"))
  it("a confirm racing a new request: one order wins, versions contiguous", () =>
    races.confirmRacesNewRequest(client, "u1"))
  it("a confirm racing an erasure: the erasure stands, nothing half-written", () =>
    races.confirmRacesErasure(client, "u1"))
  it("ten wrong codes at once: at most five compared, then the change is gone", () =>
    races.concurrentGuesses(client, "u1"))
  it("a release racing the holder's own change: both chains contiguous", () => races.releaseRacesHolder(client, "u1"))
})
