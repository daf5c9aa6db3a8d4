/**
 * GET /organizations/{id}/events, the organization's feed, through the real handler over a real SQLite file: every
 * event of the organization in commit order with its chain position, paged by an opaque cursor, refused to other
 * organizations and to callers without audit:read; and a consumer's check of what it received against the audit head
 * (src/audit/feed.ts verifyFeed), which passes on the feed as served and fails on one edited, shortened or reordered.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { verifyFeed } from "../../src/client.js"
import { call, expectProblem } from "../support/client.js"
import { makeSqliteFixture, type SqliteFixture } from "../support/sqlite-fixture.js"

let f: SqliteFixture
let auditor: string
let writer: string

beforeAll(async () => {
  f = await makeSqliteFixture()
  auditor = await f.serviceToken("audit:read")
  writer = await f.serviceToken("users:read users:write")
  const post = (path: string, body: unknown, organization = f.tenant) =>
    call(f.fetch, "POST", path, { token: writer, apiKey: organization.apiKey, body })
  // Interleaved writes of three users, and one of another organization in between.
  await post("/users", { id: "ann", phoneNumber: "+14155550101" })
  await post("/users", { id: "ben" })
  await call(f.fetch, "POST", "/users", {
    token: await f.serviceToken("users:write", f.other.organizationId),
    apiKey: f.other.apiKey,
    body: { id: "zed", phoneNumber: "+14155550199" }
  })
  await post("/users/ann/UpdatePhoneNumber", { phoneNumber: "+14155550102" })
  await post("/users", { id: "cat", phoneNumber: "+14155550103" })
  await post("/users/ben/UpdatePhoneNumber", { phoneNumber: "+14155550104" })
  await post("/users/ann/UpdatePhoneNumber", { phoneNumber: null })
})
afterAll(() => f?.dispose())

const feed = (query = "", token = auditor, organizationId = f.tenant.organizationId) =>
  call(f.fetch, "GET", `/organizations/${organizationId}/events${query}`, { token, apiKey: f.tenant.apiKey })
const head = async () =>
  (await call(f.fetch, "GET", `/organizations/${f.tenant.organizationId}/audit/head`, {
    token: auditor,
    apiKey: f.tenant.apiKey
  })).body

const everything = async () => {
  const all: Array<any> = []
  let cursor: string | undefined
  for (;;) {
    const page = await feed(cursor === undefined ? "?limit=2" : `?limit=2&after=${cursor}`)
    expect(page.status).toBe(200)
    all.push(...page.body.events)
    cursor = page.body.nextCursor
    if (!page.body.hasMore) return { all, cursor: cursor! }
  }
}

describe("GET /organizations/{id}/events", () => {
  it("answers every event of the organization in commit order, with its chain position, masked", async () => {
    const answer = await feed()
    expect(answer.status).toBe(200)
    expect(answer.body).toMatchObject({ success: true, organizationId: f.tenant.organizationId, hasMore: false })
    const entries = answer.body.events as Array<any>
    expect(entries.map((e) => `${e.aggregateId}@${e.version}`)).toEqual([
      "ann@1",
      "ben@1",
      "ann@2",
      "cat@1",
      "ben@2",
      "ann@3"
    ])
    for (const entry of entries) {
      expect(Object.keys(entry)).toEqual(["sequence", "aggregateId", "version", "prevHash", "hash", "event"])
      expect(entry.event).toMatchObject({ aggregateId: entry.aggregateId, version: entry.version })
    }
    // The organization's own numbers: the other organization's write in between takes none of them.
    expect(entries.map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5, 6])
    expect(answer.text).not.toMatch(/4155550(101|102|103|104)/)
    expect(answer.text).not.toContain("zed")
    // Each user's events link: version 2's prevHash is version 1's hash.
    const ann = entries.filter((e) => e.aggregateId === "ann")
    expect(ann[1].prevHash).toBe(ann[0].hash)
    expect(ann[0].prevHash).toBe("0".repeat(64))
  })

  it("pages by an opaque cursor: the same events, and an empty page at the end that keeps the cursor", async () => {
    const { all, cursor } = await everything()
    expect(all).toEqual((await feed()).body.events)
    const after = await feed(`?after=${cursor}`)
    expect(after.body).toMatchObject({ events: [], nextCursor: cursor, hasMore: false })
  })

  it("refuses a bad cursor or limit (400), another organization (404), a caller without audit:read (403)", async () => {
    expectProblem(await feed("?after=%%%"), 400, "invalid-cursor")
    expectProblem(await feed(`?after=${btoa("sequence 4")}`), 400, "invalid-cursor")
    // A cursor of the store-wide numbers used before: refused, not translated (that would place the organization's
    // events among every organization's).
    const outdated = await feed(`?after=${btoa("s:4").replace(/=+$/, "")}`)
    expectProblem(outdated, 400, "outdated-cursor")
    expect(outdated.body.detail).toMatch(/start again without after/)
    expectProblem(await feed("?limit=0"), 400, "invalid-query")
    expectProblem(await feed("?limit=1001"), 400, "invalid-query")
    expectProblem(await feed("", auditor, f.other.organizationId), 404, "organization-not-found")
    expectProblem(await feed("", auditor, "org_nowhere"), 404, "organization-not-found")
    expectProblem(await feed("", writer), 403, "missing-scope")
    expectProblem(await feed("", await f.userToken("ann")), 403, "missing-scope")
  })

  it("lists checkpoints after a number, and refuses a bad query (400), another organization (404), no audit:read (403)", async () => {
    const checkpoints = (query = "", token = auditor, organizationId = f.tenant.organizationId) =>
      call(f.fetch, "GET", `/organizations/${organizationId}/audit/checkpoints${query}`, {
        token,
        apiKey: f.tenant.apiKey
      })
    const sealed = await head()
    const listed = await checkpoints(`?afterSequence=${sealed.sequence - 1}`)
    expect(listed.body).toEqual({
      success: true,
      organizationId: f.tenant.organizationId,
      checkpoints: [{ ...sealed, success: undefined }],
      nextAfterSequence: null
    })
    expect((await checkpoints(`?afterSequence=${sealed.sequence}`)).body.checkpoints).toEqual([])
    for (const query of ["?afterSequence=-1", "?afterSequence=x", "?limit=0", "?limit=1001"]) {
      expectProblem(await checkpoints(query), 400, "invalid-query")
    }
    expectProblem(await checkpoints("", auditor, f.other.organizationId), 404, "organization-not-found")
    expectProblem(await checkpoints("", writer), 403, "missing-scope")
  })
})

describe("checking the feed against the audit head (verifyFeed)", () => {
  it("the feed as served agrees with the head: every link, the count and the root", async () => {
    const sealed = await head()
    const { all } = await everything()
    expect(await verifyFeed(all, sealed)).toEqual({ ok: true, checked: 6, sealed: sealed.eventCount })
    expect(sealed.upToEventSequence).toBe(all[all.length - 1].sequence)
  })

  it("knows where the new head begins when given the head kept before", async () => {
    const before = await head()
    await call(f.fetch, "POST", "/users", { token: writer, apiKey: f.tenant.apiKey, body: { id: "dan" } })
    await call(f.fetch, "POST", "/users/cat/UpdatePhoneNumber", {
      token: writer,
      apiKey: f.tenant.apiKey,
      body: { phoneNumber: "+14155550105" }
    })
    const after = await head()
    expect(after.eventCount).toBe(2)
    const { all } = await everything()
    // Both heads' events are checked: the kept one's against it, the new ones against the new head.
    expect(await verifyFeed(all, after, { previousHead: before })).toEqual({ ok: true, checked: 8, sealed: 8 })
    // A kept head further back needs the checkpoints in between, which the route lists.
    const genesis = { ...before, sequence: 0, hash: "0".repeat(64), upToEventSequence: 0, eventCount: 0 }
    expect(await verifyFeed(all, after, { previousHead: genesis })).toMatchObject({
      ok: false,
      problem: "checkpoints-missing"
    })
    const listed = await call(f.fetch, "GET", `/organizations/${f.tenant.organizationId}/audit/checkpoints`, {
      token: auditor,
      apiKey: f.tenant.apiKey
    })
    expect(listed.body).toMatchObject({ success: true, nextAfterSequence: null })
    expect(listed.body.checkpoints.at(-1)).toEqual({ ...after, success: undefined })
    expect(await verifyFeed(all, after, { previousHead: genesis, checkpoints: listed.body.checkpoints })).toEqual({
      ok: true,
      checked: 8,
      sealed: 8
    })
  })

  it("fails on an event edited, dropped, swapped or invented, and on a head that does not seal them", async () => {
    const sealed = await head()
    const { all } = await everything()
    const edited = all.map((e, i) =>
      i === 2 ? { ...e, event: { ...e.event, data: { ...e.event.data, maskedPhoneNumber: "****9999" } } } : e
    )
    expect(await verifyFeed(edited, sealed)).toMatchObject({ ok: false, problem: "hash", sequence: all[2].sequence })
    const dropped = all.filter((_, i) => i !== 2)
    expect(await verifyFeed(dropped, sealed)).toMatchObject({ ok: false, problem: "version-gap" })
    const swapped = [all[1], all[0], ...all.slice(2)]
    expect(await verifyFeed(swapped, sealed)).toMatchObject({ ok: false, problem: "out-of-order" })
    // The newest event dropped: the head seals more than was received.
    expect(await verifyFeed(all.slice(0, -1), sealed)).toMatchObject({
      ok: false,
      problem: "checkpoint-missing-events"
    })
    // A link rewritten with a hash that matches its own content, but not its user's previous event.
    const last = all[all.length - 1]
    const forgedPrev = { ...last, prevHash: "1".repeat(64) }
    const { canonicalJson } = await import("../../src/audit/chain.js")
    const { sha256Hex } = await import("../../src/sha256.js")
    const forged = { ...forgedPrev, hash: sha256Hex(forgedPrev.prevHash + canonicalJson({ event: forgedPrev.event })) }
    expect(await verifyFeed([...all.slice(0, -1), forged], sealed)).toMatchObject({ ok: false, problem: "prev-hash" })
    // A head whose root is not over the events received: as given, it does not hash; rehashed, its root is wrong.
    const { checkpointHash } = await import("../../src/audit/checkpoint.js")
    const other = { ...sealed, root: "0".repeat(64) }
    expect(await verifyFeed(all, other)).toMatchObject({ ok: false, problem: "checkpoint-chain" })
    expect(await verifyFeed(all, { ...other, hash: checkpointHash(other) })).toMatchObject({
      ok: false,
      problem: "checkpoint-root"
    })
  })
})
