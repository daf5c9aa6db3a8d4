/**
 * The HTTP contract (docs/CONTRACT.md §4, docs/DECISIONS.md) as one suite that knows a runtime only by its base URL
 * and credentials (a Target): every status code and problem `code`, the response and event shapes, masking, no-op,
 * removal, If-Match, X-Request-Id, Idempotency-Key, concurrency and races, erasure, reading users and events, the
 * audit head, webhooks as the README shows them (subscribing, deliveries and their attempts, re-sending, a real
 * receiver), /healthz, /openapi.json and /docs, requests as sent on the wire (dot segments, empty headers), and
 * that no raw number reaches an event or the server's log. Run against every runtime by runtimes.test.ts.
 *
 * Each case makes its own users (ids unique per run) and its own phone numbers (unique per organization, since a
 * number another user holds is a 409), so cases neither depend on nor disturb each other, even on a long-lived
 * server. Every answer's status and problem code is recorded per case, so the runtimes can be compared afterwards.
 *
 * UpdatePhoneNumber, POST /users and GET /users/{id}/events go through the typed client (src/client.ts), which also
 * holds every answer to the contract (`viaClient`); what the client cannot send stays a raw request (`send`,
 * `updateRaw`, `eventsRaw`): a missing credential, a body, id or query the contract refuses, a wrong content type, an
 * oversized or malformed body, and requests exactly as written on the wire (`sendRaw`).
 */
import { FetchHttpClient, HttpClient, HttpClientRequest, type HttpClientResponse } from "@effect/platform"
import { Cause, Effect, Exit } from "effect"
import { request as httpRequest } from "node:http"
import { describe, expect, it } from "vitest"
import { type CreateUserBody, makeUsersClient, Problem, type UsersApiClient, verifyWebhook } from "../../src/client.js"
import { generateSigningKey, signUserToken } from "../../src/dev/signing.js"
import { DOCS_SCRIPT_PATH } from "../../src/http/docs.js"
import { expectProblem } from "../support/client.js"
import { eventually } from "../support/eventually.js"
import { startReceiver } from "../support/webhook-receiver.js"
import { phonePolicyConformance } from "./phone-policy.js"
import { phoneVerificationCases } from "./phone-verification.js"
import { routingSuite } from "./routing.js"
import type { Target } from "./runtimes.js"

export interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly body: any
  readonly text: string
}

/** Status and problem code of every answer, by case name (without the runtime's name). */
export type Observations = Map<string, Array<string>>

interface SendOptions {
  /** Bearer token; default the dev service token, null for none. */
  readonly token?: string | null
  /** X-API-Key; default the dev key, null for none. */
  readonly apiKey?: string | null
  /** Sent as application/json. */
  readonly json?: unknown
  /** Sent as is, with only the headers given. */
  readonly raw?: BodyInit
  readonly headers?: Record<string, string>
}

/**
 * A call through the typed client: both credentials are always sent, so a missing one is a raw call (`send`), and
 * the headers are the ones the contract declares.
 */
interface ClientOptions {
  /** Bearer token; default the dev service token. */
  readonly token?: string
  /** X-API-Key; default the dev key. */
  readonly apiKey?: string
  readonly ifMatch?: string
  readonly idempotencyKey?: string
  /** X-Request-Id: the contract does not declare it, so it goes on every request of the client's HttpClient. */
  readonly requestId?: string
}

const ALL_SCOPES = "users:read users:write users:erase users:pii:read audit:read"
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

export interface PhoneNumber {
  /** E.164, as stored. */
  readonly e164: string
  /** The same number as a person would type it. */
  readonly typed: string
  readonly masked: string
}

/**
 * Valid US numbers (+1 415 XXX XXXX) that no other case uses: a random exchange per run (never 555, whose
 * +1 415 555 2671 the dev banner prints) and a running line number, so the last four digits differ every time.
 */
const phoneNumbers = () => {
  const exchange = 200 + Math.floor(Math.random() * 700)
  const base = exchange === 555 ? 556 : exchange
  let line = Math.floor(Math.random() * 5_000)
  const used: Array<PhoneNumber> = []
  const next = (): PhoneNumber => {
    line += 1
    const last4 = String(line % 10_000).padStart(4, "0")
    const number = {
      e164: `+1415${base}${last4}`,
      typed: `+1 (415) ${base}-${last4}`,
      masked: `****${last4}`
    }
    used.push(number)
    return number
  }
  return { next, used }
}

/** The digits a leak of the number would show: its national part (a log or body may drop the + and country). */
const nationalDigits = (number: PhoneNumber) => number.e164.slice(2)

