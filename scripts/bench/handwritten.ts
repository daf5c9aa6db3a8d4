/**
 * The hand-written baseline of `npm run bench` (issue 10): `POST /users/{id}/UpdatePhoneNumber` as one would write it
 * without Effect, on the runtime's own server and SQLite binding (Bun.serve and bun:sqlite under Bun, Deno.serve and
 * node:sqlite under Deno), doing on every request what the service does and caching nothing: jose's jwtVerify of
 * the bearer token, the API key looked up by its SHA-256, the body read and checked, the number parsed with the
 * service's rules, authorization, then one transaction that reads the user row and the chain head and writes the row
 * and its linked, masked event with the service's own statements. What the service spends above this is the price
 * of its framework; what it costs on Deno against Bun is the price of the runtime. Environment as the service's:
 * JWKS (or JWKS_URL), JWT_ISSUER, JWT_AUDIENCE, JWT_ALGORITHMS, PORT, HOST, USERS_API_DATA_DIR (its users.sqlite,
 * migrated and seeded). Not here: If-Match and Idempotency-Key (a 400), fingerprints, the bounded retry of a lost
 * race, other routes.
 */
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify } from "jose"
import { parsePhoneNumberFromString } from "libphonenumber-js/max"
import { join } from "node:path"
import { GENESIS_HASH, nextLink } from "../../src/audit/chain.js"
import { jwtConfigFromEnv } from "../../src/config.js"
import type { Actor, UserPhoneNumberUpdated } from "../../src/domain/events.js"
import { type E164, maskPhoneNumber } from "../../src/domain/phone.js"
import type { User } from "../../src/domain/user.js"
import { PROBLEMS as TABLE, type ProblemTag } from "../../src/http/problems.js"
import { ASYMMETRIC_ALGORITHMS } from "../../src/layers/auth/jwt.js"
import { applyMigrations, type RawSqlite, tuneSqlite } from "../../src/layers/sql/migrate.js"
import { changeStatements, SELECT_USER, toUser, type UserRow } from "../../src/layers/sql/rows.js"
import { hexOf, sha256Hex } from "../../src/sha256.js"

/** What this file needs of Deno, when it runs there. */
declare const Deno:
  | undefined
  | {
    serve(
      options: { port: number; hostname: string; onListen?: () => void },
      handler: (request: Request) => Promise<Response>
    ): { shutdown(): Promise<void> }
    addSignalListener(signal: "SIGTERM", handler: () => void): void
  }

const MAX_BODY_BYTES = 16 * 1024
const ROUTE = /^\/users\/([^/]+)\/UpdatePhoneNumber$/
const USER_ID = /^[A-Za-z0-9_-]{1,64}$/
const BEARER = /^Bearer[ ]+([^ ]+)[ ]*$/i
const JSON_TYPE = /^application\/(json|[a-z0-9.+-]+\+json)$/
const INTERNATIONAL = /^(\+|00)[0-9][0-9 .\-()]*$/
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/
const NUMBER_TAKEN = /UNIQUE constraint failed: users\.organization_id, users\.phone_number/

const of = (tag: ProblemTag) => [TABLE[tag].status, TABLE[tag].title] as const

// The refusals of this endpoint: the service's code, status and title (src/http/problems.ts), and a detail.
const PROBLEMS = {
  "route-not-found": [404, "Not found", "No such route."],
  "missing-api-key": [...of("Unauthenticated"), "The X-API-Key header is required."],
  "missing-token": [...of("Unauthenticated"), "An Authorization: Bearer <JWT> header is required."],
  "invalid-token": [...of("Unauthenticated"), "The token is malformed, expired, not trusted or lacks a claim."],
  "invalid-api-key": [...of("Unauthenticated"), "The API key is unknown or revoked."],
  "organization-mismatch": [...of("Forbidden"), "The service token belongs to another organization than the API key."],
  "invalid-user-id": [...of("InvalidRequest"), "The user id must be 1 to 64 characters of A-Z, a-z, 0-9, _ or -."],
  "unsupported-header": [...of("InvalidRequest"), "The hand-written baseline takes no If-Match or Idempotency-Key."],
  "unsupported-media-type": [...of("UnsupportedMediaType"), "Send the body as application/json."],
  "payload-too-large": [...of("PayloadTooLarge"), `The body exceeds ${MAX_BODY_BYTES} bytes.`],
  "malformed-json": [...of("InvalidRequest"), "The body is not valid UTF-8 JSON."],
  "invalid-body": [...of("InvalidRequest"), "Invalid body: one field, phoneNumber, a string (1 to 64) or null."],
  "not-own-user": [...of("Forbidden"), "A user token may act only on its own user."],
  "missing-scope": [...of("Forbidden"), "The service token lacks the scope users:write."],
  "invalid-phone-number": [...of("InvalidPhoneNumber"), "The phone number is not accepted."],
  "user-not-found": [...of("UserNotFound"), "No user with this id exists in your organization."],
  "user-erased": [...of("UserErased"), "The user's personal data was erased; it takes no new personal data."],
  "phone-number-in-use": [...of("PhoneNumberInUse"), "Another user of your organization has this phone number."],
  "store-unavailable": [...of("StoreUnavailable"), "The store or the key set did not answer; retry shortly."]
} as const satisfies Record<string, readonly [number, string, string]>

