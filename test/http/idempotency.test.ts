/**
 * Idempotency-Key on the commands (src/http/idempotency.ts) through the real fetch handler over a real SQLite file:
 * replays, reuse with another request, concurrent duplicates, scoping, expiry, what is kept and what is not;
 * and the store's rules on their own (SQL store and in-memory double alike), with a test clock.
 */
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe as effectDescribe, expect as effectExpect, it as effectIt } from "@effect/vitest"
import Database from "better-sqlite3"
import { Effect, Layer, TestClock, TestContext } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { signServiceToken } from "../../src/dev/signing.js"
import { SqlIdempotency } from "../../src/layers/sql/idempotency-store.js"
import { SingleShard } from "../../src/layers/sql/shards.js"
import { SqliteNodeDriver } from "../../src/layers/sqlite/node.js"
import { prepareNodeSqliteFile } from "../../src/layers/sqlite/node.js"
import { DEFAULT_TIMINGS, Idempotency } from "../../src/services/idempotency.js"
import { handlerOver } from "../faults/support/handler.js"
import { type Answer, call, expectProblem, type Fetch } from "../support/client.js"
import { makeFaults } from "../support/faults.js"
import { makeMemoryStore, memoryIdempotency } from "../support/memory.js"
import { makeSqliteFixture, type SqliteFixture, type Tenant } from "../support/sqlite-fixture.js"

const HOUR = 60 * 60 * 1000

let f: SqliteFixture
let tenant: Tenant
let service: string
let userCounter = 0
let keyCounter = 0

const newKey = () => `key-${++keyCounter}-${crypto.randomUUID()}`
const newUserId = () => `idem_user_${++userCounter}`

interface PostOptions {
  readonly key?: string
  readonly token?: string
  readonly apiKey?: string
  readonly headers?: Record<string, string>
  readonly fetch?: Fetch
}

const post = (path: string, body: unknown, options: PostOptions = {}) =>
  call(options.fetch ?? f.fetch, "POST", path, {
    token: options.token ?? service,
    apiKey: options.apiKey ?? tenant.apiKey,
    ...(body === undefined ? {} : { body }),
    headers: { ...(options.key === undefined ? {} : { "idempotency-key": options.key }), ...options.headers }
  })

const update = (userId: string, phoneNumber: unknown, options: PostOptions = {}) =>
  post(`/users/${userId}/UpdatePhoneNumber`, { phoneNumber }, options)

const createUser = async (userId = newUserId(), phoneNumber?: string) => {
  const created = await post("/users", phoneNumber === undefined ? { id: userId } : { id: userId, phoneNumber })
  expect(created.status).toBe(201)
  return userId
}

/** Everything the tenant's users and events hold, every column. */
const snapshot = (organizationId = tenant.organizationId) => ({
  users: f.query("SELECT * FROM users WHERE organization_id = ? ORDER BY id", organizationId),
  events: f.query("SELECT * FROM events WHERE organization_id = ? ORDER BY sequence", organizationId)
})

/** The row of the default service's key (the fixture's service tokens act as svc_test). */
const storedKey = (key: string, organizationId = tenant.organizationId) =>
  f.query<{ state: string; response_status: number | null; response_body: string | null }>(
    "SELECT * FROM idempotency_keys WHERE organization_id = ? AND principal = 'service:svc_test' AND idempotency_key = ?",
    organizationId,
    key
  )[0]

const expectReplayOf = (replay: Answer, original: Answer) => {
  expect(replay.status).toBe(original.status)
  expect(replay.text).toBe(original.text)
  expect(replay.headers.get("idempotent-replayed")).toBe("true")
  expect(replay.headers.get("content-type")).toBe(original.headers.get("content-type"))
  expect(replay.headers.get("etag")).toBe(original.headers.get("etag"))
  // The replay is a request of its own: its own X-Request-Id, while the body keeps the original's.
  expect(replay.headers.get("x-request-id")).not.toBe(original.headers.get("x-request-id"))
}

beforeAll(async () => {
  f = await makeSqliteFixture()
})
afterAll(() => f.dispose())
beforeEach(async () => {
  tenant = await f.newTenant()
  // users:pii:read for MarkPhoneNumberVerified (issue 9).
  service = await f.serviceToken("users:read users:write users:erase users:pii:read", tenant.organizationId)
})

