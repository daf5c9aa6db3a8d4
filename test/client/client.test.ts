/**
 * The typed client (src/client.ts) against the contract and the real fetch handler, in process: every status every
 * endpoint declares decodes into a Problem (with the answer's headers), every endpoint's success decodes into its
 * declared schema without losing a field, both credentials go on every call, an undeclared answer is an
 * HttpClientError, and the client loads nothing of the server. The conformance suite (test/conformance) calls the
 * running runtimes through the same client.
 */
import { FetchHttpClient, HttpApi, HttpClientError, HttpServerResponse } from "@effect/platform"
import { Arbitrary, Effect, Either, FastCheck, Layer, ParseResult, Redacted, Schema } from "effect"
import { readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  makeUsersClient,
  Problem,
  UserEvent,
  UsersApi,
  type UsersApiClient,
  UsersClient,
  type UsersClientOptions
} from "../../src/client.js"
import { problemResponse, PROBLEMS, type ProblemTag, toProblem } from "../../src/http/problems.js"
import { makeSqliteFixture, type SqliteFixture } from "../support/sqlite-fixture.js"

type Fetch = (request: Request) => Promise<Response>

/** An HttpClient whose fetch is `handler` (the real fetch handler, or a stand-in), recording every request. */
const httpClientOver = (handler: Fetch, sent: Array<Request> = []) =>
  FetchHttpClient.layer.pipe(
    Layer.provide(
      Layer.succeed(
        FetchHttpClient.Fetch,
        (async (input: RequestInfo | URL, init?: RequestInit) => {
          const request = new Request(input, init)
          sent.push(request.clone() as Request)
          return handler(request)
        }) as typeof fetch
      )
    )
  )

const run = <A, E>(
  handler: Fetch,
  options: Omit<UsersClientOptions, "baseUrl">,
  call: (client: UsersApiClient) => Effect.Effect<A, E>,
  sent?: Array<Request>
): Promise<Either.Either<A, E>> =>
  Effect.runPromise(
    makeUsersClient({ baseUrl: "http://users.test", ...options }).pipe(
      Effect.flatMap(call),
      Effect.either,
      Effect.provide(httpClientOver(handler, sent))
    )
  )

/** Every endpoint of the contract, with what the client needs to call it and what the contract declares for it. */
interface EndpointCase {
  readonly group: string
  readonly name: string
  readonly method: string
  readonly errors: ReadonlyArray<number>
  readonly successes: ReadonlyArray<number>
  readonly request: Record<string, unknown>
}

const sample = (schema: Schema.Schema<any, any, never>) => FastCheck.sample(Arbitrary.make(schema), 1)[0]

const endpoints: Array<EndpointCase> = []
HttpApi.reflect(UsersApi, {
  onGroup: () => {},
  onEndpoint: ({ endpoint, errors, group, successes }) => {
    const option = (o: { _tag: "Some"; value: any } | { _tag: "None" }) => o._tag === "Some" ? sample(o.value) : {}
    endpoints.push({
      group: group.identifier,
      name: endpoint.name,
      method: endpoint.method,
      errors: [...errors.keys()],
      successes: [...successes.keys()],
      // Valid inputs drawn from the endpoint's own schemas, so an endpoint added to the contract is covered as is.
      request: {
        path: option(endpoint.pathSchema as any),
        payload: option(endpoint.payloadSchema as any),
        headers: {},
        urlParams: {}
      }
    })
  }
})

const method = (client: UsersApiClient, endpoint: EndpointCase) =>
  (client as any)[endpoint.group][endpoint.name] as (request: unknown) => Effect.Effect<unknown, unknown>

/** The problem the server renders for an error of `tag`, through its own rendering (problems.ts), as the edge sends it. */
const serverProblem = async (tag: ProblemTag): Promise<Response> => {
  const row = PROBLEMS[tag]
  const error = {
    _tag: tag,
    reason: row.codes[0],
    code: row.codes[0],
    detail: "What went wrong.",
    limitBytes: 16_384,
    expected: "1",
    current: 2,
    retryAfterSeconds: 7,
    hint: "How to fix it."
  }
  const response = HttpServerResponse.toWeb(problemResponse(toProblem(error as any, "req-contract")))
  response.headers.set("x-request-id", "req-contract")
  return response
}

const tagsAt = (status: number) =>
  (Object.keys(PROBLEMS) as Array<ProblemTag>).filter((t) => PROBLEMS[t].status === status)