/** Thrown for a refusal; not an Error, so no stack is captured. */
class Problem {
  constructor(readonly code: keyof typeof PROBLEMS, readonly hint?: string) {}
}

const jwt = jwtConfigFromEnv(process.env)
const keys = jwt.jwks instanceof URL ? createRemoteJWKSet(jwt.jwks) : createLocalJWKSet(jwt.jwks)
const verifyOptions = {
  issuer: jwt.issuer,
  audience: jwt.audience,
  algorithms: [...(jwt.algorithms ?? ASYMMETRIC_ALGORITHMS)],
  clockTolerance: 5,
  requiredClaims: ["exp", "sub"]
}
/** The identity provider's key set could not be fetched (JWKS_URL): the service answers 503 then, not 401. */
const keySetFailed = (error: unknown) => error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid

/** An SQLite connection as migrate.ts takes it, and the statement calls used here: bun:sqlite and node:sqlite share them. */
interface Connection extends RawSqlite {
  prepare(sql: string): ReturnType<RawSqlite["prepare"]> & { get(...params: Array<string | number | null>): unknown }
  close(): unknown
}

const file = join(process.env.USERS_API_DATA_DIR ?? "data", "users.sqlite")
const db: Connection = typeof Deno === "undefined"
  ? new (await import("bun:sqlite")).Database(file, { readwrite: true })
  : new (await import("node:sqlite")).DatabaseSync(file)
tuneSqlite(db)
applyMigrations(db)
// Statements prepared once and kept, as bun:sqlite's query() would.
const prepared = new Map<string, ReturnType<Connection["prepare"]>>()
const statement = (sql: string) => {
  let found = prepared.get(sql)
  if (found === undefined) prepared.set(sql, found = db.prepare(sql))
  return found
}
const selectKey = (hash: string) =>
  statement("SELECT organization_id FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL").get(hash) as
    | { organization_id: string }
    | null
    | undefined
const selectUser = (organizationId: string, userId: string) =>
  (statement(SELECT_USER).get(organizationId, userId) ?? null) as UserRow | null

/** One transaction around `work`, rolled back if it throws (bun:sqlite's db.transaction, on either binding). */
const transaction = <A extends Array<unknown>, R>(work: (...args: A) => R) => (...args: A): R => {
  statement("BEGIN").run()
  try {
    const result = work(...args)
    statement("COMMIT").run()
    return result
  } catch (error) {
    statement("ROLLBACK").run()
    throw error
  }
}

