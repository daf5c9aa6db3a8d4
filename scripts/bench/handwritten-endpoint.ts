/**
 * The hand-written baselines' endpoint: `POST /users/{id}/UpdatePhoneNumber` as one would write it without
 * Effect, doing on every request what the service does and caching nothing: jose's jwtVerify of the bearer token, the
 * API key looked up by its SHA-256, the body read and checked, the number parsed with the service's rules,
 * authorization, then one atomic unit that reads the user row and the chain head and writes the row and its linked,
 * masked event with the service's own statements. What the service spends above it is the price of its framework.
 * The store is the caller's (`HandStore`): an SQLite transaction in handwritten.ts (Bun.serve and bun:sqlite, or
 * Deno.serve and node:sqlite), a read and one `batch()` on D1 in handwritten-worker.ts. Not here: If-Match and
 * Idempotency-Key (a 400), fingerprints, the bounded retry of a lost race, other routes.
 */
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify } from "jose"
import { parsePhoneNumberFromString } from "libphonenumber-js/max"
import { GENESIS_HASH, nextLink } from "../../src/audit/chain.js"
import type { Actor, UserPhoneNumberUpdated } from "../../src/domain/events.js"
import { type E164, maskPhoneNumber } from "../../src/domain/phone.js"
import type { User } from "../../src/domain/user.js"
import { PROBLEMS as TABLE, type ProblemTag } from "../../src/http/problems.js"
import { ASYMMETRIC_ALGORITHMS, type JwtConfig } from "../../src/layers/auth/jwt.js"
import { changeStatements, type Statement, toUser, type UserRow } from "../../src/layers/sql/rows.js"
import { hexOf, sha256Hex } from "../../src/sha256.js"

// The number's lookup key beside it, as the service writes it, where the schema has one (migration 0010 on). A path
// in a variable: the Worker's bundle leaves it out, so the hand-written Worker writes no key.
const KEYS_MODULE = "../../src/layers/phone-number-keys.js"
const keying = await import(KEYS_MODULE).then(
  (keys) => keys.numberKeying(undefined, "the hand-written endpoint's own key"),
  () => undefined
)

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

/** The identity provider's key set could not be fetched (JWKS_URL): the service answers 503 then, not 401. */
const keySetFailed = (error: unknown) => error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid

/** The API key's lookup, as every baseline's store runs it. */
export const SELECT_API_KEY = "SELECT organization_id FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL"

/** What an update answers, and what it writes. */
export interface Change {
  readonly result: {
    readonly aggregateId: string
    readonly version: number
    readonly event: UserPhoneNumberUpdated | null
  }
  readonly statements: ReadonlyArray<Statement>
}

/** Where a baseline keeps its data. */
export interface HandStore {
  /** The organization of the API key whose SHA-256 this is, unless the key is unknown or revoked. */
  readonly organizationOfKey: (hash: string) => string | undefined | Promise<string | undefined>
  /**
   * Reads the user's row with its chain head, gives it to `change`, and writes the statements it returns, as one
   * atomic unit (a throw of `change` writes nothing); answers its result.
   */
  readonly update: (
    organizationId: string,
    userId: string,
    change: (row: UserRow | null) => Change
  ) => Change["result"] | Promise<Change["result"]>
}

/** Where the log line goes: stdout, as the service's (profile.ts, calling the handler in-process, silences both). */
export type LogLineSink = (line: string) => void

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

/**
 * The command on the user's row as read (with its chain head): what to answer, and the statements that write the row
 * and its linked, masked event (none when the number is already the user's).
 */