describe("Idempotency-Key: a retry of a completed request", () => {
  it("gets the first answer again (status, body, ETag, Content-Type) with Idempotent-Replayed, and writes nothing", async () => {
    const userId = await createUser()
    const key = newKey()
    const first = await update(userId, "+1 415 555 2671", { key })
    expect(first.status).toBe(200)
    expect(first.body.event.version).toBe(2)
    expect(first.headers.get("idempotent-replayed")).toBeNull()
    // Another change in between: the replay still answers what the keyed request did, and undoes nothing.
    expect((await update(userId, "+1 415 555 2672")).body.version).toBe(3)
    const before = snapshot()

    const replay = await update(userId, "+1 415 555 2671", { key })
    expectReplayOf(replay, first)
    expect(replay.body.event.version).toBe(2)
    expect(snapshot()).toEqual(before)
  })

  it("works on every command: create, verify, erase", async () => {
    const userId = newUserId()
    const createKey = newKey()
    const created = await post("/users", { id: userId, phoneNumber: "+14155552671" }, { key: createKey })
    expect(created.status).toBe(201)
    const verifyKey = newKey()
    const verified = await post(`/users/${userId}/MarkPhoneNumberVerified`, { phoneNumber: "+14155552671" }, {
      key: verifyKey
    })
    expect(verified.body.event.type).toBe("UserPhoneNumberVerified")
    const beforeErasure = snapshot()
    expectReplayOf(await post("/users", { id: userId, phoneNumber: "+14155552671" }, { key: createKey }), created)
    expectReplayOf(
      await post(`/users/${userId}/MarkPhoneNumberVerified`, { phoneNumber: "+14155552671" }, { key: verifyKey }),
      verified
    )
    expect(snapshot()).toEqual(beforeErasure)

    const eraseKey = newKey()
    const erased = await post(`/users/${userId}/ErasePersonalData`, undefined, { key: eraseKey })
    expect(erased.body.event.type).toBe("UserPersonalDataErased")
    const before = snapshot()
    expectReplayOf(await post(`/users/${userId}/ErasePersonalData`, undefined, { key: eraseKey }), erased)
    // The erasure deleted the user's earlier records (issue 9): their keys run again, and meet an erased user.
    expectProblem(
      await post("/users", { id: userId, phoneNumber: "+14155552671" }, { key: createKey }),
      410,
      "user-erased"
    )
    expect(snapshot()).toEqual(before)
  })

  it("keeps a refusal from the command too (404, 422) and replays it, even once the request would succeed", async () => {
    const userId = newUserId()
    const key = newKey()
    const missing = await update(userId, "+1 415 555 2671", { key })
    expectProblem(missing, 404, "user-not-found")
    await createUser(userId)
    const replay = await update(userId, "+1 415 555 2671", { key })
    expectReplayOf(replay, missing)
    expect(replay.body).toMatchObject({ code: "user-not-found", requestId: missing.headers.get("x-request-id") })
    expect(snapshot().users).toEqual([expect.objectContaining({ id: userId, version: 1, phone_number: null })])

    const invalidKey = newKey()
    const invalid = await update(userId, "+1 415 555", { key: invalidKey })
    expect(invalid.status).toBe(422)
    expectReplayOf(await update(userId, "+1 415 555", { key: invalidKey }), invalid)
  })

  it("keeps answers with masked events and problems only: no raw phone number in the table", async () => {
    const userId = await createUser()
    const keys = [newKey(), newKey(), newKey()]
    expect((await update(userId, "+1 415 555 2671", { key: keys[0] })).status).toBe(200)
    expect((await post("/users", { id: newUserId(), phoneNumber: "+44 20 7946 0958" }, { key: keys[1] })).status).toBe(
      201
    )
    expect((await update(userId, "+1 202 555 0143", { key: keys[2] })).status).toBe(200)
    const rows = f.query<Record<string, unknown>>(
      "SELECT * FROM idempotency_keys WHERE organization_id = ?",
      tenant.organizationId
    )
    expect(rows).toHaveLength(3)
    const dump = JSON.stringify(rows)
    for (const digits of ["4155552671", "2079460958", "2025550143", "555 2671", "7946 0958"]) {
      expect(dump).not.toContain(digits)
    }
    expect(dump).toContain("****2671")
    for (const row of rows) expect(row.request_hash).toMatch(/^[0-9a-f]{64}$/)
  })
})