/** src/app/context.ts `uuidv7`, an Effect there, with the clock read directly. */
const uuidv7 = () => {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  for (let i = 5, ms = Date.now(); i >= 0; i--, ms = Math.floor(ms / 256)) bytes[i] = ms % 256
  bytes[6] = (bytes[6]! & 0x0f) | 0x70
  bytes[8] = (bytes[8]! & 0x3f) | 0x80
  const hex = hexOf(bytes)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

type Principal = { readonly organizationId: string; readonly actor: Actor; readonly scopes: ReadonlyArray<string> }

/** src/layers/auth/auth.ts and jwt.ts without their caches: the token verified and the key looked up every time. */
const authenticate = async (request: Request): Promise<Principal> => {
  const apiKey = request.headers.get("x-api-key")?.trim() ?? ""
  const token = BEARER.exec(request.headers.get("authorization") ?? "")?.[1] ?? ""
  if (apiKey === "") throw new Problem("missing-api-key")
  if (token === "") throw new Problem("missing-token")
  if (token.length > 8192) throw new Problem("invalid-token")
  if (apiKey.length > 8192) throw new Problem("invalid-api-key")
  const { payload } = await jwtVerify(token, keys, verifyOptions).catch((error) => {
    throw keySetFailed(error) ? error : new Problem("invalid-token")
  })
  const { org_id: org, scope, sub } = payload
  if (typeof sub !== "string" || sub === "") throw new Problem("invalid-token")
  if (org != null && (typeof org !== "string" || org === "")) throw new Problem("invalid-token")
  const organizationId = selectKey(sha256Hex(apiKey))?.organization_id
  if (organizationId === undefined) throw new Problem("invalid-api-key")
  if (typeof org !== "string") return { organizationId, actor: { type: "user", id: sub }, scopes: [] }
  if (org !== organizationId) throw new Problem("organization-mismatch")
  const scopes = typeof scope === "string" ? scope.split(" ") : []
  return { organizationId, actor: { type: "service", id: sub }, scopes }
}

const utf8 = new TextDecoder("utf-8", { fatal: true })

/** src/http/body.ts and api.ts's UpdatePhoneNumberBody: JSON, at most 16 KiB, exactly {phoneNumber}. */
const readPhoneNumber = async (request: Request): Promise<string | null> => {
  const mediaType = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase()
  if (!JSON_TYPE.test(mediaType)) throw new Problem("unsupported-media-type")
  if (Number(request.headers.get("content-length") ?? "0") > MAX_BODY_BYTES) throw new Problem("payload-too-large")
  const bytes = new Uint8Array(await request.arrayBuffer())
  if (bytes.byteLength > MAX_BODY_BYTES) throw new Problem("payload-too-large")
  let body: unknown
  try {
    body = JSON.parse(utf8.decode(bytes))
  } catch {
    throw new Problem("malformed-json")
  }
  const fields = typeof body === "object" && body !== null && !Array.isArray(body) ? Object.keys(body) : []
  const value = (body as { phoneNumber?: unknown } | null)?.phoneNumber
  const valid = value === null || (typeof value === "string" && value.length >= 1 && value.length <= 64)
  if (fields.length !== 1 || fields[0] !== "phoneNumber" || !valid) throw new Problem("invalid-body")
  return value as string | null
}

/** src/domain/phone.ts `parsePhoneNumber`'s rules (an Either there): international form, valid, E.164. */
const parsePhone = (input: string): E164 => {
  const trimmed = input.trim()
  if (trimmed.toLowerCase() === "null") {
    throw new Problem("invalid-phone-number", 'To remove the phone number, send JSON null (not the string "null").')
  }
  if (!INTERNATIONAL.test(trimmed)) {
    const hint = "Use the international form: a leading + or 00, then the country code and the number."
    throw new Problem("invalid-phone-number", hint)
  }
  const parsed = parsePhoneNumberFromString(trimmed.startsWith("00") ? `+${trimmed.slice(2)}` : trimmed)
  if (parsed === undefined || !parsed.isValid()) {
    throw new Problem("invalid-phone-number", "The number is not a valid phone number for its country.")
  }
  return parsed.number as E164
}

/** One transaction: the user row (with its chain head) read, the decision, the row and its linked event written. */
const update = transaction((principal: Principal, userId: string, phoneNumber: E164 | null, requestId: string) => {
  const { actor, organizationId } = principal
  const row = selectUser(organizationId, userId)
  if (row === null) throw new Problem("user-not-found")
  const user = toUser(row)
  if (user.erasedAt !== null) throw new Problem("user-erased")
  if (user.phoneNumber === phoneNumber) return { aggregateId: userId, version: user.version, event: null }
  const state: User = { ...user, phoneNumber, phoneNumberVerified: false, version: user.version + 1 }
  // Fields in the order of the service's answer (src/http/api.ts); data and metadata as decide() builds them.
  const event: UserPhoneNumberUpdated = {
    id: uuidv7(),
    type: "UserPhoneNumberUpdated",
    aggregateType: "User",
    aggregateId: userId,
    version: state.version,
    occurredAt: new Date().toISOString(),
    data: {
      maskedPhoneNumber: maskPhoneNumber(phoneNumber),
      previousMaskedPhoneNumber: maskPhoneNumber(user.phoneNumber),
      phoneNumberVerified: false
    },
    metadata: { organizationId, actor, requestId }
  }
  const previousHash = row.head_hash ?? GENESIS_HASH
  const link = nextLink(previousHash, event)
  for (const s of changeStatements({ state, event, previousHash }, link)) statement(s.sql).run(...s.params)
  return { aggregateId: userId, version: state.version, event }
})

/** The service's order: authentication, the path's id, headers, the body, authorization, the number, the store. */
const updatePhoneNumber = async (request: Request, userId: string, requestId: string, log: Record<string, unknown>) => {
  const principal = await authenticate(request)
  const { actor, scopes } = principal
  log.organizationId = principal.organizationId
  log.actor = `${actor.type}:${actor.id}`
  if (!USER_ID.test(userId)) throw new Problem("invalid-user-id")
  if (request.headers.get("if-match") || request.headers.get("idempotency-key")) throw new Problem("unsupported-header")
  const input = await readPhoneNumber(request)
  if (actor.type === "user" && actor.id !== userId) throw new Problem("not-own-user")
  if (actor.type === "service" && !scopes.includes("users:write")) throw new Problem("missing-scope")
  const result = update(principal, userId, input === null ? null : parsePhone(input), requestId)
  return answer(200, { success: true, ...result }, { etag: `"${result.version}"`, "x-request-id": requestId })
}

const answer = (status: number, body: unknown, headers: Record<string, string>) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } })

