/**
 * PhonePolicies on real SQLite and in memory: defaults, replacement, and code allowances counted over fixed windows
 * with TestClock, all three limits at once or none.
 */
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, TestClock } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { E164 } from "../../src/domain/phone.js"
import { problemSpecOfError } from "../../src/domain/problem.js"
import { problemResponse, toProblem } from "../../src/http/problems.js"
import { memoryPhonePolicies } from "../../src/layers/memory/phone-policy.js"
import { numberKeying } from "../../src/layers/phone-number-keys.js"
import { POLICY_TTL_MS, SqlPhonePolicies } from "../../src/layers/sql/phone-policy-store.js"
import { SingleShard } from "../../src/layers/sql/shards.js"
import { prepareNodeSqliteFile, SqliteNodeDriver } from "../../src/layers/sqlite/node.js"
import { PhoneNumberKeys } from "../../src/services/phone-number-keys.js"
import {
  codeAllowanceKey,
  CodeLimits,
  DEFAULT_PHONE_POLICY,
  PhonePolicies,
  PhonePolicy,
  VerificationRateLimited
} from "../../src/services/phone-policy.js"

const sqliteLayer = () => {
  const filename = join(mkdtempSync(join(tmpdir(), "users-api-policy-")), "test.sqlite")
  prepareNodeSqliteFile(filename)
  return SqlPhonePolicies.pipe(
    Layer.provide(SingleShard),
    Layer.provide(Layer.merge(SqliteNodeDriver(filename), SqliteClient.layer({ filename })))
  )
}

const layers = {
  sqlite: sqliteLayer,
  memory: () => Layer.sync(PhonePolicies, memoryPhonePolicies)
}

const HOUR = 3_600_000
const limits = (codeLimits: Partial<typeof CodeLimits.Type>) =>
  PhonePolicy.make({ codeLimits: CodeLimits.make(codeLimits) })

const take = (numberKey: string, userId = "u1", organizationId = "org_a") =>
  Effect.flatMap(PhonePolicies, (p) => p.takeCodeAllowance({ organizationId, userId, numberKey }))

const failure = <A, E>(exit: Exit.Exit<A, E>) => Exit.isFailure(exit) ? exit.cause : undefined
const rateLimit = <A, E>(exit: Exit.Exit<A, E>) => {
  const cause = failure(exit)
  return cause?._tag === "Fail" && cause.error instanceof VerificationRateLimited ? cause.error : undefined
}

for (const [name, layer] of Object.entries(layers)) {
  describe(`PhonePolicies (${name})`, () => {
    it.effect("answers the defaults until a policy is put, then the policy put, per organization", () =>
      Effect.gen(function*() {
        const policies = yield* PhonePolicies
        expect(yield* policies.get("org_a")).toEqual(DEFAULT_PHONE_POLICY)
        const policy = PhonePolicy.make({
          selfService: "verify",
          allowedRegions: ["FR", "BE"],
          onVerifiedConflict: "release"
        })
        yield* policies.put("org_a", policy)
        expect(yield* policies.get("org_a")).toEqual(policy)
        expect(yield* policies.get("org_b")).toEqual(DEFAULT_PHONE_POLICY)
      }).pipe(Effect.provide(layer())))

    it.effect("refuses the code over perNumberPerHour until the hour's window ends", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(10 * HOUR + 15 * 60_000)
        yield* Effect.flatMap(PhonePolicies, (p) => p.put("org_a", limits({ perNumberPerHour: 2 })))
        yield* take("n1")
        yield* take("n1")
        const refused = rateLimit(yield* Effect.exit(take("n1")))
        expect(refused).toMatchObject({ limit: "per-number", quota: 2, windowSeconds: 3600, retryAfterSeconds: 2700 })
        expect(problemSpecOfError(refused)?.headers?.(refused)).toEqual({
          "retry-after": "2700",
          "ratelimit-policy": `"per-number";q=2;w=3600`,
          "ratelimit": `"per-number";r=0;t=2700`
        })
        // Another number is counted apart.
        yield* take("n2")
        yield* TestClock.adjust("45 minutes")
        yield* take("n1")
      }).pipe(Effect.provide(layer())))

    it.effect("counts nothing when one limit refuses: the user's and the organization's counts stay", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(100 * HOUR)
        yield* Effect.flatMap(PhonePolicies, (p) => p.put("org_a", limits({ perNumberPerHour: 1, perUserPerDay: 3 })))
        yield* take("a")
        expect(rateLimit(yield* Effect.exit(take("a")))?.limit).toBe("per-number")
        expect(rateLimit(yield* Effect.exit(take("a")))?.limit).toBe("per-number")
        yield* take("b")
        // Had the refusals counted, the user's 3 would be spent.
        yield* take("c")
        const refused = rateLimit(yield* Effect.exit(take("d")))
        expect(refused).toMatchObject({
          limit: "per-user",
          quota: 3,
          windowSeconds: 86_400,
          retryAfterSeconds: 20 * 3600
        })
      }).pipe(Effect.provide(layer())))

    it.effect("counts the organization's codes across users, and other organizations apart", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(100 * HOUR)
        yield* Effect.flatMap(PhonePolicies, (p) => p.put("org_a", limits({ perOrganizationPerDay: 2 })))
        yield* take("a", "u1")
        yield* take("b", "u2")
        expect(rateLimit(yield* Effect.exit(take("c", "u3")))?.limit).toBe("per-organization")
        yield* take("c", "u3", "org_b")
        yield* TestClock.adjust("20 hours")
        yield* take("c", "u3")
      }).pipe(Effect.provide(layer())))

    it.effect("of many allowances at once, exactly the quota passes", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(200 * HOUR)
        yield* Effect.flatMap(PhonePolicies, (p) => p.put("org_a", limits({ perOrganizationPerDay: 7 })))
        const exits = yield* Effect.all(
          Array.from({ length: 30 }, (_, i) => Effect.exit(take(`n${i}`, `u${i}`))),
          { concurrency: "unbounded" }
        )
        expect(exits.filter(Exit.isSuccess)).toHaveLength(7)
        expect(exits.filter((exit) => rateLimit(exit)?.limit === "per-organization")).toHaveLength(23)
      }).pipe(Effect.provide(layer())))
  })
}