describe("Idempotency-Key: the same key with another request", () => {
  it("is refused with 422 idempotency-key-reused, and nothing is written: another body, path or If-Match", async () => {
    const userId = await createUser()
    const other = await createUser()
    const key = newKey()
    expect((await update(userId, "+1 415 555 2671", { key })).status).toBe(200)
    const before = snapshot()
    // Another caller with the key is not among them: keys are per caller (issue 9; "Idempotency-Key: scope" below).
    const attempts = [
      await update(userId, "+1 415 555 2672", { key }),
      // The same number in another format is another request: bodies are compared byte for byte.
      await update(userId, "+14155552671", { key }),
      await update(other, "+1 415 555 2671", { key }),
      await update(userId, "+1 415 555 2671", { key, headers: { "if-match": '"2"' } }),
      await post("/users", { id: userId }, { key })
    ]
    for (const answer of attempts) expectProblem(answer, 422, "idempotency-key-reused")
    expect(snapshot()).toEqual(before)
    expect(storedKey(key)?.response_status).toBe(200)
  })

  it("refuses keys that are not 1 to 255 printable ASCII characters with 400, before anything is read or kept", async () => {
    const userId = await createUser()
    const before = snapshot()
    for (const key of ["x".repeat(256), "caf\u00e9", "tab\there"]) {
      expectProblem(await update(userId, "+1 415 555 2671", { key }), 400, "invalid-idempotency-key")
    }
    expect(snapshot()).toEqual(before)
    expect(f.query("SELECT COUNT(*) AS n FROM idempotency_keys WHERE organization_id = ?", tenant.organizationId))
      .toEqual([{ n: 0 }])
    // An empty value is no header at all, on every runtime (src/http/canonical-request.ts): no key, nothing kept.
    expect((await update(userId, "+1 415 555 2672", { key: "" })).status).toBe(200)
    expect(f.query("SELECT COUNT(*) AS n FROM idempotency_keys WHERE organization_id = ?", tenant.organizationId))
      .toEqual([{ n: 0 }])
    const longest = "~ !".repeat(85)
    expect(longest).toHaveLength(255)
    expect((await update(userId, "+1 415 555 2671", { key: longest })).status).toBe(200)
  })

  it("is never touched by a request that fails authentication", async () => {
    const userId = await createUser()
    const key = newKey()
    expectProblem(await update(userId, "+1 415 555 2671", { key, token: "not-a-token" }), 401, "invalid-token")
    expect(storedKey(key)).toBeUndefined()
    expect((await update(userId, "+1 415 555 2671", { key })).status).toBe(200)
  })
})

describe("Idempotency-Key: concurrent duplicates", () => {
  it("run the command once: one answer executes, the others are 409 idempotency-key-in-use or its replay", async () => {
    const userId = await createUser()
    const key = newKey()
    const answers = await Promise.all(Array.from({ length: 6 }, () => update(userId, "+1 415 555 2671", { key })))
    const executed = answers.filter((a) => a.status === 200 && a.headers.get("idempotent-replayed") === null)
    const replayed = answers.filter((a) => a.headers.get("idempotent-replayed") === "true")
    const inUse = answers.filter((a) => a.status === 409)
    expect(executed).toHaveLength(1)
    expect(replayed.length + inUse.length).toBe(5)
    for (const answer of replayed) expect(answer.text).toBe(executed[0]!.text)
    for (const answer of inUse) {
      expectProblem(answer, 409, "idempotency-key-in-use")
      expect(answer.headers.get("retry-after")).toBe("1")
    }
    // Exactly one new event: the create's and the one update.
    expect(snapshot().events.map((e) => e.version)).toEqual([1, 2])
    // The client's retry of a 409 gets the answer.
    expectReplayOf(await update(userId, "+1 415 555 2671", { key }), executed[0]!)
  })
})

