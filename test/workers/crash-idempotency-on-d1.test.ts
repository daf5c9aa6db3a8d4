/**
 * A keyed write whose Worker dies right after its D1 batch commits, inside workerd against local D1. workerd cannot be
 * SIGKILLed from a test, so the crash is simulated by a hook in the store layer (test/support/faults.ts
 * dieAfterCommit): the request dies with a defect as soon as the batch has committed, and nothing more of that
 * handler reaches the store. A new handler over the same D1, its clock past the key's 60 s lock, plays the restarted
 * isolate: another writer changes the user, and the retry must replay the first answer, never write again. And an
 * attempt only paused past its lock, whose retry took the key over meanwhile, is refused when it resumes.
 */
import { D1Client } from "@effect/sql-d1"
import { describe, expect, it } from "@effect/vitest"
import { env } from "cloudflare:test"
import { Effect, Layer } from "effect"
import { signServiceToken } from "../../src/dev/signing.js"
import { makeFetchHandler } from "../../src/fetch-handler.js"
import { D1Driver, D1Services } from "../../src/layers/d1.js"
import { StoreDriver } from "../../src/layers/sql/driver.js"
import { sqlServices } from "../../src/layers/sql/services.js"
import { DEFAULT_TIMINGS } from "../../src/services/idempotency.js"
import { dieAfterCommit, makeHold } from "../support/faults.js"
import { shiftedClock } from "../support/shifted-clock.js"
import {
  eventRows,
  handlerOptions,
  jwtConfig,
  makeApiClient,
  seedTenant,
  testKey,
  userRow
} from "./support/d1-fixture.js"

const keyed = { headers: { "idempotency-key": "w-25" } }

describe("a keyed write whose isolate dies right after the D1 batch commits", () => {
  it("replays the first answer to the retry after the lock expired, and never writes the change again", async () => {
    const tenant = await seedTenant()
    const org = tenant.organizationId
    const before = makeFetchHandler(D1Services(env.DB, jwtConfig), handlerOptions)
    try {
      expect((await (await makeApiClient(before.fetch, tenant)).createUser("u_crash")).status).toBe(201)
    } finally {
      await before.dispose()
    }

    // The batch commits, then the request dies before anything else of it runs.
    const dying = dieAfterCommit(D1Services(env.DB, jwtConfig))
    const crashed = makeFetchHandler(dying.layer, handlerOptions)
    try {
      await (await makeApiClient(crashed.fetch, tenant)).updatePhoneNumber("u_crash", "+1 415 555 0001", keyed)
      expect(dying.died()).toBe(true)
    } finally {
      await crashed.dispose()
    }
    expect(await userRow(org, "u_crash")).toEqual({ phone_number: "+14155550001", version: 2 })

    // The restarted isolate: its clock is past the dead request's lock; another client changes the number.
    const offset = { millis: DEFAULT_TIMINGS.lockMillis + 1_000 }
    const restarted = makeFetchHandler(
      Layer.merge(D1Services(env.DB, jwtConfig), Layer.setClock(shiftedClock(offset))),
      handlerOptions
    )
    try {
      const client = await makeApiClient(restarted.fetch, tenant)
      const other = await signServiceToken(testKey, "svc_other", org, "users:read users:write")
      const changed = await client.updatePhoneNumber("u_crash", "+1 415 555 0003", { token: other })
      expect(changed.status).toBe(200)

      const retry = await client.updatePhoneNumber("u_crash", "+1 415 555 0001", keyed)
      const answer = (await retry.json()) as { version: number; event: unknown }
      expect({ status: retry.status, replayed: retry.headers.get("idempotent-replayed"), version: answer.version })
        .toEqual({ status: 200, replayed: "true", version: 2 })
      expect(answer.event).toMatchObject({ version: 2, data: { maskedPhoneNumber: "****0001" } })
    } finally {
      await restarted.dispose()
    }
    // The other client's change stands, and the keyed change happened once.
    expect(await userRow(org, "u_crash")).toEqual({ phone_number: "+14155550003", version: 3 })
    expect((await eventRows(org, "u_crash")).map((e) => e.version)).toEqual([1, 2, 3])
  })
})

describe("a keyed attempt paused past its lock on D1 while its retry took the key over", () => {
  it("is refused when it resumes (409 idempotency-key-in-use) and writes nothing", async () => {
    const hold = makeHold()
    const offset = { millis: 0 }
    const driver = Layer.effect(StoreDriver, Effect.map(StoreDriver, hold.wrap)).pipe(Layer.provide(D1Driver(env.DB)))
    const services = sqlServices(jwtConfig).pipe(
      Layer.provideMerge(Layer.merge(driver, D1Client.layer({ db: env.DB })))
    )
    const handler = makeFetchHandler(Layer.merge(services, Layer.setClock(shiftedClock(offset))), handlerOptions)
    try {
      const client = await makeApiClient(handler.fetch, await seedTenant())
      const org = client.tenant.organizationId
      expect((await client.createUser("u_paused")).status).toBe(201)

      hold.arm()
      const paused = client.updatePhoneNumber("u_paused", "+1 415 555 0001", keyed)
      await hold.reached
      offset.millis = DEFAULT_TIMINGS.lockMillis + 1_000
      const retry = await client.updatePhoneNumber("u_paused", "+1 415 555 0001", keyed)
      expect(retry.status).toBe(200)
      const other = await client.updatePhoneNumber("u_paused", "+1 415 555 0003", {
        token: await client.userToken("u_paused")
      })
      expect(other.status).toBe(200)

      hold.release()
      const refused = await paused
      expect(refused.status).toBe(409)
      expect(await refused.json()).toMatchObject({ code: "idempotency-key-in-use" })
      expect(await userRow(org, "u_paused")).toEqual({ phone_number: "+14155550003", version: 3 })
      expect((await eventRows(org, "u_paused")).map((e) => e.version)).toEqual([1, 2, 3])
    } finally {
      await handler.dispose()
    }
  })
})
