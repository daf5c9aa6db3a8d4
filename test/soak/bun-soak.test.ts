/**
 * Concurrency soak against the real Bun server (`bun src/bun.ts`, a child process on 127.0.0.1 with a fresh data
 * dir): 8 clients × 500 UpdatePhoneNumber requests over 50 users, mixing sets, removals, likely no-ops, If-Match
 * (often stale) and Idempotency-Key replays. Afterwards every user's audit trail must have contiguous versions,
 * hold every event a response announced (no lost update) and nothing else, chain each change to the one before
 * it, and end where the user's row is. No 5xx. Bounded: it fails past 90 s.
 */
import Database from "better-sqlite3"
import { execFile } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { BIN, ServerProcess } from "../support/processes.js"

const BUN = BIN.bun
const READY_WITHIN_MS = 20_000
const BUDGET_MS = 90_000
const CLIENTS = 8
const REQUESTS_PER_CLIENT = 500
const USERS = 50
const NUMBERS_PER_USER = 8
const SEED = 20_260_405

/** Numbers are unique per organization: each user draws from a pool of its own (+1 415 555 2000 … 2399). */
const poolOf = (user: number) =>
  Array.from({ length: NUMBERS_PER_USER }, (_, j) => `+1 415 555 ${2000 + user * NUMBERS_PER_USER + j}`)
const maskOf = (number: string | null) => (number === null ? null : `****${number.replace(/\D/g, "").slice(-4)}`)
const userIdOf = (user: number) => `soak_u${String(user).padStart(2, "0")}`