describe("the contract, as the client decodes it", () => {
  it("covers every endpoint", () => {
    expect(endpoints.map((e) => `${e.group}.${e.name}`)).toEqual(expect.arrayContaining([
      "users.createUser",
      "users.updatePhoneNumber",
      "users.markPhoneNumberVerified",
      "users.erasePersonalData",
      "users.getUser",
      "users.listEvents",
      "audit.auditHead",
      "health.health",
      "verification.confirmPhoneNumberChange",
      "verification.setCodeDelivery"
    ]))
    const update = endpoints.find((e) => e.name === "updatePhoneNumber")!
    expect([...update.errors].sort()).toEqual([400, 401, 403, 404, 409, 410, 412, 413, 415, 422, 429, 503])
  })

  it("decodes every error status of every endpoint into a Problem, with the answer's headers", async () => {
    let checked = 0
    for (const endpoint of endpoints) {
      for (const status of endpoint.errors) {
        for (const tag of tagsAt(status)) {
          const answer = await serverProblem(tag)
          const wire = await answer.clone().json()
          const outcome = await run(
            () => Promise.resolve(answer),
            { token: "t", apiKey: "k" },
            (client) => method(client, endpoint)(endpoint.request)
          )
          const where = `${endpoint.group}.${endpoint.name} ${status} ${tag}`
          expect(Either.isLeft(outcome), where).toBe(true)
          const problem = Either.getLeft(outcome).pipe((o) => o._tag === "Some" ? o.value : undefined)
          expect(problem, where).toBeInstanceOf(Problem)
          const { headers, ...fields } = { ...(problem as Problem) }
          expect(fields, where).toEqual(wire)
          expect(headers, where).toEqual(Object.fromEntries(answer.headers))
          expect((problem as Problem)._tag).toBe("Problem")
          checked++
        }
      }
    }
    expect(checked).toBeGreaterThan(60)
  })

  it("gives a Problem the answer's own headers: WWW-Authenticate on a 401, Retry-After on a 503", async () => {
    const update = endpoints.find((e) => e.name === "updatePhoneNumber")!
    const call = async (tag: ProblemTag) => {
      const answer = await serverProblem(tag)
      const outcome = await run(
        () => Promise.resolve(answer),
        { token: "t", apiKey: "k" },
        (client) => client.users.updatePhoneNumber(update.request as any)
      )
      return Either.getLeft(outcome).pipe((o) => (o._tag === "Some" ? o.value : undefined)) as Problem
    }
    expect((await call("Unauthenticated")).headers?.["www-authenticate"]).toMatch(/^Bearer realm="users-api"/)
    expect((await call("IdentityProviderUnavailable")).headers?.["retry-after"]).toBe("7")
    expect((await call("StoreUnavailable")).headers?.["retry-after"]).toBe("1")
  })

  it("fails with an HttpClientError on an answer the endpoint does not declare, and a ParseError on a body that is not its schema", async () => {
    const update = endpoints.find((e) => e.name === "updatePhoneNumber")!
    const call = (answer: Response) =>
      run(
        () => Promise.resolve(answer),
        { token: "t", apiKey: "k" },
        (client) => client.users.updatePhoneNumber(update.request as any)
      )
    const internal = Either.getLeft(await call(await serverProblem("InternalError"))).pipe((o) =>
      o._tag === "Some" ? o.value : undefined
    )
    expect(internal).toBeInstanceOf(HttpClientError.ResponseError)
    expect((internal as HttpClientError.ResponseError).response.status).toBe(500)
    const notAProblem = new Response('{"error":"nope"}', {
      status: 422,
      headers: { "content-type": "application/json" }
    })
    const parse = Either.getLeft(await call(notAProblem)).pipe((o) => o._tag === "Some" ? o.value : undefined)
    expect(ParseResult.isParseError(parse)).toBe(true)
    const created = new Response('{"success":true}', { status: 201, headers: { "content-type": "application/json" } })
    // A 201 where the contract declares a 200: not a success.
    expect(Either.getLeft(await call(created)).pipe((o) => o._tag === "Some" ? o.value : undefined)).toBeInstanceOf(
      HttpClientError.ResponseError
    )
  })
})