export const conformanceSuite = (target: () => Target, observations: Observations) => {
  const t = target
  const run = Date.now().toString(36)
  let users = 0
  const createdUsers: Array<string> = []
  const numbers = phoneNumbers()

  const caseName = () => (expect.getState().currentTestName ?? "?").split(" > ").slice(1).join(" > ")

  const parseBody = (text: string): any => {
    try {
      return text === "" ? undefined : JSON.parse(text)
    } catch {
      return undefined
    }
  }

  const observe = (status: number, parsed: any) => {
    const name = caseName()
    const code = (parsed as { code?: unknown } | undefined)?.code
    observations.set(name, [
      ...(observations.get(name) ?? []),
      `${status}${typeof code === "string" ? ` ${code}` : ""}`
    ])
  }

  const send = async (method: string, path: string, options: SendOptions = {}): Promise<Answer> => {
    const headers: Record<string, string> = {}
    const token = options.token === undefined ? t().serviceToken : options.token
    const apiKey = options.apiKey === undefined ? t().apiKey : options.apiKey
    if (token !== null) headers.authorization = `Bearer ${token}`
    if (apiKey !== null) headers["x-api-key"] = apiKey
    let body: BodyInit | undefined = options.raw
    if (options.json !== undefined) {
      body = JSON.stringify(options.json)
      headers["content-type"] = "application/json"
    }
    const response = await fetch(`${t().baseUrl}${path}`, {
      method,
      headers: { ...headers, ...options.headers },
      body,
      ...(body instanceof ReadableStream ? { duplex: "half" } : {}),
      signal: AbortSignal.timeout(20_000)
    } as RequestInit)
    const text = await response.text()
    const parsed = parseBody(text)
    observe(response.status, parsed)
    return { status: response.status, headers: response.headers, body: parsed, text }
  }

  /**
   * A call through the typed client (src/client.ts), described as a raw call describes its answer: status, headers,
   * body and text, all of the answer the client received. And held to the contract: a success must have decoded into
   * the endpoint's declared schema without losing anything of the JSON on the wire, and an error into the Problem
   * declared for its status, carrying the answer's headers. An answer at a status the endpoint does not declare fails.
   */
  const viaClient = async (
    options: ClientOptions,
    call: (client: UsersApiClient) => Effect.Effect<unknown, unknown>
  ): Promise<Answer> => {
    let received: HttpClientResponse.HttpClientResponse | undefined
    const { requestId } = options
    const program = makeUsersClient({
      baseUrl: t().baseUrl,
      token: options.token ?? t().serviceToken,
      apiKey: options.apiKey ?? t().apiKey,
      transformClient: (client) =>
        (requestId === undefined
          ? client
          : HttpClient.mapRequest(client, HttpClientRequest.setHeader("x-request-id", requestId))).pipe(
            HttpClient.tap((response) => Effect.sync(() => (received = response)))
          )
    }).pipe(Effect.flatMap(call), Effect.timeout("20 seconds"), Effect.provide(FetchHttpClient.layer))
    const exit = await Effect.runPromiseExit(program)
    if (received === undefined) {
      throw new Error(`the typed client got no answer: ${Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "?"}`)
    }
    // The client read the body to decode it; the response keeps it.
    const text = new TextDecoder().decode(await Effect.runPromise(received.arrayBuffer))
    const parsed = parseBody(text)
    observe(received.status, parsed)
    if (Exit.isSuccess(exit)) {
      expect(exit.value, "the client's decoded answer is the JSON on the wire").toEqual(parsed)
    } else {
      const error = Cause.squash(exit.cause)
      if (!(error instanceof Problem)) {
        throw new Error(`the typed client did not decode ${received.status} ${text} into a Problem: ${String(error)}`)
      }
      expect({ ...error }, "the client's Problem is the problem on the wire, with its headers").toEqual({
        ...parsed,
        headers: { ...received.headers }
      })
    }
    return { status: received.status, headers: new Headers(received.headers), body: parsed, text }
  }

  /**
   * A request exactly as written, through node:http: fetch would resolve dot segments in the URL itself, and the
   * runtimes must be seen doing it (or not).
   */
  const sendRaw = (method: string, path: string, headers: Record<string, string>, body?: string) =>
    new Promise<Answer>((resolve, reject) => {
      const { hostname, port } = new URL(t().baseUrl)
      const outgoing = httpRequest({ host: hostname, port, method, path, headers, timeout: 20_000 }, (incoming) => {
        let text = ""
        incoming.setEncoding("utf8").on("data", (chunk: string) => (text += chunk))
        incoming.on("end", () => {
          let parsed: any
          try {
            parsed = JSON.parse(text)
          } catch {
            parsed = undefined
          }
          const name = caseName()
          observations.set(name, [
            ...(observations.get(name) ?? []),
            `${incoming.statusCode}${parsed?.code ? ` ${parsed.code}` : ""}`
          ])
          const answerHeaders = new Headers()
          for (const [key, value] of Object.entries(incoming.headers)) {
            if (typeof value === "string") answerHeaders.set(key, value)
          }
          resolve({ status: incoming.statusCode ?? 0, headers: answerHeaders, body: parsed, text })
        })
      })
      outgoing.on("timeout", () => outgoing.destroy(new Error(`${method} ${path}: no answer`)))
      outgoing.on("error", reject)
      outgoing.end(body)
    })

  const commandHeaders = (options: ClientOptions) => ({
    ...(options.idempotencyKey === undefined ? {} : { "idempotency-key": options.idempotencyKey }),
    ...(options.ifMatch === undefined ? {} : { "if-match": options.ifMatch })
  })
  const update = (userId: string, phoneNumber: string | null, options: ClientOptions = {}) =>
    viaClient(
      options,
      (client) =>
        client.users.updatePhoneNumber({
          path: { id: userId },
          payload: { phoneNumber },
          headers: commandHeaders(options)
        })
    )
  /** For what the typed client cannot send: a missing credential, a body or user id the contract refuses. */
  const updateRaw = (userId: string, phoneNumber: unknown, options: SendOptions = {}) =>
    send("POST", `/users/${userId}/UpdatePhoneNumber`, { json: { phoneNumber }, ...options })
  const create = (body: typeof CreateUserBody.Type, options: ClientOptions = {}) => {
    if (options.ifMatch !== undefined) throw new Error("POST /users takes no If-Match")
    return viaClient(options, (client) => client.users.createUser({ payload: body, headers: commandHeaders(options) }))
  }
  const verify = (userId: string, phoneNumber: string, options: SendOptions = {}) =>
    send("POST", `/users/${userId}/MarkPhoneNumberVerified`, { json: { phoneNumber }, ...options })
  const erase = (userId: string, options: SendOptions = {}) =>
    send("POST", `/users/${userId}/ErasePersonalData`, options)
  const read = (userId: string, options: SendOptions = {}) => send("GET", `/users/${userId}`, options)
  const events = (
    userId: string,
    query: { readonly afterVersion?: number; readonly limit?: number } = {},
    options: ClientOptions = {}
  ) => viaClient(options, (client) => client.users.listEvents({ path: { id: userId }, urlParams: query }))
  /** For a user id or a query the contract refuses, which the typed client will not send. */
  const eventsRaw = (userId: string, query = "", options: SendOptions = {}) =>
    send("GET", `/users/${userId}/events${query}`, options)
  const admin = () => t().signServiceToken(t().organizationId, ALL_SCOPES)

  /** A fresh user of the dev organization, created by the dev service token (201, version 1). */
  const newUser = async (label: string, phoneNumber?: PhoneNumber): Promise<string> => {
    const id = `${label}_${run}_${++users}`
    const created = await create(phoneNumber === undefined ? { id } : { id, phoneNumber: phoneNumber.typed })
    expect(created.status, created.text).toBe(201)
    createdUsers.push(id)
    return id
  }

  /** A rejected request must leave the user as it was: same version, same number (read as the admin). */
  const unchanged = async (userId: string, check: () => Promise<unknown>) => {
    const token = await admin()
    const before = await read(userId, { token })
    await check()
    const after = await read(userId, { token })
    expect(after.body).toEqual(before.body)
  }

  const expectMaskedEvent = (event: any, userId: string, version: number) => {
    expect(event).toMatchObject({ aggregateType: "User", aggregateId: userId, version })
    expect(event.id).toMatch(UUID)
    expect(new Date(event.occurredAt).toISOString()).toBe(event.occurredAt)
  }

  /** The server's JSON log line holding `text`, once it has printed it (a Worker's lines come through wrangler). */
  const logLineWith = async (text: string): Promise<Record<string, unknown>> => {
    for (const started = Date.now(); Date.now() - started < 10_000;) {
      const line = t().output().split("\n").find((l) => l.includes(text))
      if (line !== undefined) return JSON.parse(line.slice(line.indexOf("{")))
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    throw new Error(`no log line with ${text}`)
  }

  const expectUnauthenticated = (answer: Answer, code: string) => {
    expectProblem(answer, 401, code)
    expect(answer.headers.get("www-authenticate")).toMatch(/^Bearer realm="users-api"/)
  }

  describe("service and documents", () => {
    it("GET /healthz answers 200 without credentials", async () => {
      const answer = await send("GET", "/healthz", { token: null, apiKey: null })
      expect(answer.status).toBe(200)
      expect(answer.body).toEqual({ status: "ok" })
      expect(answer.headers.get("x-request-id")).toMatch(SANE_REQUEST_ID)
    })

    it("GET /openapi.json is the OpenAPI 3.1 document with both credentials required together", async () => {
      const answer = await send("GET", "/openapi.json", { token: null, apiKey: null })
      expect(answer.status).toBe(200)
      expect(answer.body.openapi).toMatch(/^3\.1\./)
      expect(answer.body.components.securitySchemes).toMatchObject({
        bearer: { type: "http", scheme: "bearer" },
        apiKey: { type: "apiKey", in: "header", name: "X-API-Key" }
      })
      const operation = answer.body.paths["/users/{id}/UpdatePhoneNumber"].post
      expect(operation.security).toEqual([{ apiKey: [], bearer: [] }])
      expect(Object.keys(operation.responses)).toEqual(
        expect.arrayContaining(["200", "400", "401", "403", "404", "409", "410", "412", "413", "415", "422", "503"])
      )
      expect(Object.keys(operation.responses["422"].content)).toEqual(["application/problem+json"])
      expect(Object.keys(answer.body.paths)).toEqual(expect.arrayContaining([
        "/users",
        "/users/{id}",
        "/users/{id}/events",
        "/users/{id}/MarkPhoneNumberVerified",
        "/users/{id}/ErasePersonalData",
        "/organizations/{organizationId}/audit/head",
        "/healthz"
      ]))
    })

    // Bun and Deno inline Scalar's script; the Worker's page loads it from its own origin, a static asset.
    it("GET /docs is the interactive reference, its script from the server itself (no CDN)", async () => {
      const answer = await send("GET", "/docs", { token: null, apiKey: null })
      expect(answer.status).toBe(200)
      expect(answer.headers.get("content-type")).toMatch(/^text\/html/)
      expect(answer.text).toContain('id="api-reference"')
      expect(answer.text).toContain("/users/{id}/UpdatePhoneNumber")
      expect(answer.text).not.toMatch(/<link[^>]*\shref="https?:/i)
      const page = new URL("/docs", t().baseUrl)
      const linked = [...answer.text.matchAll(/<script[^>]*\ssrc="([^"]*)"/gi)].map(([, src]) => new URL(src!, page))
      expect(linked.map((url) => url.origin)).toEqual(linked.map(() => page.origin))
      if (t().runtime === "worker") expect(linked.map((url) => url.pathname)).toEqual([DOCS_SCRIPT_PATH])
      const scripts = await Promise.all(linked.map(async (url) => {
        const script = await fetch(url, { signal: AbortSignal.timeout(20_000) })
        expect(script.status).toBe(200)
        expect(script.headers.get("content-type")).toMatch(/^(text|application)\/javascript/)
        return script.text()
      }))
      expect([answer.text, ...scripts].some((text) => text.includes("@scalar/api-reference"))).toBe(true)
    })

    it("an unknown route is a 404 route-not-found, with or without credentials", async () => {
      expectProblem(await send("GET", "/nope", { token: null, apiKey: null }), 404, "route-not-found")
      expectProblem(await send("POST", "/users/x/UpdateEmail", { json: {} }), 404, "route-not-found")
      expectProblem(await send("DELETE", "/users/x/events/all"), 404, "route-not-found")
    })
  })

  routingSuite(target, observations)

  describe("requests as sent on the wire", () => {
    it("resolves dot segments in the path before routing, as URL parsing does", async () => {
      const health = await sendRaw("GET", "/users/../healthz", {})
      expect(health.status).toBe(200)
      expect(health.body).toEqual({ status: "ok" })
      expectProblem(
        await sendRaw("GET", "/users/%2e%2e", { authorization: `Bearer ${t().serviceToken}`, "x-api-key": t().apiKey }),
        404,
        "route-not-found"
      )
      const demo = await sendRaw("GET", `/users/./${t().userId}`, {
        authorization: `Bearer ${t().userToken}`,
        "x-api-key": t().apiKey
      })
      expect(demo.status).toBe(200)
      expect(demo.body.id).toBe(t().userId)
    })

    it("takes a header with an empty value for no header (Workers never passes one on)", async () => {
      const userId = await newUser("empty_headers")
      const json = {
        authorization: `Bearer ${t().serviceToken}`,
        "x-api-key": t().apiKey,
        "content-type": "application/json"
      }
      const body = (number: PhoneNumber) => JSON.stringify({ phoneNumber: number.e164 })
      const unconditional = await sendRaw(
        "POST",
        `/users/${userId}/UpdatePhoneNumber`,
        { ...json, "if-match": "" },
        body(numbers.next())
      )
      expect(unconditional.status, unconditional.text).toBe(200)
      const unkeyed = { ...json, "idempotency-key": "" }
      const number = numbers.next()
      const first = await sendRaw("POST", `/users/${userId}/UpdatePhoneNumber`, unkeyed, body(number))
      const second = await sendRaw("POST", `/users/${userId}/UpdatePhoneNumber`, unkeyed, body(number))
      expect([first.status, second.status]).toEqual([200, 200])
      expect(second.headers.get("idempotent-replayed")).toBeNull()
      expect(second.body.event).toBeNull()
      expectUnauthenticated(
        await sendRaw("GET", `/users/${userId}`, { authorization: `Bearer ${t().serviceToken}`, "x-api-key": "" }),
        "missing-api-key"
      )
      expectUnauthenticated(
        await sendRaw("GET", `/users/${userId}`, { authorization: "", "x-api-key": t().apiKey }),
        "missing-token"
      )
    })
  })

  describe("POST /users/{id}/UpdatePhoneNumber", () => {
    it("sets the number: 200, the next version, an ETag and the masked event", async () => {
      const userId = await newUser("set")
      const number = numbers.next()
      const answer = await update(userId, number.typed)
      expect(answer.status).toBe(200)
      expect(answer.headers.get("content-type")).toMatch(/^application\/json/)
      expect(answer.headers.get("etag")).toBe('"2"')
      expect(answer.body).toEqual({
        success: true,
        aggregateId: userId,
        version: 2,
        event: {
          id: expect.stringMatching(UUID),
          type: "UserPhoneNumberUpdated",
          aggregateType: "User",
          aggregateId: userId,
          version: 2,
          occurredAt: expect.any(String),
          data: { maskedPhoneNumber: number.masked, previousMaskedPhoneNumber: null, phoneNumberVerified: false },
          metadata: {
            organizationId: t().organizationId,
            actor: { type: "service", id: expect.any(String) },
            requestId: answer.headers.get("x-request-id")
          }
        }
      })
      expectMaskedEvent(answer.body.event, userId, 2)
      expect(answer.text).not.toContain(nationalDigits(number))
    })

    it("masks every number as four * and its last four digits, whatever its length or country", async () => {
      const cases = [
        ["+49 1512 3456789", "****6789"],
        ["+61 491 570 006", "****0006"],
        ["+33 6 12 34 56 78", "****5678"],
        ["0044 20 7946 0958", "****0958"]
      ] as const
      for (const [typed, masked] of cases) {
        const userId = await newUser("mask")
        const answer = await update(userId, typed)
        expect(answer.status, answer.text).toBe(200)
        expect(answer.body.event.data.maskedPhoneNumber).toBe(masked)
        expect(answer.text).not.toContain(typed.replace(/\D/g, "").slice(-8))
        const removed = await update(userId, null) // frees the number for the next run against the same server
        expect(removed.status).toBe(200)
      }
    })

    it("answers event null and keeps the version when the same number comes again in another format", async () => {
      const number = numbers.next()
      const userId = await newUser("noop", number)
      const again = await update(userId, `001 415 ${number.e164.slice(5, 8)} ${number.e164.slice(8)}`)
      expect(again.status).toBe(200)
      expect(again.headers.get("etag")).toBe('"1"')
      expect(again.body).toEqual({ success: true, aggregateId: userId, version: 1, event: null })
      const trail = await events(userId)
      expect(trail.body.events).toHaveLength(1)
    })

    it("removes the number with JSON null; removing it again changes nothing", async () => {
      const number = numbers.next()
      const userId = await newUser("remove", number)
      const removed = await update(userId, null)
      expect(removed.status).toBe(200)
      expect(removed.body.version).toBe(2)
      expect(removed.body.event.data).toEqual({
        maskedPhoneNumber: null,
        previousMaskedPhoneNumber: number.masked,
        phoneNumberVerified: false
      })
      expect((await read(userId, { token: await admin() })).body.phoneNumber).toBeNull()
      const again = await update(userId, null)
      expect(again.body).toEqual({ success: true, aggregateId: userId, version: 2, event: null })
    })

    it("lets the dev user change its own number with the dev credentials", async () => {
      const number = numbers.next()
      const answer = await update(t().userId, number.e164, { token: t().userToken })
      expect(answer.status, answer.text).toBe(200)
      expect(answer.body.event.metadata).toMatchObject({
        organizationId: t().organizationId,
        actor: { type: "user", id: t().userId }
      })
      const self = await read(t().userId, { token: t().userToken })
      expect(self.body).toMatchObject({ id: t().userId, phoneNumber: number.e164, phoneNumberForm: "raw" })
      expect(self.headers.get("etag")).toBe(`"${answer.body.version}"`)
      expect((await update(t().userId, null, { token: t().userToken })).status).toBe(200)
    })

    it("writes with a matching If-Match in every accepted form", async () => {
      const userId = await newUser("ifmatch")
      for (const [ifMatch, version] of [['"1"', 2], ['W/"2"', 3], ["3", 4], ["*", 5]] as const) {
        const answer = await update(userId, numbers.next().e164, { ifMatch })
        expect(answer.status, `${ifMatch}: ${answer.text}`).toBe(200)
        expect(answer.body.version).toBe(version)
      }
    })

    it("refuses a stale If-Match with 412 version-mismatch and writes nothing", async () => {
      const userId = await newUser("stale", numbers.next())
      await unchanged(userId, async () => {
        expectProblem(
          await update(userId, numbers.next().e164, { ifMatch: '"7"' }),
          412,
          "version-mismatch"
        )
      })
    })

    it("echoes a sane X-Request-Id on answers, problems and the log, never in events, and replaces one that is not", async () => {
      const userId = await newUser("reqid")
      const callers = `trace-abc.123:x_y-${run}`
      const sane = await update(userId, numbers.next().e164, { requestId: callers })
      expect(sane.headers.get("x-request-id")).toBe(callers)
      // Events carry the server's own id (issue 9: a caller's id could carry anything, and events outlive erasure);
      // the log line names both, so the event can be matched to the caller's trace.
      const serverRequestId = sane.body.event.metadata.requestId
      expect(serverRequestId).toMatch(UUID)
      expect(serverRequestId).not.toBe(callers)
      const line = await logLineWith(`"requestId":"${callers}"`)
      expect(line).toMatchObject({ msg: "request", requestId: callers, serverRequestId })
      const problem = await update(userId, "not a number", { requestId: "trace-problem" })
      expect(problem.headers.get("x-request-id")).toBe("trace-problem")
      expect(problem.body.requestId).toBe("trace-problem")
      for (const insane of ["<script>", "x".repeat(129), "a b"]) {
        const answer = await send("GET", "/healthz", { token: null, apiKey: null, headers: { "x-request-id": insane } })
        const replaced = answer.headers.get("x-request-id")
        expect(replaced).toMatch(UUID)
        expect(replaced).not.toBe(insane)
      }
      const unknown = await send("GET", "/nope", { headers: { "x-request-id": "trace-404" } })
      expect(unknown.headers.get("x-request-id")).toBe("trace-404")
      expect(unknown.body.requestId).toBe("trace-404")
    })

    it("keeps versions contiguous and loses no update under 20 concurrent writers", async () => {
      const userId = await newUser("race")
      const sent = Array.from({ length: 20 }, () => numbers.next())
      const answers = await Promise.all(sent.map((number) => update(userId, number.e164)))
      for (const answer of answers) expect(answer.status, answer.text).toBe(200)
      expect(answers.map((a) => a.body.version).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 20 }, (_, i) => i + 2)
      )
      const trail = await events(userId, { limit: 100 })
      const written = trail.body.events as Array<any>
      expect(written.map((e) => e.version)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1))
      // Each update saw the one before it: the previous number of event n is the number of event n - 1.
      for (let i = 1; i < written.length; i++) {
        expect(written[i].data.previousMaskedPhoneNumber).toBe(written[i - 1]!.data.maskedPhoneNumber ?? null)
      }
      expect(written.slice(1).map((e) => e.data.maskedPhoneNumber).sort()).toEqual(sent.map((n) => n.masked).sort())
      const final = await read(userId, { token: await admin() })
      expect(final.body.version).toBe(21)
      expect(final.body.phoneNumber).toBe(sent.find((n) => n.masked === written[20].data.maskedPhoneNumber)!.e164)
      await update(userId, null)
    })

    it("lets exactly one of 8 concurrent writers with the same If-Match win; the others get 412", async () => {
      const userId = await newUser("race_ifmatch")
      const answers = await Promise.all(
        Array.from({ length: 8 }, () => update(userId, numbers.next().e164, { ifMatch: '"1"' }))
      )
      const won = answers.filter((a) => a.status === 200)
      expect(won).toHaveLength(1)
      for (const lost of answers.filter((a) => a.status !== 200)) expectProblem(lost, 412, "version-mismatch")
      expect((await events(userId)).body.events.map((e: any) => e.version)).toEqual([1, 2])
    })

    it("under a race for one number, gives it to exactly one user; the others get 409 phone-number-in-use", async () => {
      const contenders = await Promise.all(Array.from({ length: 6 }, () => newUser("race_number")))
      const number = numbers.next()
      const answers = await Promise.all(contenders.map((userId) => update(userId, number.e164)))
      expect(answers.filter((a) => a.status === 200)).toHaveLength(1)
      for (const lost of answers.filter((a) => a.status !== 200)) expectProblem(lost, 409, "phone-number-in-use")
    })

    it("under a race to create one user, creates it once: one 201, the others 409 user-already-exists", async () => {
      const id = `race_create_${run}`
      const number = numbers.next()
      const answers = await Promise.all(
        Array.from({ length: 6 }, () => create({ id, phoneNumber: number.e164 }))
      )
      createdUsers.push(id)
      expect(answers.map((a) => `${a.status} ${a.body.code ?? ""}`).sort()).toEqual([
        "201 ",
        "409 user-already-exists",
        "409 user-already-exists",
        "409 user-already-exists",
        "409 user-already-exists",
        "409 user-already-exists"
      ])
      expect((await events(id)).body.events).toHaveLength(1)
    })
  })

  describe("bad input (400), writing nothing", () => {
    const rejects = (name: string, code: string, request: (userId: string) => Promise<Answer>) =>
      it(`${name}: 400 ${code}`, async () => {
        const userId = await newUser("bad", numbers.next())
        await unchanged(userId, async () => expectProblem(await request(userId), 400, code))
      })
    const path = (userId: string) => `/users/${userId}/UpdatePhoneNumber`
    const asJson = { "content-type": "application/json" }

    rejects(
      "malformed JSON",
      "malformed-json",
      (id) => send("POST", path(id), { raw: '{"phoneNumber": "+14155550100"', headers: asJson })
    )
    rejects("an empty body", "malformed-json", (id) => send("POST", path(id), { raw: "", headers: asJson }))
    rejects(
      "a body that is not UTF-8",
      "malformed-json",
      (id) => send("POST", path(id), { raw: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), headers: asJson })
    )
    rejects("a missing field", "invalid-body", (id) => send("POST", path(id), { json: {} }))
    // Bodies the contract refuses: the typed client would not send them.
    rejects("a number as a JSON number", "invalid-body", (id) => updateRaw(id, 14155550100))
    rejects("an empty string", "invalid-body", (id) => updateRaw(id, ""))
    rejects("a string over 64 characters", "invalid-body", (id) => updateRaw(id, "+1" + "4".repeat(70)))
    rejects(
      "an unknown field",
      "invalid-body",
      (id) => send("POST", path(id), { json: { phoneNumber: null, admin: true } })
    )
    rejects(
      "a misspelt field",
      "invalid-body",
      (id) => send("POST", path(id), { json: { phonenumber: "+14155550100" } })
    )
    rejects("a JSON array", "invalid-body", (id) => send("POST", path(id), { json: ["+14155550100"] }))
    rejects("JSON null as the body", "invalid-body", (id) => send("POST", path(id), { raw: "null", headers: asJson }))
    rejects(
      "a malformed If-Match",
      "invalid-if-match",
      (id) => update(id, null, { ifMatch: "version two" })
    )
    rejects(
      "an If-Match of version 0",
      "invalid-if-match",
      (id) => update(id, null, { ifMatch: '"0"' })
    )

    for (
      const [name, id] of [
        ["a dot", "a.b"],
        ["an encoded slash", "a%2Fb"],
        ["an encoded space", "a%20b"],
        ["non-ASCII letters", "%C3%A9t%C3%A9"],
        ["65 characters", "x".repeat(65)]
      ] as const
    ) {
      // Ids the contract refuses: the typed client would not send them.
      it(`an id with ${name}: 400 invalid-user-id, on every route`, async () => {
        expectProblem(await updateRaw(id, null), 400, "invalid-user-id")
        expectProblem(await read(id), 400, "invalid-user-id")
        expectProblem(await eventsRaw(id), 400, "invalid-user-id")
        expectProblem(await erase(id), 400, "invalid-user-id")
      })
    }

    it("an events query out of range: 400 invalid-query", async () => {
      const userId = await newUser("query")
      // Queries the contract refuses: the typed client would not send them.
      expectProblem(await eventsRaw(userId, "?limit=1000"), 400, "invalid-query")
      expectProblem(await eventsRaw(userId, "?limit=0"), 400, "invalid-query")
      expectProblem(await eventsRaw(userId, "?afterVersion=-1"), 400, "invalid-query")
      expectProblem(await eventsRaw(userId, "?limit=ten"), 400, "invalid-query")
    })
  })

  describe("credentials (401, 403)", () => {
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url")
    const seconds = () => Math.floor(Date.now() / 1000)

    it("no API key: 401 missing-api-key", async () => {
      const userId = await newUser("nokey", numbers.next())
      await unchanged(
        userId,
        async () => expectUnauthenticated(await updateRaw(userId, null, { apiKey: null }), "missing-api-key")
      )
    })

    it("an unknown or revoked API key: 401 invalid-api-key", async () => {
      const userId = await newUser("badkey", numbers.next())
      await unchanged(userId, async () => {
        expectUnauthenticated(await update(userId, null, { apiKey: "uak_nope" }), "invalid-api-key")
        expectUnauthenticated(await update(userId, null, { apiKey: t().revokedApiKey }), "invalid-api-key")
      })
    })

    it("no token: 401 missing-token", async () => {
      const userId = await newUser("notoken", numbers.next())
      await unchanged(userId, async () => {
        expectUnauthenticated(await updateRaw(userId, null, { token: null }), "missing-token")
        expectUnauthenticated(
          await read(userId, { token: null, headers: { authorization: "Basic dXNlcjpwdw==" } }),
          "missing-token"
        )
      })
    })

    it('a token that is refused: 401 invalid-token with error="invalid_token"', async () => {
      const userId = await newUser("badtoken", numbers.next())
      const claims = {
        sub: userId,
        iss: "https://dev.users-api.local/",
        aud: "users-api",
        iat: seconds(),
        exp: seconds() + 600
      }
      const refused: Record<string, string> = {
        "not a JWT": "not.a.jwt",
        "alg none": `${encode({ alg: "none", typ: "JWT" })}.${encode(claims)}.`,
        "alg none with a signature": `${encode({ alg: "none", typ: "JWT" })}.${encode(claims)}.c2ln`,
        "HS256 with a made-up signature": `${encode({ alg: "HS256", typ: "JWT" })}.${encode(claims)}.c2lnbmF0dXJl`,
        "expired": await t().signUserToken(userId, t().organizationId, { expiresIn: seconds() - 60 }),
        "another issuer": await t().signUserToken(userId, t().organizationId, { issuer: "https://evil.example/" }),
        "another audience": await t().signUserToken(userId, t().organizationId, { audience: "another-api" }),
        "a tampered payload": (() => {
          const [header, , signature] = t().userToken.split(".")
          return `${header}.${encode({ ...claims, sub: userId })}.${signature}`
        })()
      }
      await unchanged(userId, async () => {
        for (const [name, token] of Object.entries(refused)) {
          const answer = await update(userId, null, { token })
          expect(answer.status, name).toBe(401)
          expectUnauthenticated(answer, "invalid-token")
          expect(answer.headers.get("www-authenticate"), name).toContain('error="invalid_token"')
        }
      })
    })

    it("a token signed by a key the runtime does not trust: 401 invalid-token", async () => {
      const stranger = await signUserToken(await generateSigningKey("stranger"), t().userId, t().organizationId)
      expectUnauthenticated(await update(t().userId, null, { token: stranger }), "invalid-token")
    })

    it("a service token of another organization: 403 organization-mismatch", async () => {
      const userId = await newUser("orgmismatch", numbers.next())
      await unchanged(userId, async () => {
        expectProblem(await update(userId, null, { token: t().other.serviceToken }), 403, "organization-mismatch")
      })
    })

    it("a user token of another organization, or without org_id, with B's key: 403 organization-mismatch", async () => {
      // B's user has the same id the token names: only the organization binding stands between them.
      const userId = `orgbound_${run}_${++users}`
      const asB = { apiKey: t().other.apiKey, token: t().other.serviceToken }
      const created = await create({ id: userId, phoneNumber: numbers.next().typed }, asB)
      expect(created.status, created.text).toBe(201)
      const state = async () => [(await read(userId, asB)).body, (await events(userId, {}, asB)).body]
      const before = await state()
      const tokens = {
        "of the dev organization": await t().signUserToken(userId, t().organizationId),
        "without org_id": await t().signUserToken(userId, t().organizationId, { claims: { org_id: undefined } })
      }
      for (const [name, token] of Object.entries(tokens)) {
        const asAttacker = { apiKey: t().other.apiKey, token }
        for (
          const answer of [
            await read(userId, asAttacker),
            await update(userId, numbers.next().e164, asAttacker),
            await erase(userId, asAttacker)
          ]
        ) {
          expectProblem(answer, 403, "organization-mismatch")
          expect(answer.body.detail, name).toMatch(name === "without org_id" ? /no org_id/ : /another organization/)
        }
      }
      expect(await state()).toEqual(before)
    })

    it("a user token for another user: 403 not-own-user", async () => {
      const userId = await newUser("notown", numbers.next())
      await unchanged(userId, async () => {
        expectProblem(await update(userId, null, { token: t().userToken }), 403, "not-own-user")
        expectProblem(await read(userId, { token: t().userToken }), 403, "not-own-user")
      })
    })

    it("a service token without the scope: 403 missing-scope", async () => {
      const userId = await newUser("scope", numbers.next())
      const reader = await t().signServiceToken(t().organizationId, "users:read")
      await unchanged(userId, async () => {
        expectProblem(await update(userId, null, { token: reader }), 403, "missing-scope")
        expectProblem(
          await create({ id: `${userId}_x` }, { token: reader }),
          403,
          "missing-scope"
        )
        expectProblem(await create({}, { token: t().userToken }), 403, "missing-scope")
      })
    })

    it("checks credentials before anything else: a bad body without a key is a 401, not a 400", async () => {
      expectUnauthenticated(
        await send("POST", "/users/a.b/UpdatePhoneNumber", {
          apiKey: null,
          raw: "{",
          headers: { "content-type": "text/plain" }
        }),
        "missing-api-key"
      )
    })
  })

  describe("users that are not there (404) or not the caller's", () => {
    it("a user that does not exist: 404 user-not-found on every route", async () => {
      const ghost = `ghost_${run}`
      expectProblem(await update(ghost, numbers.next().e164), 404, "user-not-found")
      expectProblem(await read(ghost), 404, "user-not-found")
      expectProblem(await events(ghost), 404, "user-not-found")
      expectProblem(await erase(ghost, { token: await admin() }), 404, "user-not-found")
    })

    it("a user of another organization looks exactly like a missing one: 404 user-not-found", async () => {
      const userId = await newUser("tenant", numbers.next())
      const asOther = { apiKey: t().other.apiKey, token: t().other.serviceToken }
      await unchanged(userId, async () => {
        const foreign = await update(userId, numbers.next().e164, asOther)
        const missing = await update(`ghost_${run}`, numbers.next().e164, asOther)
        expectProblem(foreign, 404, "user-not-found")
        expectProblem(missing, 404, "user-not-found")
        expect(foreign.body.detail).toBe(missing.body.detail)
        expectProblem(await read(userId, asOther), 404, "user-not-found")
        expectProblem(await events(userId, {}, asOther), 404, "user-not-found")
      })
    })

    it("keeps tenants apart: the same id and number in another organization is another user", async () => {
      const number = numbers.next()
      const userId = await newUser("twin", number)
      const twin = await create(
        { id: userId, phoneNumber: number.e164 },
        { apiKey: t().other.apiKey, token: t().other.serviceToken }
      )
      expect(twin.status).toBe(201)
      expect(twin.body.event.metadata.organizationId).toBe(t().other.organizationId)
    })
  })

  describe("conflicts (409) and erased users (410)", () => {
    it("creating an existing id with another number: 409 user-already-exists", async () => {
      const userId = await newUser("exists", numbers.next())
      await unchanged(userId, async () => {
        expectProblem(
          await create({ id: userId, phoneNumber: numbers.next().e164 }),
          409,
          "user-already-exists"
        )
      })
    })

    it("creating an existing id: the same 409 for its number, another one and none (no oracle on the number)", async () => {
      const number = numbers.next()
      const userId = await newUser("exists_oracle", number)
      const writer = await t().signServiceToken(t().organizationId, "users:write")
      const observed = (answer: Answer) => {
        const { requestId: _requestId, ...body } = answer.body
        return { status: answer.status, body }
      }
      await unchanged(userId, async () => {
        const right = await create({ id: userId, phoneNumber: number.e164 }, { token: writer })
        const wrong = await create({ id: userId, phoneNumber: numbers.next().e164 }, { token: writer })
        const none = await create({ id: userId }, { token: writer })
        for (const answer of [right, wrong, none]) expectProblem(answer, 409, "user-already-exists")
        expect(observed(right)).toEqual(observed(wrong))
        expect(observed(none)).toEqual(observed(wrong))
      })
    })

    it("verifying without users:pii:read: the same 403 missing-scope for the right and a wrong number", async () => {
      const number = numbers.next()
      const userId = await newUser("verify_oracle", number)
      const writer = await t().signServiceToken(t().organizationId, "users:read users:write")
      await unchanged(userId, async () => {
        const right = await verify(userId, number.e164, { token: writer })
        const wrong = await verify(userId, numbers.next().e164, { token: writer })
        expectProblem(right, 403, "missing-scope")
        expectProblem(wrong, 403, "missing-scope")
        expect(right.body.detail).toBe(wrong.body.detail)
      })
    })

    it("taking a number another user holds: 409 phone-number-in-use, naming neither", async () => {
      const number = numbers.next()
      const holder = await newUser("holder", number)
      const taker = await newUser("taker")
      await unchanged(taker, async () => {
        const answer = await update(taker, number.typed)
        expectProblem(answer, 409, "phone-number-in-use")
        expect(answer.text).not.toContain(holder)
        expect(answer.text).not.toContain(nationalDigits(number))
      })
      expectProblem(
        await create({ id: `${taker}_2`, phoneNumber: number.e164 }),
        409,
        "phone-number-in-use"
      )
      // Once the holder lets it go, the number is free (a recycled number).
      expect((await update(holder, null)).status).toBe(200)
      expect((await update(taker, number.e164)).status).toBe(200)
    })

    it("verification: 200 with an event, event null again, 409 phone-number-mismatch and no-phone-number", async () => {
      const number = numbers.next()
      const userId = await newUser("verify", number)
      const token = await admin()
      // Comparing the number is reading it: users:pii:read as well as users:write (issue 9).
      const verifier = { token: await t().signServiceToken(t().organizationId, "users:write users:pii:read") }
      const verified = await verify(userId, number.typed, verifier)
      expect(verified.status).toBe(200)
      expect(verified.body.event).toMatchObject({
        type: "UserPhoneNumberVerified",
        version: 2,
        data: { maskedPhoneNumber: number.masked }
      })
      expect((await read(userId, { token })).body.phoneNumberVerified).toBe(true)
      expect((await verify(userId, number.e164, verifier)).body).toEqual({
        success: true,
        aggregateId: userId,
        version: 2,
        event: null
      })
      expectProblem(
        await verify(userId, number.e164, { token: await t().signUserToken(userId, t().organizationId) }),
        403,
        "missing-scope"
      )
      const next = numbers.next()
      expect((await update(userId, next.e164)).body.event.data.phoneNumberVerified).toBe(false)
      expect((await read(userId, { token })).body.phoneNumberVerified).toBe(false)
      const mismatch = await verify(userId, number.e164, verifier)
      expectProblem(mismatch, 409, "phone-number-mismatch")
      expect(mismatch.text).not.toContain(nationalDigits(number))
      await update(userId, null)
      expectProblem(await verify(userId, next.e164, verifier), 409, "no-phone-number")
    })

    it("erasure: 200 UserPersonalDataErased, event null again, then 410 user-erased for new personal data", async () => {
      const number = numbers.next()
      const userId = await newUser("erase", number)
      const token = await admin()
      expectProblem(await erase(userId), 403, "missing-scope") // the dev service token has no users:erase
      const erased = await erase(userId, { token })
      expect(erased.status).toBe(200)
      expectMaskedEvent(erased.body.event, userId, 2)
      expect(erased.body.event).toMatchObject({
        type: "UserPersonalDataErased",
        data: { erasedFields: ["phoneNumber"] }
      })
      expect((await erase(userId, { token })).body).toEqual({
        success: true,
        aggregateId: userId,
        version: 2,
        event: null
      })
      expect((await read(userId, { token })).body).toMatchObject({ version: 2, phoneNumber: null, erased: true })
      await unchanged(userId, async () => {
        expectProblem(await update(userId, numbers.next().e164), 410, "user-erased")
        expectProblem(await update(userId, null), 410, "user-erased")
        expectProblem(await verify(userId, number.e164, { token }), 410, "user-erased")
        expectProblem(await create({ id: userId }), 410, "user-erased")
      })
      const trail = await events(userId)
      expect(trail.body.events.map((e: any) => e.type)).toEqual(["UserCreated", "UserPersonalDataErased"])
      expect(trail.body.events[0].data.maskedPhoneNumber).toBe(number.masked)
      // The erased number is free again for another user.
      expect((await update(await newUser("after_erase"), number.e164)).status).toBe(200)
    })

    it("a user may erase itself", async () => {
      const userId = await newUser("self_erase", numbers.next())
      const answer = await erase(userId, { token: await t().signUserToken(userId, t().organizationId) })
      expect(answer.status).toBe(200)
      expect(answer.body.event.metadata.actor).toEqual({ type: "user", id: userId })
    })
  })

  describe("bodies: 413, 415, 422", () => {
    const path = (userId: string) => `/users/${userId}/UpdatePhoneNumber`

    it("a body over 16 KiB: 413 payload-too-large, whether its length is declared or it comes chunked", async () => {
      const userId = await newUser("big", numbers.next())
      const big = JSON.stringify({ phoneNumber: "+14155550100", pad: "x".repeat(17 * 1024) })
      await unchanged(userId, async () => {
        expectProblem(
          await send("POST", path(userId), { raw: big, headers: { "content-type": "application/json" } }),
          413,
          "payload-too-large"
        )
        const chunks = [big.slice(0, 8_000), big.slice(8_000)]
        const stream = new ReadableStream<Uint8Array>({
          pull(controller) {
            const chunk = chunks.shift()
            if (chunk === undefined) controller.close()
            else controller.enqueue(new TextEncoder().encode(chunk))
          }
        })
        expectProblem(
          await send("POST", path(userId), { raw: stream, headers: { "content-type": "application/json" } }),
          413,
          "payload-too-large"
        )
      })
    })

    it("a body that is not JSON: 415 unsupported-media-type", async () => {
      const userId = await newUser("media", numbers.next())
      const body = JSON.stringify({ phoneNumber: null })
      await unchanged(userId, async () => {
        for (
          const contentType of ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"]
        ) {
          expectProblem(
            await send("POST", path(userId), { raw: body, headers: { "content-type": contentType } }),
            415,
            "unsupported-media-type"
          )
        }
        // Bytes, so that fetch adds no Content-Type of its own.
        expectProblem(
          await send("POST", path(userId), { raw: new TextEncoder().encode(body) }),
          415,
          "unsupported-media-type"
        )
      })
    })

    it("accepts application/json with a charset and application/*+json", async () => {
      const userId = await newUser("media_ok")
      for (const contentType of ["application/json; charset=utf-8", "application/merge-patch+json"]) {
        const answer = await send("POST", path(userId), {
          raw: JSON.stringify({ phoneNumber: numbers.next().e164 }),
          headers: { "content-type": contentType }
        })
        expect(answer.status, `${contentType}: ${answer.text}`).toBe(200)
      }
    })

    it("a number that is not valid or not international: 422 invalid-phone-number, never echoed", async () => {
      const userId = await newUser("invalid", numbers.next())
      await unchanged(userId, async () => {
        for (
          const input of [
            "+1 415 555 267",
            "415 555 2671",
            "+1 555 0100",
            "+1 415 CALL NOW",
            "+1 415 555 2671 ext. 12",
            "+999 1234 5678"
          ]
        ) {
          const answer = await update(userId, input)
          expectProblem(answer, 422, "invalid-phone-number")
          expect(answer.text).not.toContain(input)
          expect(answer.text).not.toContain(input.replace(/\D/g, ""))
        }
      })
    })

    it('the string "null" is not a number: 422 with a hint that JSON null removes it', async () => {
      const userId = await newUser("string_null", numbers.next())
      await unchanged(userId, async () => {
        const answer = await update(userId, "null")
        expectProblem(answer, 422, "invalid-phone-number")
        expect(answer.body.hint).toMatch(/JSON null/)
      })
    })
  })

  describe("POST /users", () => {
    it("creates a user with a masked number in UserCreated: 201, version 1", async () => {
      const number = numbers.next()
      const id = `created_${run}_${++users}`
      const answer = await create({ id, phoneNumber: number.typed })
      createdUsers.push(id)
      expect(answer.status).toBe(201)
      expect(answer.headers.get("etag")).toBe('"1"')
      expect(answer.body).toMatchObject({
        success: true,
        aggregateId: id,
        version: 1,
        event: { type: "UserCreated", version: 1, data: { maskedPhoneNumber: number.masked } }
      })
      expectMaskedEvent(answer.body.event, id, 1)
      expect(answer.text).not.toContain(nationalDigits(number))
    })

    it("gives a user created without an id a UUID", async () => {
      const answer = await create({})
      expect(answer.status).toBe(201)
      expect(answer.body.aggregateId).toMatch(UUID)
      expect(answer.body.event).toMatchObject({ type: "UserCreated", data: { maskedPhoneNumber: null } })
      createdUsers.push(answer.body.aggregateId)
    })
  })

  describe("Idempotency-Key", () => {
    const keyed = (key: string, options: ClientOptions = {}): ClientOptions => ({ ...options, idempotencyKey: key })

    it("replays the first answer (status, body, ETag) with Idempotent-Replayed: true, and writes nothing", async () => {
      const userId = await newUser("idem")
      const key = `idem-${run}-${users}`
      const number = numbers.next()
      const first = await update(userId, number.e164, keyed(key))
      expect(first.status).toBe(200)
      expect(first.headers.get("idempotent-replayed")).toBeNull()
      const again = await update(userId, number.e164, keyed(key, { requestId: "trace-replay" }))
      expect(again.status).toBe(200)
      expect(again.headers.get("idempotent-replayed")).toBe("true")
      expect(again.text).toBe(first.text)
      expect(again.headers.get("etag")).toBe(first.headers.get("etag"))
      expect(again.headers.get("x-request-id")).toBe("trace-replay")
      expect((await events(userId)).body.events).toHaveLength(2)
    })

    it("replays a kept refusal too (422), and the key with another request is a 422 idempotency-key-reused", async () => {
      const userId = await newUser("idem_refusal", numbers.next())
      const key = `idem-${run}-${users}`
      const refused = await update(userId, "+1 415 555 267", keyed(key))
      expectProblem(refused, 422, "invalid-phone-number")
      const replayed = await update(userId, "+1 415 555 267", keyed(key))
      expect(replayed.headers.get("idempotent-replayed")).toBe("true")
      expect(replayed.text).toBe(refused.text)
      await unchanged(userId, async () => {
        expectProblem(await update(userId, numbers.next().e164, keyed(key)), 422, "idempotency-key-reused")
      })
    })

    it("refuses a key that is not 1 to 255 printable ASCII characters: 400 invalid-idempotency-key", async () => {
      const userId = await newUser("idem_bad", numbers.next())
      await unchanged(userId, async () => {
        for (const key of ["k".repeat(256), "tab\there"]) {
          expectProblem(await update(userId, null, keyed(key)), 400, "invalid-idempotency-key")
        }
      })
    })

    it("keeps no key for a forbidden request, and keys per caller: the backend's request with it then runs", async () => {
      const victim = await newUser("idem_victim")
      const malloryId = await newUser("idem_mallory")
      const mallory = { token: await t().signUserToken(malloryId, t().organizationId) }
      const key = `idem-squat-${run}`
      await unchanged(victim, async () => {
        expectProblem(await update(victim, numbers.next().e164, keyed(key, mallory)), 403, "not-own-user")
      })
      // Were the 403 kept under (mallory, key), this would be a 422 idempotency-key-reused.
      const own = await update(malloryId, numbers.next().e164, keyed(key, mallory))
      expect(own.status, own.text).toBe(200)
      expect(own.headers.get("idempotent-replayed")).toBeNull()
      expect(own.body.event.metadata.actor).toEqual({ type: "user", id: malloryId })
      // The backend's key space is its own: the same key runs its request, whatever the user did with it.
      const number = numbers.next()
      const real = await update(victim, number.e164, keyed(key))
      expect(real.status, real.text).toBe(200)
      expect(real.headers.get("idempotent-replayed")).toBeNull()
      expect(real.body.event.data.maskedPhoneNumber).toBe(number.masked)
      const replay = await update(victim, number.e164, keyed(key))
      expect(replay.headers.get("idempotent-replayed")).toBe("true")
      expect(replay.text).toBe(real.text)
    })

    it("keeps keys per organization: the same key in another organization runs there", async () => {
      const key = `idem-shared-${run}`
      const here = await create({ id: `idem_org_${run}` }, keyed(key))
      expect(here.status).toBe(201)
      createdUsers.push(`idem_org_${run}`)
      const there = await create(
        { id: `idem_org_${run}` },
        keyed(key, { apiKey: t().other.apiKey, token: t().other.serviceToken })
      )
      expect(there.status).toBe(201)
      expect(there.headers.get("idempotent-replayed")).toBeNull()
      expect(there.body.event.metadata.organizationId).toBe(t().other.organizationId)
    })
  })

  describe("GET /users/{id} and /users/{id}/events", () => {
    it("shows the raw number to the user itself and to users:pii:read, the masked one to users:read", async () => {
      const number = numbers.next()
      const userId = await newUser("reader", number)
      const self = await read(userId, { token: await t().signUserToken(userId, t().organizationId) })
      expect(self.status).toBe(200)
      expect(self.headers.get("etag")).toBe('"1"')
      expect(self.body).toEqual({
        success: true,
        id: userId,
        version: 1,
        phoneNumber: number.e164,
        phoneNumberForm: "raw",
        phoneNumberVerified: false,
        erased: false
      })
      const pii = await read(userId, {
        token: await t().signServiceToken(t().organizationId, "users:read users:pii:read")
      })
      expect(pii.body).toMatchObject({ phoneNumber: number.e164, phoneNumberForm: "raw" })
      const masked = await read(userId) // the dev service token: users:read users:write
      expect(masked.body).toMatchObject({ phoneNumber: number.masked, phoneNumberForm: "masked" })
      expect(masked.text).not.toContain(nationalDigits(number))
    })

    it("pages the masked audit trail, oldest first", async () => {
      const first = numbers.next()
      const second = numbers.next()
      const userId = await newUser("trail", first)
      await update(userId, second.e164)
      await update(userId, null)
      const page1 = await events(userId, { limit: 2 })
      expect(page1.status).toBe(200)
      expect(page1.body).toMatchObject({ success: true, aggregateId: userId, nextAfterVersion: 2 })
      expect(page1.body.events.map((e: any) => [e.type, e.version])).toEqual([["UserCreated", 1], [
        "UserPhoneNumberUpdated",
        2
      ]])
      const page2 = await events(userId, { afterVersion: 2, limit: 2 })
      expect(page2.body.nextAfterVersion).toBeNull()
      expect(page2.body.events.map((e: any) => e.data)).toEqual([
        { maskedPhoneNumber: null, previousMaskedPhoneNumber: second.masked, phoneNumberVerified: false }
      ])
      for (const event of [...page1.body.events, ...page2.body.events]) expectMaskedEvent(event, userId, event.version)
      const own = await events(userId, {}, { token: await t().signUserToken(userId, t().organizationId) })
      expect(own.body.events).toHaveLength(3)
    })
  })

  describe("GET /organizations/{id}/audit/head", () => {
    it("seals every event so far with a checkpoint chained to the one before, which moves on with every write", async () => {
      const token = await admin()
      const head = () => send("GET", `/organizations/${t().organizationId}/audit/head`, { token })
      const before = await head()
      expect(before.status).toBe(200)
      expect(before.body).toEqual({
        success: true,
        organizationId: t().organizationId,
        sequence: expect.any(Number),
        hash: expect.stringMatching(/^[0-9a-f]{64}$/),
        prevHash: expect.stringMatching(/^[0-9a-f]{64}$/),
        root: expect.stringMatching(/^[0-9a-f]{64}$/),
        upToEventSequence: expect.any(Number),
        eventCount: expect.any(Number),
        createdAt: expect.any(String),
        // Set only on checkpoints sealed before per-organization numbers.
        legacyUpToEventSequence: before.body.legacyUpToEventSequence === null ? null : expect.any(Number)
      })
      // Nothing written since: the same checkpoint again.
      expect((await head()).body).toEqual(before.body)
      await newUser("head")
      const after = await head()
      expect(after.body.sequence).toBe(before.body.sequence + 1)
      expect(after.body.prevHash).toBe(before.body.hash)
      expect(after.body.eventCount).toBe(1)
      expect(after.body.upToEventSequence).toBeGreaterThan(before.body.upToEventSequence)
    })

    it("numbers the organization's events 1, 2, 3… without a gap, whatever other organizations write meanwhile", async () => {
      const token = await admin()
      const organizationId = t().organizationId
      const feed = (after?: string) =>
        send(
          "GET",
          `/organizations/${organizationId}/events?limit=1000${after === undefined ? "" : `&after=${after}`}`,
          {
            token
          }
        )
      const head = async () => (await send("GET", `/organizations/${organizationId}/audit/head`, { token })).body
      // The head kept, then the feed read to its end: the cursor is where the kept head ends.
      const kept = await head()
      let cursor: string | undefined
      let last = 0
      for (let page = await feed();; page = await feed(cursor)) {
        expect(page.status, page.text).toBe(200)
        last = page.body.events.at(-1)?.sequence ?? last
        cursor = page.body.nextCursor
        if (!page.body.hasMore) break
      }
      expect(last).toBe(kept.upToEventSequence)
      // Concurrent writers of this organization, of one of its users, and of another organization, sealed twice.
      const racer = await newUser("numbered")
      const other = { apiKey: t().other.apiKey, token: t().other.serviceToken }
      const written = await Promise.all([
        ...Array.from({ length: 6 }, (_, i) => create({ id: `numbered_${run}_${i}` })),
        ...Array.from({ length: 6 }, () => update(racer, numbers.next().e164)),
        ...Array.from({ length: 6 }, (_, i) => create({ id: `numbered_${run}_${i}` }, other))
      ])
      for (const answer of written) expect(answer.status, answer.text).toBeLessThan(300)
      await head()
      await update(racer, null)
      const now = await head()
      const mine = [racer, ...written.slice(0, 12).map((a) => a.body.event.id)]
      const entries = (await feed(cursor)).body.events as Array<any>
      // The racer's UserCreated, 12 concurrent events and the removal: exactly the next 14 numbers.
      expect(entries.map((e) => e.sequence)).toEqual(Array.from({ length: 14 }, (_, i) => last + 1 + i))
      expect(entries.map((e) => e.event.id)).toEqual(expect.arrayContaining(mine.slice(1)))
      expect(entries.every((e) => e.event.metadata.organizationId === organizationId)).toBe(true)
      expect(now.upToEventSequence).toBe(last + 14)
      // The kept head is two checkpoints back: the checkpoints between link it to the new one.
      const listed = await send(
        "GET",
        `/organizations/${organizationId}/audit/checkpoints?afterSequence=${kept.sequence}`,
        {
          token
        }
      )
      expect(listed.body.checkpoints.map((c: any) => c.sequence)).toEqual([kept.sequence + 1, kept.sequence + 2])
      const { verifyFeed } = await import("../../src/client.js")
      expect(await verifyFeed(entries, now, { previousHead: kept, checkpoints: listed.body.checkpoints }))
        .toMatchObject({ ok: true, sealed: 14 })
      // A cursor of the store-wide numbers: refused, never translated.
      expectProblem(await feed(btoa(`s:${last}`).replace(/=+$/, "")), 400, "outdated-cursor")
    })

    it("hides other organizations (404 organization-not-found) and needs audit:read (403 missing-scope)", async () => {
      const token = await admin()
      expectProblem(
        await send("GET", `/organizations/${t().other.organizationId}/audit/head`, { token }),
        404,
        "organization-not-found"
      )
      expectProblem(
        await send("GET", `/organizations/org_nowhere/audit/head`, { token }),
        404,
        "organization-not-found"
      )
      expectProblem(await send("GET", `/organizations/${t().organizationId}/audit/head`), 403, "missing-scope")
      expectProblem(await send("GET", `/organizations/a.b/audit/head`, { token }), 400, "invalid-organization-id")
    })
  })

  describe("webhook subscriptions and scopes", () => {
    it("create, rotate, deliveries and re-send need webhooks:write and audit:read (403 missing-scope)", async () => {
      const org = t().organizationId
      const sign = (scope: string) => t().signServiceToken(org, scope)
      const subscribe = (token: string) =>
        viaClient({ token }, (client) =>
          client.webhooks.createWebhook({
            path: { organizationId: org },
            payload: { url: "http://127.0.0.1:9/conformance", eventTypes: ["UserCreated"] }
          }))
      const writer = await sign("users:read users:write webhooks:write")
      const refused = (answer: Answer) => {
        expectProblem(answer, 403, "missing-scope")
        expect(answer.body.detail).toMatch(/lacks the scope audit:read: a webhook receiver gets the organization's/)
      }
      refused(await subscribe(writer))
      expectProblem(await subscribe(await sign("audit:read")), 403, "missing-scope")
      const created = await subscribe(await sign("webhooks:write audit:read"))
      expect(created.status, created.text).toBe(201)
      const hook = `/organizations/${org}/webhooks/${created.body.webhook.id}`
      refused(await send("POST", `${hook}/rotate-secret`, { token: writer }))
      refused(await send("GET", `${hook}/deliveries`, { token: writer }))
      refused(await send("POST", `${hook}/deliveries/evt_none/resend`, { token: writer }))
      // What neither sends nor shows events: listing and deleting.
      expect((await send("GET", `/organizations/${org}/webhooks`, { token: writer })).status).toBe(200)
      expect((await send("DELETE", hook, { token: writer })).status).toBe(204)
    })
  })

  describe("webhooks, as the README shows them", () => {
    const webhookToken = () =>
      t().signServiceToken(t().organizationId, "users:read users:write users:erase webhooks:write audit:read")
    const webhooks = () => `/organizations/${t().organizationId}/webhooks`
    /** The deliveries as they stand, read without being observed: how often it is polled differs by runtime. */
    const deliveriesOf = (hook: string, token: string, userId: string) =>
      fetch(`${t().baseUrl}${hook}/deliveries`, {
        headers: { authorization: `Bearer ${token}`, "x-api-key": t().apiKey },
        signal: AbortSignal.timeout(5_000)
      }).then(async (answer) => {
        const body = (await answer.json()) as { deliveries?: Array<any> }
        return (body.deliveries ?? []).filter((delivery) => delivery.aggregateId === userId)
      })

    it("subscribe, an update and an erasure, their pending deliveries with attempts; a pending re-send is a 409", async () => {
      const token = await webhookToken()
      const url = "http://127.0.0.1:9/users-api"
      const eventTypes = ["UserPhoneNumberUpdated", "UserPersonalDataErased"]
      const created = await send("POST", webhooks(), { token, json: { url, eventTypes } })
      expect(created.status, created.text).toBe(201)
      expect(created.headers.get("cache-control")).toBe("no-store")
      expect(created.body.secret).toMatch(/^whsec_/)
      expect(created.body.webhook).toMatchObject({ url, eventTypes, status: "active", disabledReason: null })
      const hook = `${webhooks()}/${created.body.webhook.id}`
      try {
        const listed = await send("GET", webhooks(), { token })
        expect(listed.body.webhooks.map((webhook: { id: string }) => webhook.id)).toContain(created.body.webhook.id)
        expect(listed.text).not.toContain(created.body.secret)
        const userId = await newUser("webhook")
        const updated = await update(userId, numbers.next().typed)
        expect(updated.status).toBe(200)
        const erased = await erase(userId, { token })
        expect(erased.status).toBe(200)
        // Nothing listens on port 9: the update's delivery is attempted at once, fails and waits for its retry; the
        // erasure's waits behind it (a user's webhooks go in version order).
        await eventually("the first delivery attempted", async () => {
          const mine = await deliveriesOf(hook, token, userId)
          return mine.length === 2 && mine[0].attempts.length > 0 ? mine : undefined
        })
        const pending = await send("GET", `${hook}/deliveries?status=pending`, { token })
        expect(pending.status).toBe(200)
        expect(
          pending.body.deliveries.filter((delivery: any) => delivery.aggregateId === userId).map((delivery: any) => [
            delivery.eventType,
            delivery.version,
            delivery.status,
            delivery.attempts.length === 0
              ? "not attempted"
              : delivery.attempts.every((attempt: { outcome: string }) => attempt.outcome !== "delivered")
              ? "attempted, not delivered"
              : "delivered"
          ])
        ).toEqual([
          ["UserPhoneNumberUpdated", 2, "pending", "attempted, not delivered"],
          ["UserPersonalDataErased", 3, "pending", "not attempted"]
        ])
        const resend = (eventId: string) => send("POST", `${hook}/deliveries/${eventId}/resend`, { token })
        expectProblem(await resend(updated.body.event.id), 409, "delivery-pending")
        expectProblem(await resend(erased.body.event.id), 409, "delivery-pending")
        expectProblem(await resend(crypto.randomUUID()), 404, "delivery-not-found")
      } finally {
        expect((await send("DELETE", hook, { token })).status).toBe(204)
      }
    })

    it("delivers to a real receiver, signed, and re-sends a delivered webhook with the same webhook-id", async () => {
      const token = await webhookToken()
      const receiver = await startReceiver()
      const created = await send("POST", webhooks(), {
        token,
        json: { url: receiver.url, eventTypes: ["UserPhoneNumberUpdated"] }
      })
      expect(created.status, created.text).toBe(201)
      const hook = `${webhooks()}/${created.body.webhook.id}`
      try {
        const userId = await newUser("webhook")
        const updated = await update(userId, numbers.next().typed)
        const eventId: string = updated.body.event.id
        const first = await eventually("the webhook at the receiver", () => receiver.withId(eventId)[0])
        const verified = await verifyWebhook(created.body.secret, first.headers, first.body)
        expect(JSON.parse(verified.body)).toMatchObject({ type: "UserPhoneNumberUpdated", data: { id: eventId } })
        await eventually("the delivery recorded as delivered", async () => {
          const mine = await deliveriesOf(hook, token, userId)
          return mine[0]?.status === "delivered" ? mine : undefined
        })
        const delivered = await send("GET", `${hook}/deliveries?status=delivered`, { token })
        expect(delivered.body.deliveries.map((delivery: any) => delivery.eventId)).toEqual([eventId])
        const resent = await send("POST", `${hook}/deliveries/${eventId}/resend`, { token })
        expect(resent.status, resent.text).toBe(200)
        expect(resent.body.delivery).toMatchObject({ eventId })
        await eventually("the webhook again, with the same webhook-id", () => receiver.withId(eventId)[1])
      } finally {
        expect((await send("DELETE", hook, { token })).status).toBe(204)
        await receiver.close()
      }
    })
  })

  phoneVerificationCases({ target: t, send, newUser, nextNumber: numbers.next })
  phonePolicyConformance(t, observations)

  describe("personal data never leaks", () => {
    it("no event of any user this suite touched holds a raw number", async () => {
      const token = await admin()
      const digits = numbers.used.map(nationalDigits)
      expect(digits.length).toBeGreaterThan(40)
      for (const userId of [...createdUsers, t().userId]) {
        const trail = await events(userId, { limit: 100 }, { token })
        expect(trail.status, userId).toBe(200)
        for (const number of digits) expect(trail.text).not.toContain(number)
        for (const event of trail.body.events) {
          for (const [key, value] of Object.entries(event.data)) {
            if (typeof value === "string" && /phone/i.test(key)) {
              expect(value).toMatch(/^\*{4}\d{4}$/)
            }
          }
        }
      }
    })

    it("the server's output (its request log) holds no raw number", () => {
      const output = t().output()
      expect(output).toContain('"msg":"request"')
      for (const number of numbers.used) expect(output).not.toContain(nationalDigits(number))
    })
  })
}
