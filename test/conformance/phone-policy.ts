/**
 * The phones routes on every runtime: the organization's phone policy read and replaced (defaults, field rules,
 * scopes), lookup by number (any format, erased users never match, one organization only, a bad entry refuses the
 * whole request) and the record of lookups, with no raw number in any answer or in the server's output.
 */
import { describe, expect, it } from "vitest"
import { expectProblem } from "../support/client.js"
import type { Target } from "./runtimes.js"
import type { Answer, Observations } from "./suite.js"

const DEFAULTS = {
  selfService: "direct",
  allowedRegions: null,
  allowedLineTypes: null,
  codeLimits: { perNumberPerHour: 5, perUserPerDay: 10, perOrganizationPerDay: 10_000 },
  onVerifiedConflict: "reject"
}

export const phonePolicyConformance = (t: () => Target, observations: Observations) => {
  const run = Date.now().toString(36)
  // Lines 9000 and up of a random exchange: apart from the suite's own numbers.
  const exchange = 200 + Math.floor(Math.random() * 700)
  let line = 9_000 + Math.floor(Math.random() * 500)
  const numbers: Array<string> = []
  const nextNumber = () => {
    const number = `+1415${exchange === 555 ? 556 : exchange}${String(++line)}`
    numbers.push(number)
    return number
  }

  const send = async (
    method: string,
    path: string,
    options: { readonly token: string; readonly apiKey?: string; readonly json?: unknown }
  ): Promise<Answer> => {
    const response = await fetch(`${t().baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${options.token}`,
        "x-api-key": options.apiKey ?? t().apiKey,
        ...(options.json === undefined ? {} : { "content-type": "application/json" })
      },
      ...(options.json === undefined ? {} : { body: JSON.stringify(options.json) }),
      signal: AbortSignal.timeout(20_000)
    })
    const text = await response.text()
    const body = text === "" ? undefined : JSON.parse(text)
    const name = (expect.getState().currentTestName ?? "?").split(" > ").slice(1).join(" > ")
    const code = typeof body?.code === "string" ? ` ${body.code}` : ""
    observations.set(name, [...(observations.get(name) ?? []), `${response.status}${code}`])
    return { status: response.status, headers: response.headers, body, text }
  }
  const token = (scope: string) => t().signServiceToken(t().organizationId, scope)
  const policyPath = () => `/organizations/${t().organizationId}/phone-policy`

  describe("phone policy and lookup by number", () => {
    it("replaces the policy with policy:write, absent fields at their defaults, and reads it with audit:read", async () => {
      const [writer, reader] = await Promise.all([token("policy:write"), token("audit:read")])
      const policy = {
        selfService: "direct",
        allowedRegions: ["US", "CA"],
        allowedLineTypes: ["MOBILE", "FIXED_LINE_OR_MOBILE"],
        codeLimits: { perNumberPerHour: 3 }
      }
      const put = await send("PUT", policyPath(), { token: writer, json: policy })
      expect(put.status, put.text).toBe(200)
      const expected = { ...DEFAULTS, ...policy, codeLimits: { ...DEFAULTS.codeLimits, perNumberPerHour: 3 } }
      expect(put.body).toEqual({ success: true, organizationId: t().organizationId, policy: expected })
      expect((await send("GET", policyPath(), { token: reader })).body.policy).toEqual(expected)
      expect((await send("PUT", policyPath(), { token: writer, json: {} })).body.policy).toEqual(DEFAULTS)
    })

    it("refuses a bad policy with a 400 naming the field and its rule, and the wrong scope with a 403", async () => {
      const writer = await token("policy:write")
      for (
        const [json, rule] of [
          [{ allowedRegions: ["usa"] }, "allowedRegions must be null or 1 to 300 ISO 3166-1 alpha-2"],
          [{ allowedLineTypes: ["LANDLINE"] }, "allowedLineTypes must be null or a non-empty list"],
          [{ codeLimits: { perUserPerDay: 0 } }, "codeLimits.perUserPerDay must be a whole number from 1 to 1000"],
          [{ onVerifiedConflict: "steal" }, 'onVerifiedConflict must be "reject" or "release"']
        ] as const
      ) {
        const answer = await send("PUT", policyPath(), { token: writer, json })
        expectProblem(answer, 400, "invalid-body")
        expect(answer.body.detail).toContain(rule)
      }
      expectProblem(
        await send("PUT", policyPath(), { token: await token("audit:read"), json: {} }),
        403,
        "missing-scope"
      )
      expectProblem(await send("GET", policyPath(), { token: writer }), 403, "missing-scope")
      const other = `/organizations/${t().other.organizationId}/phone-policy`
      expectProblem(await send("GET", other, { token: await token("audit:read") }), 404, "organization-not-found")
    })

    it("finds the organization's users by number in any format, never an erased one, and records the lookup", async () => {
      const writer = await token("users:write users:erase")
      const [first, second, erased] = [nextNumber(), nextNumber(), nextNumber()]
      const users = [`lk_${run}_1`, `lk_${run}_2`, `lk_${run}_3`]
      for (const [i, phoneNumber] of [first, second, erased].entries()) {
        expect((await send("POST", "/users", { token: writer, json: { id: users[i], phoneNumber } })).status).toBe(201)
      }
      expect((await send("POST", `/users/${users[2]}/ErasePersonalData`, { token: writer })).status).toBe(200)
      const typed = `+1 (${first!.slice(2, 5)}) ${first!.slice(5, 8)}-${first!.slice(8)}`
      const looker = await token("users:lookup")
      const answer = await send("POST", "/users/lookup", {
        token: looker,
        json: { phoneNumbers: [typed, `00${second!.slice(1)}`, erased, nextNumber()] }
      })
      expect(answer.status, answer.text).toBe(200)
      expect(answer.body).toEqual({
        success: true,
        matches: [
          {
            phoneNumber: typed,
            userId: users[0],
            maskedPhoneNumber: `****${first!.slice(-4)}`,
            phoneNumberVerified: false
          },
          {
            phoneNumber: `00${second!.slice(1)}`,
            userId: users[1],
            maskedPhoneNumber: `****${second!.slice(-4)}`,
            phoneNumberVerified: false
          }
        ]
      })
      const otherLooker = await t().signServiceToken(t().other.organizationId, "users:lookup")
      const elsewhere = await send("POST", "/users/lookup", {
        token: otherLooker,
        apiKey: t().other.apiKey,
        json: { phoneNumbers: [first] }
      })
      expect(elsewhere.body).toEqual({ success: true, matches: [] })

      const auditor = await token("audit:read")
      let after = ""
      let last: any
      for (let page = 0; page < 100; page++) {
        const read = await send("GET", `/organizations/${t().organizationId}/phone-lookups?limit=1000${after}`, {
          token: auditor
        })
        expect(read.status, read.text).toBe(200)
        for (const number of numbers) expect(read.text).not.toContain(number.slice(2))
        last = read.body.lookups.at(-1) ?? last
        if (!read.body.hasMore) break
        after = `&after=${read.body.nextCursor}`
      }
      expect(last).toMatchObject({
        actor: { type: "service" },
        numbersCount: 4,
        matchesCount: 2,
        maskedPhoneNumbers: [first, second, erased, numbers.at(-1)].map((n) => `****${n!.slice(-4)}`)
      })
    })

    it("refuses an entry that is not a number with 422 naming its place, and more than 100 entries with 400", async () => {
      const looker = await token("users:lookup")
      const bad = await send("POST", "/users/lookup", {
        token: looker,
        json: { phoneNumbers: [nextNumber(), "12345"] }
      })
      expectProblem(bad, 422, "invalid-phone-number")
      expect(bad.body.hint).toContain("phoneNumbers[1]")
      const many = Array.from({ length: 101 }, () => "+14155550100")
      expectProblem(
        await send("POST", "/users/lookup", { token: looker, json: { phoneNumbers: many } }),
        400,
        "invalid-body"
      )
      expectProblem(
        await send("POST", "/users/lookup", { token: t().userToken, json: { phoneNumbers: ["+14155550100"] } }),
        403,
        "missing-scope"
      )
    })

    it("leaves GET /users/lookup a read of a user id and POST /users a create", async () => {
      expectProblem(await send("GET", "/users/lookup", { token: t().serviceToken }), 404, "user-not-found")
    })

    it("the server's output holds none of these numbers", () => {
      for (const number of numbers) expect(t().output()).not.toContain(number.slice(2))
    })
  })
}