describe("Idempotency-Key: scope", () => {
  it("is per organization: the same key in two organizations runs in each and replays each's own answer", async () => {
    const key = newKey()
    const userA = await createUser("shared_id")
    const answerA = await update(userA, "+1 415 555 2671", { key })
    const tenantA = tenant
    const serviceA = service
    tenant = await f.newTenant()
    service = await f.serviceToken("users:read users:write", tenant.organizationId)
    await createUser("shared_id")
    const answerB = await update("shared_id", "+1 415 555 2671", { key })
    expect(answerB.status).toBe(200)
    expect(answerB.headers.get("idempotent-replayed")).toBeNull()
    expect(answerB.body.event.metadata.organizationId).toBe(tenant.organizationId)
    expect(answerA.body.event.metadata.organizationId).toBe(tenantA.organizationId)
    expectReplayOf(await update("shared_id", "+1 415 555 2671", { key }), answerB)
    expectReplayOf(
      await update("shared_id", "+1 415 555 2671", { key, token: serviceA, apiKey: tenantA.apiKey }),
      answerA
    )
  })
})

describe("Idempotency-Key: scope per caller", () => {
  it("is per principal: the user sending the service's key runs its own request, and each replays its own answer", async () => {
    const userId = await createUser()
    const key = newKey()
    const byService = await update(userId, "+1 415 555 2671", { key })
    expect(byService.body.version).toBe(2)
    const userToken = await f.userToken(userId, tenant.organizationId)
    // The same bytes from another caller are its own request, with its own answer.
    const byUser = await update(userId, "+1 415 555 2671", { key, token: userToken })
    expect(byUser.status).toBe(200)
    expect(byUser.headers.get("idempotent-replayed")).toBeNull()
    expect(byUser.body).toEqual({ success: true, aggregateId: userId, version: 2, event: null })
    expectReplayOf(await update(userId, "+1 415 555 2671", { key }), byService)
    expectReplayOf(await update(userId, "+1 415 555 2671", { key, token: userToken }), byUser)
    expect(
      f.query<{ principal: string }>(
        "SELECT principal FROM idempotency_keys WHERE organization_id = ? AND idempotency_key = ? ORDER BY principal",
        tenant.organizationId,
        key
      ).map((row) => row.principal)
    ).toEqual(["service:svc_test", `user:${userId}`])
  })
})

describe("Idempotency-Key: time", () => {
  it("keeps an answer for 24 hours; after that the same key runs the request again", async () => {
    const offset = { millis: 0 }
    const handler = handlerOver(f, { clockOffset: offset })
    // Tokens are judged by the same (moved) clock: this one outlives the day.
    service = await signServiceToken(f.key, "svc_test", tenant.organizationId, "users:read users:write", {
      expiresIn: "48h"
    })
    try {
      const userId = await createUser()
      const key = newKey()
      const first = await update(userId, "+1 415 555 2671", { key, fetch: handler.fetch })
      expect(first.body.version).toBe(2)
      expect(await update(userId, null)).toMatchObject({ status: 200, body: { version: 3 } })

      offset.millis = 24 * HOUR - 60_000
      expectReplayOf(await update(userId, "+1 415 555 2671", { key, fetch: handler.fetch }), first)
      expect(snapshot().users[0]).toMatchObject({ phone_number: null, version: 3 })

      offset.millis = 24 * HOUR + 1_000
      const again = await update(userId, "+1 415 555 2671", { key, fetch: handler.fetch })
      expect(again.status).toBe(200)
      expect(again.headers.get("idempotent-replayed")).toBeNull()
      expect(again.body.event).toMatchObject({ version: 4, data: { maskedPhoneNumber: "****2671" } })
      expect(snapshot().users[0]).toMatchObject({ phone_number: "+14155552671", version: 4 })
    } finally {
      await handler.dispose()
    }
  })
})