describe("the client against the fetch handler", () => {
  let f: SqliteFixture
  let service: string
  let admin: string
  beforeAll(async () => {
    f = await makeSqliteFixture()
    service = await f.serviceToken()
    admin = await f.serviceToken("users:read users:write users:erase users:pii:read audit:read")
  })
  afterAll(() => f.dispose())

  /** A call, and the JSON on the wire of its answer (the client has read the body; the response keeps it). */
  const withWire = <A, E>(
    token: string,
    call: (
      client: UsersApiClient
    ) => Effect.Effect<readonly [A, { readonly arrayBuffer: Effect.Effect<ArrayBuffer, any> }], E>,
    sent?: Array<Request>
  ) =>
    run(
      (request) => f.fetch(request),
      { token: Redacted.make(token), apiKey: f.tenant.apiKey },
      (client) =>
        Effect.flatMap(call(client), ([value, response]) =>
          Effect.map(response.arrayBuffer, (bytes) => ({ value, wire: JSON.parse(new TextDecoder().decode(bytes)) }))),
      sent
    ).then(Either.getOrThrow)

  it("decodes every endpoint's success into its declared schema, losing nothing of the answer, with both credentials on every call", async () => {
    const sent: Array<Request> = []
    const id = "client_user"
    const decoded: Array<unknown> = []
    const check = async <A>(
      token: string,
      call: (client: UsersApiClient) => Effect.Effect<readonly [A, any], unknown>
    ): Promise<A> => {
      const { value, wire } = await withWire(token, call, sent)
      expect(value).toEqual(wire)
      decoded.push(value)
      return value
    }
    const created = await check(
      service,
      (c) => c.users.createUser({ payload: { id, phoneNumber: "+1 415 555 2671" }, headers: {}, withResponse: true })
    )
    expect(created.event?.type).toBe("UserCreated")
    const updated = await check(service, (c) =>
      c.users.updatePhoneNumber({
        path: { id },
        payload: { phoneNumber: "+14155552672" },
        headers: { "if-match": '"1"', "idempotency-key": "client-1" },
        withResponse: true
      }))
    expect(updated).toMatchObject({ version: 2, event: { type: "UserPhoneNumberUpdated" } })
    await check(admin, (c) =>
      c.users.markPhoneNumberVerified({
        path: { id },
        payload: { phoneNumber: "+14155552672" },
        headers: {},
        withResponse: true
      }))
    const user = await check(admin, (c) => c.users.getUser({ path: { id }, withResponse: true }))
    expect(user).toMatchObject({ phoneNumber: "+14155552672", phoneNumberVerified: true })
    await check(admin, (c) => c.users.erasePersonalData({ path: { id }, headers: {}, withResponse: true }))
    const page = await check(
      service,
      (c) => c.users.listEvents({ path: { id }, urlParams: { limit: 10 }, withResponse: true })
    )
    expect(page.events.map((e) => e.type)).toEqual([
      "UserCreated",
      "UserPhoneNumberUpdated",
      "UserPhoneNumberVerified",
      "UserPersonalDataErased"
    ])
    for (const event of page.events) expect(Schema.is(UserEvent)(event)).toBe(true)
    await check(
      admin,
      (c) => c.audit.auditHead({ path: { organizationId: f.tenant.organizationId }, withResponse: true })
    )
    await check(service, (c) => c.health.health({ withResponse: true }))
    expect(decoded).toHaveLength(8)
    for (const request of sent) {
      expect(request.headers.get("authorization"), request.url).toMatch(/^Bearer ey/)
      expect(request.headers.get("x-api-key"), request.url).toBe(f.tenant.apiKey)
    }
    expect(sent.find((r) => r.url.endsWith("/UpdatePhoneNumber"))!.headers.get("if-match")).toBe('"1"')
  })

  it("answers the server's refusals as Problems, the server's codes and the client's headers", async () => {
    const id = "client_refused"
    const create = await run(
      (r) => f.fetch(r),
      { token: service, apiKey: f.tenant.apiKey },
      (c) => c.users.createUser({ payload: { id }, headers: {} })
    )
    expect(Either.isRight(create)).toBe(true)
    const refusal = async (
      options: { token?: string; apiKey?: string },
      call: (client: UsersApiClient) => Effect.Effect<unknown, unknown>
    ) => {
      const outcome = await run(
        (r) => f.fetch(r),
        { token: options.token ?? service, apiKey: options.apiKey ?? f.tenant.apiKey },
        call
      )
      const problem = Either.getLeft(outcome).pipe((o) => o._tag === "Some" ? o.value : undefined) as Problem
      expect(problem).toBeInstanceOf(Problem)
      expect(problem.requestId).toBe(problem.headers?.["x-request-id"])
      return `${problem.status} ${problem.code}`
    }
    const update =
      (phoneNumber: string | null, headers: Record<string, string> = {}, userId = id) => (client: UsersApiClient) =>
        client.users.updatePhoneNumber({ path: { id: userId }, payload: { phoneNumber }, headers })
    expect(await refusal({}, update(null, { "if-match": "two" }))).toBe("400 invalid-if-match")
    expect(await refusal({}, update(null, { "idempotency-key": "tab\there" }))).toBe("400 invalid-idempotency-key")
    expect(await refusal({ apiKey: "uak_nope" }, update(null))).toBe("401 invalid-api-key")
    expect(await refusal({ token: "not.a.jwt" }, update(null))).toBe("401 invalid-token")
    expect(await refusal({ token: await f.userToken("someone_else") }, update(null))).toBe("403 not-own-user")
    expect(await refusal({}, update(null, {}, "ghost"))).toBe("404 user-not-found")
    expect(await refusal({}, (c) => c.users.createUser({ payload: { id }, headers: {} }))).toBe(
      "409 user-already-exists"
    )
    expect(await refusal({}, update("+14155550100", { "if-match": '"9"' }))).toBe("412 version-mismatch")
    expect(await refusal({}, update("+1 415 555 267"))).toBe("422 invalid-phone-number")
    expect(await refusal({}, (c) => c.users.listEvents({ path: { id: "ghost" }, urlParams: {} }))).toBe(
      "404 user-not-found"
    )
    const erased = await run(
      (r) => f.fetch(r),
      { token: admin, apiKey: f.tenant.apiKey },
      (c) => c.users.erasePersonalData({ path: { id }, headers: {} })
    )
    expect(Either.getOrThrow(erased).event?.type).toBe("UserPersonalDataErased")
    expect(await refusal({}, update(null))).toBe("410 user-erased")
    // Caught by its tag, as a program would.
    const caught = await Effect.runPromise(
      makeUsersClient({ baseUrl: "http://users.test", token: service, apiKey: f.tenant.apiKey }).pipe(
        Effect.flatMap((client) =>
          client.users.updatePhoneNumber({ path: { id }, payload: { phoneNumber: null }, headers: {} })
        ),
        Effect.map(() => "no problem"),
        Effect.catchTag("Problem", (problem) => Effect.succeed(problem.code)),
        Effect.provide(httpClientOver((r) => f.fetch(r)))
      )
    )
    expect(caught).toBe("user-erased")
  })

  it("refuses, before sending anything, what the contract refuses", async () => {
    const sent: Array<Request> = []
    const outcome = await run(
      (r) => f.fetch(r),
      { token: service, apiKey: f.tenant.apiKey },
      (c) => c.users.updatePhoneNumber({ path: { id: "a.b" }, payload: { phoneNumber: "" }, headers: {} }),
      sent
    )
    expect(Either.getLeft(outcome).pipe((o) => o._tag === "Some" && ParseResult.isParseError(o.value))).toBe(true)
    expect(sent).toHaveLength(0)
  })

  it("is a layer too", async () => {
    const program = Effect.flatMap(UsersClient, (client) => client.health.health())
    const layer = UsersClient.layerWithoutFetch({ baseUrl: "http://users.test", token: service, apiKey: "k" }).pipe(
      Layer.provide(httpClientOver((r) => f.fetch(r)))
    )
    expect(await Effect.runPromise(Effect.provide(program, layer))).toEqual({ status: "ok" })
  })
})