const decide = (
  row: UserRow | null,
  principal: Principal,
  userId: string,
  phoneNumber: E164 | null,
  requestId: string
): Change => {
  const { actor, organizationId } = principal
  if (row === null) throw new Problem("user-not-found")
  const user = toUser(row)
  if (user.erasedAt !== null) throw new Problem("user-erased")
  if (user.phoneNumber === phoneNumber) {
    return { result: { aggregateId: userId, version: user.version, event: null }, statements: [] }
  }
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
  const statements = changeStatements({ state, event, previousHash }, nextLink(previousHash, event), keying?.keyOf)
  return { result: { aggregateId: userId, version: state.version, event }, statements }
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

/** The endpoint over `store`, trusting the tokens `jwt` describes. */
export const makeHandle = (jwt: JwtConfig, store: HandStore) => {
  const keys = jwt.jwks instanceof URL ? createRemoteJWKSet(jwt.jwks) : createLocalJWKSet(jwt.jwks)
  const verifyOptions = {
    issuer: jwt.issuer,
    audience: jwt.audience,
    algorithms: [...(jwt.algorithms ?? ASYMMETRIC_ALGORITHMS)],
    clockTolerance: 5,
    requiredClaims: ["exp", "sub"]
  }

  /** src/layers/auth/auth.ts and jwt.ts without their caches: the token verified and the key looked up every time. */
  const verify = async (token: string, apiKey: string): Promise<Principal> => {
    const { payload } = await jwtVerify(token, keys, verifyOptions).catch((error) => {
      throw keySetFailed(error) ? error : new Problem("invalid-token")
    })
    const { org_id: org, scope, sub } = payload
    if (typeof sub !== "string" || sub === "") throw new Problem("invalid-token")
    if (org != null && (typeof org !== "string" || org === "")) throw new Problem("invalid-token")
    // Awaited only when the store answers later (D1): a synchronous store costs no extra turn, as before the split.
    const found = store.organizationOfKey(sha256Hex(apiKey))
    const organizationId = found instanceof Promise ? await found : found
    if (organizationId === undefined) throw new Problem("invalid-api-key")
    if (typeof org !== "string") return { organizationId, actor: { type: "user", id: sub }, scopes: [] }
    if (org !== organizationId) throw new Problem("organization-mismatch")
    const scopes = typeof scope === "string" ? scope.split(" ") : []
    return { organizationId, actor: { type: "service", id: sub }, scopes }
  }

  const authenticate = async (request: Request): Promise<Principal> => {
    const apiKey = request.headers.get("x-api-key")?.trim() ?? ""
    const token = BEARER.exec(request.headers.get("authorization") ?? "")?.[1] ?? ""
    if (apiKey === "") throw new Problem("missing-api-key")
    if (token === "") throw new Problem("missing-token")
    if (token.length > 8192) throw new Problem("invalid-token")
    if (apiKey.length > 8192) throw new Problem("invalid-api-key")
    return verify(token, apiKey)
  }

  /** The service's order: authentication, the path's id, headers, the body, authorization, the number, the store. */
  const updatePhoneNumber = async (
    request: Request,
    userId: string,
    requestId: string,
    log: Record<string, unknown>
  ) => {
    const principal = await authenticate(request)
    const { actor, scopes } = principal
    log.organizationId = principal.organizationId
    log.actor = `${actor.type}:${actor.id}`
    if (!USER_ID.test(userId)) throw new Problem("invalid-user-id")
    if (request.headers.get("if-match") || request.headers.get("idempotency-key")) {
      throw new Problem("unsupported-header")
    }
    const input = await readPhoneNumber(request)
    if (actor.type === "user" && actor.id !== userId) throw new Problem("not-own-user")
    if (actor.type === "service" && !scopes.includes("users:write")) throw new Problem("missing-scope")
    const phoneNumber = input === null ? null : parsePhone(input)
    const updated = store.update(
      principal.organizationId,
      userId,
      (row) => decide(row, principal, userId, phoneNumber, requestId)
    )
    const result = updated instanceof Promise ? await updated : updated
    return answer(200, { success: true, ...result }, { etag: `"${result.version}"`, "x-request-id": requestId })
  }

  /** The endpoint, as a fetch handler: what the servers serve, and what profile.ts calls in-process. */
  const handle = async (request: Request, log: LogLineSink = console.log): Promise<Response> => {
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

  return handle
}