describe("Idempotency-Key: answers that are not kept", () => {
  it("a 503 releases the key: the client's retry with the same key runs the request", async () => {
    const faults = makeFaults()
    const handler = handlerOver(f, { faults })
    try {
      const userId = await createUser()
      const key = newKey()
      const before = snapshot()
      faults.arm("before")
      const failed = await update(userId, "+1 415 555 2671", { key, fetch: handler.fetch })
      expectProblem(failed, 503, "store-unavailable")
      expect(failed.headers.get("retry-after")).toBe("1")
      expect(storedKey(key)).toBeUndefined()
      expect(snapshot()).toEqual(before)

      const retry = await update(userId, "+1 415 555 2671", { key, fetch: handler.fetch })
      expect(retry.status).toBe(200)
      expect(retry.headers.get("idempotent-replayed")).toBeNull()
      expect(retry.body.event.version).toBe(2)
      expect(storedKey(key)).toMatchObject({ state: "completed", response_status: 200 })
      expectReplayOf(await update(userId, "+1 415 555 2671", { key, fetch: handler.fetch }), retry)
    } finally {
      await handler.dispose()
    }
  })
})

describe("the contract", () => {
  it("documents the Idempotency-Key header and its errors on every command", async () => {
    const spec = (await call(f.fetch, "GET", "/openapi.json")).body
    const commands = ["", "/{id}/UpdatePhoneNumber", "/{id}/MarkPhoneNumberVerified", "/{id}/ErasePersonalData"]
    for (const path of commands.map((command) => `/users${command}`)) {
      const operation = spec.paths[path].post
      const header = operation.parameters.find((p: any) =>
        p.in === "header" && p.name.toLowerCase() === "idempotency-key"
      )
      expect(header, path).toMatchObject({ required: false, schema: { maxLength: 255 } })
      expect(header.description).toContain("24 hours")
      expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(["409", "422"]))
    }
  })
})

// The store's rules, the same for the SQL store and the in-memory double: claims, locks, answers and expiry.
const sqlStore = (filename: () => string) =>
  Layer.suspend(() =>
    SqlIdempotency({ sweepEvery: 1, sweepLimit: 2 }).pipe(
      Layer.provide(SingleShard),
      Layer.provide(SqliteNodeDriver(filename())),
      Layer.provideMerge(SqliteClient.layer({ filename: filename() }))
    )
  )
const memoryStoreLayer = () => Layer.succeed(Idempotency, memoryIdempotency(makeMemoryStore()))

const stores = [
  ["the SQL store (SQLite file)", () => sqlStore(() => f.filename)],
  ["the in-memory double", memoryStoreLayer]
] as const

