import { describe, expect, it } from "vitest"
import { makeSqliteFixture } from "./support/sqlite-fixture.js"

describe("smoke", () => {
  it("creates and updates", async () => {
    const f = await makeSqliteFixture()
    const token = await f.serviceToken()
    const headers = { authorization: `Bearer ${token}`, "x-api-key": f.tenant.apiKey, "content-type": "application/json" }
    let res = await f.fetch(new Request("http://x/users", { method: "POST", headers, body: JSON.stringify({ id: "u1" }) }))
    console.log(res.status, await res.text())
    res = await f.fetch(new Request("http://x/users/u1/UpdatePhoneNumber", { method: "POST", headers, body: JSON.stringify({ phoneNumber: "+1 415 555 2671" }) }))
    console.log(res.status, [...res.headers], await res.text())
    res = await f.fetch(new Request("http://x/users/u1/UpdatePhoneNumber", { method: "POST", headers, body: "{bad" }))
    console.log(res.status, [...res.headers], await res.text())
    res = await f.fetch(new Request("http://x/users/u1/events", { headers }))
    console.log(res.status, await res.text())
    res = await f.fetch(new Request("http://x/openapi.json"))
    console.log(res.status, (await res.text()).slice(0, 3000))
    console.log(f.logs)
    expect(1).toBe(1)
    await f.dispose()
  })
})
