// An endpoint with `.middleware(JsonBody)` after its gate: the body is read once, bounded (body.ts), and parsed here;
// HttpApiBuilder then decodes the payload from that JSON with the endpoint's schema, never reading the stream itself.
import { HttpApiMiddleware, HttpServerRequest } from "@effect/platform"
import { Effect, FiberRef, Layer } from "effect"
import * as Schema from "effect/Schema"
import { parseJson, readJsonBytes } from "./body.js"
import { InvalidRequest, PayloadTooLarge, UnsupportedMediaType } from "./errors.js"
import { answered, problemsFor } from "./problems.js"

/** The payload schemas' parse options: an unknown field is a 400, which names every issue (up to five, body.ts). */
export const STRICT_BODY = { onExcessProperty: "error", errors: "all" } as const

export class JsonBody extends HttpApiMiddleware.Tag<JsonBody>()("JsonBody", {
  failure: Schema.Union(...problemsFor([InvalidRequest, PayloadTooLarge, UnsupportedMediaType]))
}) {}

/** Set when HttpApiBuilder takes the body to decode it: a decode error from then on is the payload's. */
export const BodyTaken = FiberRef.unsafeMake<{ readonly json: unknown } | undefined>(undefined)

const EMPTY = new Uint8Array(0)

const bytesRead = new WeakMap<HttpServerRequest.HttpServerRequest, Uint8Array>()

/** The bytes JsonBody read for this request (the Idempotency-Key's fingerprint); none without a body. */
export const bodyBytes = (request: HttpServerRequest.HttpServerRequest): Uint8Array => bytesRead.get(request) ?? EMPTY

// The builder decodes from this request's `json`, set here to the parsed body, and picks its parser by Content-Type
// (application/merge-patch+json would be read as bytes). Set on the request itself: providing another request costs
// every body request a comparison of the whole context.
const withJson = (request: HttpServerRequest.HttpServerRequest, bytes: Uint8Array, json: unknown): void => {
  const contentType = request.headers["content-type"]!.toLowerCase()
  Object.defineProperty(request, "json", { value: Effect.as(FiberRef.set(BodyTaken, { json }), json) })
  if (!contentType.includes("application/json")) {
    Object.defineProperty(request, "headers", { value: { ...request.headers, "content-type": "application/json" } })
  }
  bytesRead.set(request, bytes)
}

export const JsonBodyLive = Layer.succeed(
  JsonBody,
  answered(
    Effect.flatMap(
      HttpServerRequest.HttpServerRequest,
      (request) =>
        Effect.flatMap(
          readJsonBytes(request),
          (bytes) => Effect.map(parseJson(bytes), (json) => withJson(request, bytes, json))
        )
    )
  )
)