/** mulberry32: a small seeded generator, so a failing mix can be replayed. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

type Kind = "set" | "remove" | "repeat" | "if-match" | "replay"

interface Sent {
  readonly kind: Kind
  readonly user: number
  readonly body: string
  readonly headers: Record<string, string>
}

interface Outcome {
  readonly sent: Sent
  readonly status: number
  readonly replayed: boolean
  readonly text: string
  readonly body: any
}

describe("soak: 8 concurrent clients against the Bun server", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "users-api-soak-"))
  const { HOST: _host, JWKS: _jwks, JWKS_URL: _jwksUrl, ...inherited } = process.env
  const env = { ...inherited, USERS_API_DATA_DIR: dataDir, PORT: "0" }
  let server: ServerProcess
  let baseUrl: string
  let headers: (extra?: Record<string, string>) => Record<string, string>

  beforeAll(async () => {
    server = ServerProcess.start("bun src/bun.ts", BUN, ["src/bun.ts"], env)
    await server.waitFor(
      "the whole banner",
      READY_WITHIN_MS,
      () => server.stdout.includes("npm run dev:credentials") || undefined
    )
    const port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(server.stdout)?.[1])
    const { stdout: printed } = await promisify(execFile)(BUN, ["scripts/dev-credentials.ts", "--port", String(port)], {
      env,
      timeout: 20_000
    })
    const credentials = JSON.parse(printed) as { baseUrl: string; apiKey: string; serviceToken: string }
    expect(credentials.baseUrl).toBe(`http://127.0.0.1:${port}`)
    baseUrl = credentials.baseUrl
    headers = (extra = {}) => ({
      authorization: `Bearer ${credentials.serviceToken}`,
      "x-api-key": credentials.apiKey,
      "content-type": "application/json",
      ...extra
    })
  }, 60_000)

  afterAll(async () => {
    // SIGTERM first: the server finishes what it has in flight; SIGKILL after 10 s.
    await server?.stop(10_000)
    rmSync(dataDir, { recursive: true, force: true })
  })

  const request = async (method: string, path: string, body?: string, extra?: Record<string, string>) => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: headers(extra),
      body,
      signal: AbortSignal.timeout(15_000)
    })
    const text = await response.text()
    return { response, text, body: text === "" ? undefined : JSON.parse(text) }
  }

  it(`keeps every user's history whole under ${CLIENTS * REQUESTS_PER_CLIENT} concurrent updates`, async () => {
    const started = Date.now()
    const overBudget = () => Date.now() - started > BUDGET_MS

    for (let user = 0; user < USERS; user++) {
      const created = await request("POST", "/users", JSON.stringify({ id: userIdOf(user) }))
      expect(created.response.status).toBe(201)
    }

    const client = async (index: number): Promise<Array<Outcome>> => {
      const next = random(SEED + index)
      const pick = <T>(items: ReadonlyArray<T>) => items[Math.floor(next() * items.length)]!
      // What this client last saw of each user: often stale, as other clients write too.
      const seenVersion = new Map<number, number>()
      const lastSent = new Map<number, string>()
      const outcomes: Array<Outcome> = []
      let previous: Sent | undefined
      for (let i = 0; i < REQUESTS_PER_CLIENT; i++) {
        if (overBudget()) throw new Error(`over the ${BUDGET_MS} ms budget after ${i} requests of client ${index}`)
        const roll = next()
        let sent: Sent
        if (roll < 0.05 && previous !== undefined) {
          sent = { ...previous, kind: "replay" }
        } else {
          const user = Math.floor(next() * USERS)
          const key = { "idempotency-key": `soak-${index}-${i}` }
          const number = pick(poolOf(user))
          if (roll < 0.45) sent = { kind: "set", user, body: JSON.stringify({ phoneNumber: number }), headers: key }
          else if (roll < 0.60) {
            sent = { kind: "remove", user, body: JSON.stringify({ phoneNumber: null }), headers: key }
          } else if (roll < 0.75) {
            // What this client set last: a no-op unless another client has changed the user since.
            const phoneNumber = lastSent.get(user) ?? null
            sent = { kind: "repeat", user, body: JSON.stringify({ phoneNumber }), headers: key }
          } else {
            const version = seenVersion.get(user) ?? 1
            sent = {
              kind: "if-match",
              user,
              body: JSON.stringify({ phoneNumber: number }),
              headers: { ...key, "if-match": `"${version}"` }
            }
          }
        }
        const { body, response, text } = await request(
          "POST",
          `/users/${userIdOf(sent.user)}/UpdatePhoneNumber`,
          sent.body,
          sent.headers
        )
        const outcome: Outcome = {
          sent,
          status: response.status,
          replayed: response.headers.get("idempotent-replayed") === "true",
          text,
          body
        }
        outcomes.push(outcome)
        if (response.status === 200) {
          seenVersion.set(sent.user, body.version)
          if (sent.kind !== "replay") lastSent.set(sent.user, JSON.parse(sent.body).phoneNumber)
        }
        if (sent.kind !== "replay") previous = sent
      }
      return outcomes
    }

    const all = (await Promise.all(Array.from({ length: CLIENTS }, (_, index) => client(index)))).flat()
    const writesDone = Date.now()

    // The history of every user, read back through the API, page by page.
    const histories = new Map<number, Array<any>>()
    for (let user = 0; user < USERS; user++) {
      const events: Array<any> = []
      let after = 0
      for (;;) {
        const page = await request("GET", `/users/${userIdOf(user)}/events?afterVersion=${after}&limit=100`)
        expect(page.response.status).toBe(200)
        events.push(...page.body.events)
        if (page.body.nextAfterVersion === null) break
        after = page.body.nextAfterVersion
      }
      histories.set(user, events)
    }

    const byStatus = (status: number) => all.filter((o) => o.status === status)
    const fresh = all.filter((o) => !o.replayed)
    const announced = fresh.filter((o) => o.status === 200 && o.body.event !== null).map((o) => o.body.event)
    const allEvents = [...histories.values()].flat()
    const eventsById = new Map(allEvents.map((e) => [e.id, e]))

    // Lost updates: an event a response announced that the log does not hold as announced, or a change whose
    // "previous" is not what the event before it set (a write based on a stale row).
    let lost = 0
    for (const event of announced) {
      const stored = eventsById.get(event.id)
      if (stored === undefined || JSON.stringify(stored) !== JSON.stringify(event)) lost++
    }
    const sqlite = new Database(join(dataDir, "users.sqlite"), { readonly: true })
    try {
      for (let user = 0; user < USERS; user++) {
        const events = histories.get(user)!
        expect(events.map((e) => e.version)).toEqual(events.map((_, i) => i + 1))
        expect(events[0]).toMatchObject({ type: "UserCreated", data: { maskedPhoneNumber: null } })
        let current: string | null = null
        for (const event of events.slice(1)) {
          expect(event.type).toBe("UserPhoneNumberUpdated")
          if (event.data.previousMaskedPhoneNumber !== current) lost++
          current = event.data.maskedPhoneNumber
        }
        const read = await request("GET", `/users/${userIdOf(user)}`)
        expect(read.body).toMatchObject({ version: events.length, phoneNumber: current, phoneNumberForm: "masked" })
        const [row] = sqlite
          .prepare("SELECT phone_number, version FROM users WHERE organization_id = 'org_demo' AND id = ?")
          .all(userIdOf(user)) as Array<{ phone_number: string | null; version: number }>
        expect(row!.version).toBe(events.length)
        expect(maskOf(row!.phone_number)).toBe(current)
        if (row!.phone_number !== null) {
          expect(poolOf(user).map((n) => n.replace(/ /g, ""))).toContain(row!.phone_number)
        }
      }
    } finally {
      sqlite.close()
    }

    // A replay answers exactly what its request got the first time.
    const firstAnswers = new Map<string, string>()
    for (const o of all) {
      const key = o.sent.headers["idempotency-key"]!
      if (!firstAnswers.has(key)) firstAnswers.set(key, o.text)
    }
    const replays = all.filter((o) => o.sent.kind === "replay")
    const firstWasKept = replays.filter((o) => o.replayed)
    for (const o of firstWasKept) expect(o.text).toBe(firstAnswers.get(o.sent.headers["idempotency-key"]!))

    const counts = {
      requests: all.length,
      creates: USERS,
      events: allEvents.length,
      announcedEvents: announced.length,
      noOps: fresh.filter((o) => o.status === 200 && o.body.event === null).length,
      preconditionFailed412: byStatus(412).length,
      conflicts409: byStatus(409).length,
      replays: replays.length,
      replayedFromStore: firstWasKept.length,
      serverErrors5xx: all.filter((o) => o.status >= 500).length,
      lostUpdates: lost,
      writeMs: writesDone - started,
      totalMs: Date.now() - started
    }
    console.log(`soak: ${JSON.stringify(counts)}`)

    expect(counts.serverErrors5xx).toBe(0)
    expect(server.stdout).not.toContain('"level":"error"')
    expect(new Set(all.map((o) => o.status))).toSatisfy((statuses: Set<number>) =>
      [...statuses].every((s) => s === 200 || s === 412 || s === 409)
    )
    for (const o of byStatus(409)) expect(o.body.code).toBe("concurrent-update")
    for (const o of byStatus(412)) expect(o.sent.headers["if-match"]).toBeDefined()
    expect(new Set(announced.map((e) => e.id)).size).toBe(announced.length)
    expect(counts.events).toBe(USERS + announced.length)
    expect(counts.lostUpdates).toBe(0)
    expect(counts.totalMs).toBeLessThan(BUDGET_MS)
  }, BUDGET_MS + 30_000)
})