describe("the 429 over HTTP", () => {
  it("answers problem+json with Retry-After and the draft's RateLimit and RateLimit-Policy fields", async () => {
    const error = new VerificationRateLimited({
      limit: "per-user",
      quota: 10,
      windowSeconds: 86_400,
      retryAfterSeconds: 7_200
    })
    const response = problemResponse(toProblem(error, "req-1"))
    expect(response.status).toBe(429)
    expect(response.headers).toMatchObject({
      "retry-after": "7200",
      "ratelimit-policy": `"per-user";q=10;w=86400`,
      "ratelimit": `"per-user";r=0;t=7200`
    })
  })
})

describe("codeAllowanceKey", () => {
  it.effect("is the number's keyed lookup key where the service has a keying, never the number", () =>
    Effect.gen(function*() {
      const phone = "+14155550123" as E164
      expect(yield* codeAllowanceKey(phone)).toBe(phone)
      const keying = numberKeying(undefined, "test-idempotency-hash-key-0123456789abcdef")
      const keyed = yield* Effect.provideService(codeAllowanceKey(phone), PhoneNumberKeys, { keying })
      expect(keyed).toBe(keying.keyOf(phone))
      expect(keyed).not.toContain("4155550123")
    }))
})

describe("PhonePolicies (sqlite) kept 5 s", () => {
  it.scoped("another writer's policy shows within 5 s; this process's own put at once", () => {
    const filename = join(mkdtempSync(join(tmpdir(), "users-api-policy-")), "test.sqlite")
    prepareNodeSqliteFile(filename)
    const open = () =>
      SqlPhonePolicies.pipe(
        Layer.provide(SingleShard),
        Layer.provide(Layer.merge(SqliteNodeDriver(filename), SqliteClient.layer({ filename })))
      )
    const verify = PhonePolicy.make({ selfService: "verify" })
    const reject = PhonePolicy.make({ onVerifiedConflict: "release" })
    return Effect.gen(function*() {
      const reader = Context.get(yield* Layer.build(open()), PhonePolicies)
      const writer = Context.get(yield* Layer.build(open()), PhonePolicies)
      expect((yield* reader.get("org_a")).selfService).toBe("direct")
      yield* writer.put("org_a", verify)
      expect((yield* reader.get("org_a")).selfService).toBe("direct")
      yield* TestClock.adjust(POLICY_TTL_MS)
      expect((yield* reader.get("org_a")).selfService).toBe("verify")
      yield* reader.put("org_a", reject)
      expect((yield* reader.get("org_a")).onVerifiedConflict).toBe("release")
    })
  })
})
