/**
 * Single steps of a request, each run many times in a loop, so what one step costs a runtime is a figure of its own
 * rather than a share of a noisy request: the web objects a request brings (a Request, its canonical form), the
 * hashes and ids of a write, the number's parse, the audit link, Effect's steps, and a POST through the floor's one
 * HttpApi route with no I/O. The same definitions run in-process on Bun and inside a Worker on workerd
 * (pieces-worker.ts); pieces-bench.ts runs both and prints them side by side.
 */
import { HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { uuidv7At } from "../../src/app/context.js"
import { GENESIS_HASH, nextLink } from "../../src/audit/chain.js"
import type { UserPhoneNumberUpdated } from "../../src/domain/events.js"
import { type MaskedPhoneNumber, parsePhoneNumber } from "../../src/domain/phone.js"
import { canonicalRequest } from "../../src/http/canonical-request.js"
import { sha256Hex } from "../../src/sha256.js"
import { floorHandler } from "./floor-httpapi.js"

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
  metadata: { organizationId: "org_bench", actor: { type: "service", id: "svc_bench" }, requestId: "req" }
}

const hundredSteps = (() => {
  let effect: Effect.Effect<number> = Effect.succeed(0)
  for (let i = 0; i < 100; i++) effect = Effect.flatMap(effect, (n) => Effect.succeed(n + 1))
  return effect
})()

const answer = HttpServerResponse.unsafeJson({ success: true })
const floor = floorHandler({ healthPath: "/healthz", update: (request) => request.arrayBuffer().then(() => answer) })

// A Request is made on first use: workerd allows none outside a request's handler.
let write: Request | undefined
const aWrite = () => write ??= newWrite()

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
    what: "a POST through the floor's one HttpApi route, no I/O",
    run: () => floor(newWrite()).then((response) => response.arrayBuffer())
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