for (const [name, makeLayer] of stores) {
  effectDescribe(`Idempotency rules: ${name}`, () => {
    // org_a exists in the fixture's file (api keys reference organizations there too).
    const scope = () => ({
      organizationId: "org_a",
      principal: "service:svc_store",
      key: `store-${name.length}-${crypto.randomUUID()}`
    })
    const answer = {
      status: 201,
      headers: { "content-type": "application/json", etag: '"1"' },
      body: '{"success":true}'
    }

    effectIt.effect(
      "a claimed key is in use until completed, then replays; another request is a mismatch",
      () =>
        Effect.gen(function*() {
          const store = yield* Idempotency
          const s = scope()
          const claimed = yield* store.reserve(s, "hash-1")
          effectExpect(claimed._tag).toBe("Acquired")
          effectExpect(yield* store.reserve(s, "hash-1")).toEqual({ _tag: "InUse" })
          effectExpect(yield* store.reserve(s, "hash-2")).toEqual({ _tag: "Mismatch" })
          if (claimed._tag !== "Acquired") return
          yield* store.complete(s, claimed.lock, answer, undefined)
          effectExpect(yield* store.reserve(s, "hash-1")).toEqual({ _tag: "Replay", response: answer })
          effectExpect(yield* store.reserve(s, "hash-2")).toEqual({ _tag: "Mismatch" })
        }).pipe(Effect.provide(makeLayer()))
    )

    effectIt.effect("a released key is free again", () =>
      Effect.gen(function*() {
        const store = yield* Idempotency
        const s = scope()
        const claimed = yield* store.reserve(s, "hash-1")
        if (claimed._tag !== "Acquired") throw new Error("not acquired")
        yield* store.release(s, claimed.lock)
        effectExpect((yield* store.reserve(s, "hash-2"))._tag).toBe("Acquired")
      }).pipe(Effect.provide(makeLayer())))

    effectIt.effect(
      "a crashed request's lock expires after 60 s; the late owner can then neither complete nor release",
      () =>
        Effect.gen(function*() {
          const store = yield* Idempotency
          const s = scope()
          const crashed = yield* store.reserve(s, "hash-1")
          if (crashed._tag !== "Acquired") throw new Error("not acquired")
          yield* TestClock.adjust(DEFAULT_TIMINGS.lockMillis - 1)
          effectExpect(yield* store.reserve(s, "hash-1")).toEqual({ _tag: "InUse" })
          yield* TestClock.adjust(1)
          const retry = yield* store.reserve(s, "hash-1")
          effectExpect(retry._tag).toBe("Acquired")
          yield* store.complete(s, crashed.lock, { ...answer, status: 500 }, undefined)
          yield* store.release(s, crashed.lock)
          effectExpect(yield* store.reserve(s, "hash-1")).toEqual({ _tag: "InUse" })
          if (retry._tag !== "Acquired") return
          yield* store.complete(s, retry.lock, answer, undefined)
          effectExpect(yield* store.reserve(s, "hash-1")).toEqual({ _tag: "Replay", response: answer })
        }).pipe(Effect.provide(makeLayer()))
    )

    effectIt.effect(
      "an answer is kept 24 hours after it completed, then the key is free for any request",
      () =>
        Effect.gen(function*() {
          const store = yield* Idempotency
          const s = scope()
          const claimed = yield* store.reserve(s, "hash-1")
          if (claimed._tag !== "Acquired") throw new Error("not acquired")
          yield* TestClock.adjust(30_000)
          yield* store.complete(s, claimed.lock, answer, undefined)
          yield* TestClock.adjust(DEFAULT_TIMINGS.retentionMillis - 1)
          effectExpect((yield* store.reserve(s, "hash-1"))._tag).toBe("Replay")
          yield* TestClock.adjust(1)
          effectExpect((yield* store.reserve(s, "hash-2"))._tag).toBe("Acquired")
        }).pipe(Effect.provide(makeLayer()))
    )
  })
}

describe("the SQL store's sweep", () => {
  it("deletes a bounded number of expired rows of any key when a key is claimed", async () => {
    // A file of its own, so that no other test's expired rows are swept first.
    const dir = mkdtempSync(join(tmpdir(), "users-api-sweep-"))
    const filename = join(dir, "sweep.sqlite")
    prepareNodeSqliteFile(filename)
    const db = new Database(filename)
    db.prepare("INSERT INTO organizations (id, name, created_at) VALUES ('org_s', 's', '2026-01-01')").run()
    const keys = () =>
      db.prepare("SELECT idempotency_key FROM idempotency_keys ORDER BY idempotency_key").pluck().all() as Array<string>
    const scopeOf = (key: string) => ({ organizationId: "org_s", principal: "service:svc_sweep", key })
    const program = Effect.gen(function*() {
      const store = yield* Idempotency
      for (let i = 0; i < 5; i++) {
        const claimed = yield* store.reserve(scopeOf(`old-${i}`), "h")
        if (claimed._tag !== "Acquired") throw new Error("not acquired")
        yield* store.complete(scopeOf(`old-${i}`), claimed.lock, { status: 200, headers: {}, body: "{}" }, undefined)
      }
      yield* TestClock.adjust(DEFAULT_TIMINGS.retentionMillis + 1)
      // sweepEvery 1, sweepLimit 2: each claim deletes at most two expired rows, oldest first.
      const seen: Array<Array<string>> = []
      for (const key of ["new-1", "new-2", "new-3"]) {
        yield* store.reserve(scopeOf(key), "h")
        seen.push(keys())
      }
      return seen
    })
    try {
      const seen = await Effect.runPromise(
        program.pipe(Effect.provide(sqlStore(() => filename)), Effect.provide(TestContext.TestContext))
      )
      expect(seen).toEqual([
        ["new-1", "old-2", "old-3", "old-4"],
        ["new-1", "new-2", "old-4"],
        ["new-1", "new-2", "new-3"]
      ])
    } finally {
      db.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
