/**
 * Phone policies and lookup by number on local D1 inside workerd: code allowances counted in one batch (all three
 * limits or none, exactly the quota under concurrency, TestClock windows), and lookup through the keyed index.
 */
import { describe, expect, it } from "@effect/vitest"
import { env } from "cloudflare:test"
import { Effect, Exit, TestClock } from "effect"
import { signServiceToken } from "../../src/dev/signing.js"
import { makeFetchHandler } from "../../src/fetch-handler.js"
import { D1Services } from "../../src/layers/d1.js"
import { SELECT_BY_KEYS } from "../../src/layers/sql/user-lookup-store.js"
import { CodeLimits, PhonePolicies, PhonePolicy, VerificationRateLimited } from "../../src/services/phone-policy.js"
import { BASE_URL, handlerOptions, jwtConfig, rows, seedTenant, testKey } from "./support/d1-fixture.js"

const HOUR = 3_600_000
const org = () => `org_${crypto.randomUUID().slice(0, 8)}`

const take = (organizationId: string, numberKey: string, userId = "u1") =>
  Effect.flatMap(PhonePolicies, (p) => p.takeCodeAllowance({ organizationId, userId, numberKey }))

const limitOf = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error instanceof VerificationRateLimited
    ? exit.cause.error.limit
    : undefined

const put = (organizationId: string, codeLimits: Partial<typeof CodeLimits.Type>) =>
  Effect.flatMap(
    PhonePolicies,
    (p) => p.put(organizationId, PhonePolicy.make({ codeLimits: CodeLimits.make(codeLimits) }))
  )

describe("code allowances on D1", () => {
  it.effect("of 30 allowances at once, exactly the organization's quota passes", () =>
    Effect.gen(function*() {
      const organizationId = org()
      yield* TestClock.setTime(500 * HOUR)
      yield* put(organizationId, { perOrganizationPerDay: 7 })
      const exits = yield* Effect.all(
        Array.from({ length: 30 }, (_, i) => Effect.exit(take(organizationId, `n${i}`, `u${i}`))),
        { concurrency: "unbounded" }
      )
      expect(exits.filter(Exit.isSuccess)).toHaveLength(7)
      expect(exits.filter((exit) => limitOf(exit) === "per-organization")).toHaveLength(23)
      const counts = yield* Effect.promise(() =>
        rows<{ limit_name: string; total: number }>(
          "SELECT limit_name, sum(count) AS total FROM verification_code_counts WHERE organization_id = ? " +
            "GROUP BY limit_name ORDER BY limit_name",
          organizationId
        )
      )
      expect(counts).toEqual([
        { limit_name: "per-number", total: 7 },
        { limit_name: "per-organization", total: 7 },
        { limit_name: "per-user", total: 7 }
      ])
    }).pipe(Effect.provide(D1Services(env.DB, jwtConfig))))

  it.effect("a refused code counts nothing, and the hour's window ends on time", () =>
    Effect.gen(function*() {
      const organizationId = org()
      yield* TestClock.setTime(600 * HOUR + 59 * 60_000)
      yield* put(organizationId, { perNumberPerHour: 1, perUserPerDay: 2 })
      yield* take(organizationId, "a")
      const refused = yield* Effect.flip(take(organizationId, "a"))
      expect(refused).toMatchObject({ limit: "per-number", retryAfterSeconds: 60 })
      // Had the refusal counted, the user's 2 would be spent.
      yield* take(organizationId, "b")
      expect(limitOf(yield* Effect.exit(take(organizationId, "c")))).toBe("per-user")
      yield* TestClock.adjust("1 minute")
      expect(limitOf(yield* Effect.exit(take(organizationId, "a")))).toBe("per-user")
      yield* take(organizationId, "a", "u2")
    }).pipe(Effect.provide(D1Services(env.DB, jwtConfig))))
})

describe("lookup by number on D1", () => {
  it("finds users through the keyed index, never an erased one, and records the lookup", async () => {
    const tenant = await seedTenant()
    const handler = makeFetchHandler(D1Services(env.DB, jwtConfig), handlerOptions)
    const token = await signServiceToken(
      testKey,
      "svc_lookup",
      tenant.organizationId,
      "users:write users:erase users:lookup audit:read"
    )
    const send = (method: string, path: string, body?: unknown) =>
      handler.fetch(
        new Request(`${BASE_URL}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, "x-api-key": tenant.apiKey, "content-type": "application/json" },
          ...(body === undefined ? {} : { body: JSON.stringify(body) })
        })
      )
    // 60 numbers: two queries of at most 50 keys, under D1's 100 bound parameters.
    const numbers = Array.from({ length: 60 }, (_, i) => `+1415555${String(3000 + i)}`)
    for (const [i, phoneNumber] of numbers.entries()) {
      expect((await send("POST", "/users", { id: `d1_${i}`, phoneNumber })).status).toBe(201)
    }
    expect((await send("POST", "/users/d1_7/ErasePersonalData")).status).toBe(200)
    const answer = await send("POST", "/users/lookup", { phoneNumbers: [...numbers, "+33612345678"] })
    expect(answer.status).toBe(200)
    const { matches } = (await answer.json()) as { matches: Array<{ userId: string }> }
    expect(matches.map((m) => m.userId)).toEqual(numbers.map((_, i) => `d1_${i}`).filter((id) => id !== "d1_7"))
    expect(
      await rows("SELECT phone_number_key FROM users WHERE organization_id = ? AND id = 'd1_7'", tenant.organizationId)
    )
      .toEqual([{ phone_number_key: null }])
    const lookups = await send("GET", `/organizations/${tenant.organizationId}/phone-lookups`)
    expect(await lookups.json()).toMatchObject({
      lookups: [{ sequence: 1, numbersCount: 61, matchesCount: 59, actor: { type: "service", id: "svc_lookup" } }]
    })
    await handler.dispose()
  })

  it("plans the lookup as a search of users_phone_number_key on D1 too", async () => {
    const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${SELECT_BY_KEYS(2)}`).bind("org", "k:1", "k:2").all<
      { detail: string }
    >()
    const details = plan.results.map((row) => row.detail).join("\n")
    expect(details).toMatch(/SEARCH users USING INDEX users_phone_number_key/)
    expect(details).not.toMatch(/SCAN users/)
  })
})
