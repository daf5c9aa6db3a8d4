/**
 * Single steps of a request, each run many times in a loop, so what one step costs a runtime is a figure of its own
 * rather than a share of a noisy request: the web objects a request brings (a Request, its canonical form), the
 * hashes and ids of a write, the number's parse, the audit link, Effect's steps, and a write through the handler as
 * assemblies.ts builds it one piece at a time (the floor's one HttpApi route, this contract, the program, the edge
 * and the documentation routes), over in-memory doubles, so no I/O hides what each piece adds. The same definitions
 * run in-process on Bun and inside a Worker on workerd (pieces-worker.ts); pieces-bench.ts runs both and prints them
 * side by side.
 */
import { Effect, Layer } from "effect"
import { uuidv7At } from "../../src/app/context.js"
import { WebhookSettings } from "../../src/app/webhooks.js"
import { GENESIS_HASH, nextLink } from "../../src/audit/chain.js"
import type { UserPhoneNumberUpdated } from "../../src/domain/events.js"
import { type E164, type MaskedPhoneNumber, parsePhoneNumber } from "../../src/domain/phone.js"
import { canonicalRequest } from "../../src/http/canonical-request.js"
import { MaskerLast4 } from "../../src/layers/masker.js"
import { EventLog } from "../../src/services/event-log.js"
import { Idempotency } from "../../src/services/idempotency.js"
import { UserRepo } from "../../src/services/user-repo.js"
import { WebhookStore } from "../../src/services/webhooks.js"
import { sha256Hex } from "../../src/sha256.js"
import { makeMemoryStore, memoryEventLog, memoryIdempotency, memoryRepo, putUser } from "../../test/support/memory.js"
import { benchPrincipal, contractOnly, type Fetch, fixedAuth, floor, serviceApp } from "./assemblies.js"
import { ORGANIZATION_ID } from "./bare-write.js"

const BODY = '{"phoneNumber":"+14155552671"}'
const HEADERS = {
  authorization: "Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJzdmNfYmVuY2gifQ.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg",
  "x-api-key": "uak_abcdefabcdefabcdefabcdefabcdef",
  "content-type": "application/json",
  "content-length": String(BODY.length),
  host: "127.0.0.1:8787",
  "user-agent": "bench"
}
const URL_OF_WRITE = "http://127.0.0.1:8787/users/user_000001/UpdatePhoneNumber"
const newWrite = () => new Request(URL_OF_WRITE, { method: "POST", headers: HEADERS, body: BODY })

const EVENT: UserPhoneNumberUpdated = {
  id: "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
  type: "UserPhoneNumberUpdated",
  aggregateType: "User",
  aggregateId: "user_000001",
  version: 7,
  occurredAt: "2026-12-03T06:00:00.000Z",
  data: {
    maskedPhoneNumber: "****2671" as MaskedPhoneNumber,
    previousMaskedPhoneNumber: "****2672" as MaskedPhoneNumber,
    phoneNumberVerified: false
  },
  metadata: { organizationId: ORGANIZATION_ID, actor: benchPrincipal.actor, requestId: "req" }
}

const hundredSteps = (() => {
  let effect: Effect.Effect<number> = Effect.succeed(0)
  for (let i = 0; i < 100; i++) effect = Effect.flatMap(effect, (n) => Effect.succeed(n + 1))
  return effect
})()

// A Request is made on first use: workerd allows none outside a request's handler.
let write: Request | undefined
const aWrite = () => write ??= newWrite()