describe("what the client loads", () => {
  it("is the package's ./client export, compiled from src/client.ts (package.test.ts installs and runs it)", () => {
    const manifest = JSON.parse(readFileSync(resolve(__dirname, "../../package.json"), "utf8"))
    expect(manifest.exports).toEqual({
      "./client": { types: "./dist/client/client.d.ts", default: "./dist/client/client.js" }
    })
    expect(manifest.scripts["build:client"]).toBe("bun scripts/build-client.ts")
    expect(readFileSync(resolve(__dirname, "../../scripts/build-client.ts"), "utf8")).toContain('"src/client.ts"')
  })

  it("imports nothing of the server: only effect and @effect/platform, and no node: module", () => {
    const root = resolve(__dirname, "../..")
    const seen = new Set<string>()
    const packages = new Set<string>()
    const visit = (file: string) => {
      if (seen.has(file)) return
      seen.add(file)
      const source = readFileSync(file, "utf8")
      // Type-only imports are erased: they load nothing.
      for (const [, specifier] of source.matchAll(/^(?:import|export)\s(?!type\s)[^"']*?from\s+["']([^"']+)["']/gm)) {
        if (specifier!.startsWith(".")) visit(resolve(dirname(file), specifier!.replace(/\.js$/, ".ts")))
        else {packages.add(
            specifier!.startsWith("@") ? specifier!.split("/").slice(0, 2).join("/") : specifier!.split("/")[0]!
          )}
      }
    }
    visit(join(root, "src/client.ts"))
    expect([...packages].sort()).toEqual(["@effect/platform", "effect"])
    const files = [...seen].map((file) => relative(root, file)).sort()
    // Of the audit, only the consumer's side: the feed's check (Web Crypto) and the canonical JSON it hashes.
    const consumerSide = new Set(["src/audit/canonical-json.ts", "src/audit/feed.ts"])
    expect(files.filter((file) => /src\/(layers|dev|admin|audit)\//.test(file) && !consumerSide.has(file))).toEqual([])
    expect(files).toEqual(expect.arrayContaining([...consumerSide]))
    expect(files).not.toContain("src/domain/phone.ts")
  })
})