const problemAnswer = (error: unknown, requestId: string, log: Record<string, unknown>) => {
  const { code, hint } = error instanceof Problem
    ? error
    : new Problem(
      error instanceof Error && NUMBER_TAKEN.test(error.message) ? "phone-number-in-use" : "store-unavailable"
    )
  const [status, title, detail] = PROBLEMS[code]
  const headers: Record<string, string> = { "content-type": "application/problem+json", "x-request-id": requestId }
  if (status === 401) {
    headers["www-authenticate"] = `Bearer realm="users-api"${code === "invalid-token" ? `, error="invalid_token"` : ""}`
  }
  if (status === 503) headers["retry-after"] = "1"
  const body = { type: `urn:users-api:problem:${code}`, title, status, detail, code, requestId, success: false, hint }
  log.code = code
  return answer(status, body, headers)
}

/** Where the log line goes: stdout, as the service's (profile.ts, calling `handle` in-process, silences both). */
export type LogLineSink = (line: string) => void

/** The endpoint, as a fetch handler: what the server below serves, and what profile.ts calls in-process. */
export const handle = async (request: Request, log: LogLineSink = console.log): Promise<Response> => {
  const started = Date.now()
  const offered = request.headers.get("x-request-id")
  const requestId = offered !== null && SANE_REQUEST_ID.test(offered) ? offered : uuidv7()
  const path = new URL(request.url).pathname
  if (request.method === "GET" && path === "/healthz") return answer(200, { status: "ok" }, {})
  const userId = request.method === "POST" ? ROUTE.exec(path)?.[1] : undefined
  const line: Record<string, unknown> = { level: "info", msg: "request", requestId, method: request.method }
  let response: Response
  try {
    if (userId === undefined) throw new Problem("route-not-found")
    response = await updatePhoneNumber(request, userId, requestId, line)
  } catch (error) {
    response = problemAnswer(error, requestId, line)
  }
  // The service's one log line per request (src/http/edge.ts), to `log`: stdout, as there, unless told otherwise.
  const { status } = response
  const level = status < 500 ? "info" : "error"
  const route = userId === undefined ? "(unmatched)" : "/users/:id/UpdatePhoneNumber"
  log(JSON.stringify({ ...line, level, route, status, durationMs: Date.now() - started }))
  return response
}

/**
 * Serves `fetch` (by default `handle`) on the runtime's own server (Bun.serve, Deno.serve), until SIGTERM; `name` is
 * what its first line calls it. handwritten-httpapi.ts serves `handle` behind an HttpApi route this way.
 */
export const serve = (
  fetch: (request: Request) => Promise<Response> = (request) => handle(request),
  name = "hand-written baseline"
) => {
  const port = Number(process.env.PORT ?? 8790)
  const hostname = process.env.HOST ?? "127.0.0.1"
  const runtime = typeof Deno === "undefined" ? "Bun" : "Deno"
  const stop: () => Promise<void> = typeof Deno === "undefined"
    ? (() => {
      // Bun's own bound on any body, chunked ones too; the 16 KiB rule is above.
      const server = Bun.serve({ port, hostname, maxRequestBodySize: 1024 * 1024, fetch })
      return () => server.stop(true)
    })()
    : (() => {
      const server = Deno.serve({ port, hostname, onListen: () => {} }, fetch)
      return () => server.shutdown()
    })()
  console.log(`users-api ${name} (${runtime}) listening on http://${hostname}:${port}`)
  const onTerm = async () => {
    await stop()
    db.close() // checkpoints the WAL, as the service's dispose does
    process.exit(0)
  }
  if (typeof Deno === "undefined") process.on("SIGTERM", onTerm)
  else Deno.addSignalListener("SIGTERM", onTerm)
}

if (import.meta.main) serve()