// The services over in-memory doubles (test/support/memory.ts) and a fixed principal: what is left of a write is the
// handler's CPU. Ten users, each sent its two numbers in turn, so every write changes the number and appends an event.
const memory = makeMemoryStore()
const USERS = 10
/** User i's two numbers (numbers are unique in an organization). */
const numberOf = (user: number, which: number) => `+1415555${2600 + 2 * user + which}`
for (let i = 0; i < USERS; i++) {
  putUser(memory, {
    organizationId: ORGANIZATION_ID,
    id: `user_${i}`,
    phoneNumber: numberOf(i, 1) as E164,
    phoneNumberVerified: false,
    erasedAt: null,
    version: 1
  })
}
const doubles = Layer.mergeAll(
  fixedAuth(benchPrincipal),
  Layer.succeed(UserRepo, memoryRepo(memory)),
  Layer.succeed(EventLog, memoryEventLog(memory)),
  Layer.succeed(Idempotency, memoryIdempotency(memory)),
  MaskerLast4,
  // No write touches the webhook store; the webhook routes are declared, never called here.
  Layer.succeed(WebhookStore, {} as WebhookStore["Type"]),
  Layer.succeed(WebhookSettings, { deriveSecret: undefined, urlRules: { allowLoopback: false } })
)
const hashKey = "bench-idempotency-hash-key-0123456789abcdef"
let sent = 0
/** The next write: user (n mod 10), at the number it does not have. */
const nextWrite = () => {
  const n = sent++
  const body = `{"phoneNumber":"${numberOf(n % USERS, Math.floor(n / USERS) % 2)}"}`
  return new Request(`http://127.0.0.1:8787/users/user_${n % USERS}/UpdatePhoneNumber`, {
    method: "POST",
    headers: { ...HEADERS, "content-length": String(body.length) },
    body
  })
}
// Built on first use, inside a request on workerd, as the service's handler is.
const handlers: Record<string, Fetch> = {}
const through = (name: string, build: () => Fetch) => () =>
  (handlers[name] ??= build())(nextWrite()).then(async (response) => {
    if (response.status !== 200) throw new Error(`${name}: ${response.status} ${await response.text()}`)
    // The doubles keep every event; nothing here reads them, and a growing array would charge later pieces its GC.
    if (memory.events.length > 1_000) memory.events.length = 0
    return response.arrayBuffer()
  })

/** Each piece once; what it returns is kept, so no engine drops the work. */
export const PIECES: Record<string, { readonly what: string; readonly run: () => unknown }> = {
  request: { what: "a web Request with a body and six headers", run: newWrite },
  canonicalRequest: { what: "canonicalRequest of such a request", run: () => canonicalRequest(aWrite()) },
  sha256: { what: "SHA-256 of a credential pair (node:crypto)", run: () => sha256Hex(`${HEADERS.authorization}\n`) },
  uuidv7: { what: "a UUID v7", run: () => uuidv7At(1_764_741_600_000) },
  parsePhoneNumber: { what: "the phone-number parse", run: () => parsePhoneNumber("+14155552671") },
  auditLink: { what: "the audit link (canonical JSON and SHA-256)", run: () => nextLink(GENESIS_HASH, EVENT) },
  effectSteps: { what: "100 Effect.flatMap steps run synchronously", run: () => Effect.runSync(hundredSteps) },
  httpApiPost: {
    what: "a write through the floor's one HttpApi route (body read, constant answer)",
    run: through("httpApiPost", floor)
  },
  contractPost: {
    what: "+ this contract and its Authentication middleware (fixed Auth)",
    run: through("contractPost", () => contractOnly(doubles))
  },
  programPost: {
    what: "+ the real handlers and program (the write to memory)",
    run: through("programPost", () => serviceApp(doubles, { edge: false, docs: false, idempotencyHashKey: hashKey }))
  },
  edgePost: {
    what: "+ the edge (ids, problems, the log line discarded)",
    run: through("edgePost", () => serviceApp(doubles, { edge: true, docs: false, idempotencyHashKey: hashKey }))
  },
  servicePost: {
    what: "+ /openapi.json and /docs: the service's handler, fixed Auth, doubles",
    run: through("servicePost", () => serviceApp(doubles, { edge: true, docs: true, idempotencyHashKey: hashKey }))
  }
}

let kept: unknown

/** `name` `count` times, one after another (a promise is awaited before the next call). */
export const runPiece = async (name: string, count: number): Promise<void> => {
  const piece = PIECES[name]
  if (piece === undefined) throw new Error(`unknown piece ${name}`)
  for (let i = 0; i < count; i++) {
    const value = piece.run()
    kept = value instanceof Promise ? await value : value
  }
  if (kept === Symbol.for("never")) console.log(kept)
}
