/**
 * Reading a JSON body safely: JSON media type only (415), at most 16 KiB even when chunked (413),
 * strict UTF-8 and JSON (400), and the endpoint's schema with unknown fields refused (400). A body that breaks
 * off (the client closed the connection) is the client's abort, as @effect/platform takes a disconnect: 499.
 * Error details name fields, never the values sent.
 */
import type { HttpServerRequest } from "@effect/platform"
import { clientAbortFiberId } from "@effect/platform/HttpServerError"
import { Cause, Effect, Either, ParseResult, Schema, Stream } from "effect"
import { InvalidRequest, PayloadTooLarge, UnsupportedMediaType } from "./errors.js"

export const MAX_BODY_BYTES = 16 * 1024

const isJsonMediaType = (header: string | undefined): boolean => {
  const mediaType = (header ?? "").split(";")[0]!.trim().toLowerCase()
  return mediaType === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(mediaType)
}

// The web body read with its own reader: the same limit and outcome as the Stream path below, without an Effect
// Stream per request (about 0.8 ms of CPU per request on the bench machine; see BENCHMARKS.md).
/** How much of an oversized body is read and dropped before the 413, rather than cut off mid-upload. */
const DRAIN_LIMIT_BYTES = 1024 * 1024

/**
 * The request's fiber ends as @effect/platform ends it when a client disconnects (an interruption by its
 * clientAbortFiberId), which problems.ts answers and logs as 499 client-closed-request. Not a typed failure: no
 * endpoint answers it, and no Idempotency-Key is claimed yet when the body is read.
 */
const clientGone = Effect.failCause(Cause.interrupt(clientAbortFiberId))

const readWebBody = (body: ReadableStream<Uint8Array>) =>
  Effect.flatMap(
    Effect.promise(async () => {
      const reader = body.getReader()
      const bytes = new Uint8Array(MAX_BODY_BYTES)
      let offset = 0
      try {
        for (;;) {
          const { done, value } = await reader.read()
          if (done) return bytes.subarray(0, offset)
          if (offset + value.byteLength > MAX_BODY_BYTES) {
            // The rest of a body up to DRAIN_LIMIT_BYTES is read and dropped before the 413 goes out: answering
            // while the client is still sending made wrangler dev's proxy fail about 1 in 100 such requests
            // (a 503 of its own or a reset connection). Only a body past the limit is cut off.
            let received = offset + value.byteLength
            while (received <= DRAIN_LIMIT_BYTES) {
              const next = await reader.read()
              if (next.done) return null
              received += next.value.byteLength
            }
            await reader.cancel().catch(() => undefined)
            return null
          }
          bytes.set(value, offset)
          offset += value.byteLength
        }
      } catch {
        // The body broke off: the connection closed or reset mid-upload (Deno says so here; Bun aborts the request's
        // signal instead, which interrupts it). The request never arrived: the client's abort, not a bad body.
        return "broken" as const
      }
    }),
    (bytes): Effect.Effect<Uint8Array, PayloadTooLarge> =>
      bytes === null
        ? Effect.fail(new PayloadTooLarge({ limitBytes: MAX_BODY_BYTES }))
        : bytes === "broken"
        ? clientGone
        : Effect.succeed(bytes)
  )

const readLimited = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function*() {
    const declared = Number(request.headers["content-length"] ?? "0")
    if (declared > MAX_BODY_BYTES) return yield* new PayloadTooLarge({ limitBytes: MAX_BODY_BYTES })
    const source = request.source
    if (typeof Request !== "undefined" && source instanceof Request) {
      return source.body === null ? new Uint8Array(0) : yield* readWebBody(source.body)
    }
    const chunks = yield* request.stream.pipe(
      Stream.catchAll(() => Stream.failCause(Cause.interrupt(clientAbortFiberId))),
      Stream.mapAccumEffect(0, (total, chunk) =>
        total + chunk.byteLength > MAX_BODY_BYTES
          ? Effect.fail(new PayloadTooLarge({ limitBytes: MAX_BODY_BYTES }))
          : Effect.succeed([total + chunk.byteLength, chunk] as const)),
      Stream.runCollect
    )
    const bytes = new Uint8Array(MAX_BODY_BYTES)
    let offset = 0
    for (const chunk of chunks) {
      bytes.set(chunk, offset)
      offset += chunk.byteLength
    }
    return bytes.subarray(0, offset)
  })

const describeIssues = (error: ParseResult.ParseError): string => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const parts = issues.slice(0, 5).map((issue) => {
    const field = issue.path.length === 0 ? "the body" : issue.path.map(String).join(".")
    switch (issue._tag) {
      case "Missing":
        return `${field} is required`
      case "Unexpected":
        // An unknown field's name is the caller's text (it could be a phone number): named only when it is a word.
        return /^[A-Za-z_]{1,40}$/.test(field) ? `${field} is not an accepted field` : "a field is not accepted"
      default:
        return issue.path.length === 0 ? "the body must be a JSON object" : `${field} has the wrong type or length`
    }
  })
  return `Invalid body: ${parts.join("; ")}.`
}

/** The body's bytes, once: a JSON media type (415) and at most MAX_BODY_BYTES (413). */
export const readJsonBytes = (
  request: HttpServerRequest.HttpServerRequest
): Effect.Effect<Uint8Array, PayloadTooLarge | UnsupportedMediaType> =>
  Effect.gen(function*() {
    const contentType = request.headers["content-type"]
    if (!isJsonMediaType(contentType)) {
      return yield* new UnsupportedMediaType({ contentType: contentType ?? "" })
    }
    return yield* readLimited(request)
  })

const malformed = Either.left(
  new InvalidRequest({ code: "malformed-json", detail: "The body is not valid UTF-8 JSON." })
)

/**
 * A decoder of the bytes readJsonBytes read as an endpoint's payload, made once per schema: strict UTF-8 JSON and the
 * schema, unknown fields refused (400).
 */
export const jsonBodyDecoder = <A, I>(schema: Schema.Schema<A, I>) => {
  const decode = Schema.decodeUnknownEither(schema, { onExcessProperty: "error", errors: "all" })
  const utf8 = new TextDecoder("utf-8", { fatal: true })
  return (bytes: Uint8Array): Either.Either<A, InvalidRequest> => {
    let json: unknown
    try {
      json = JSON.parse(utf8.decode(bytes))
    } catch {
      return malformed
    }
    return Either.mapLeft(
      decode(json),
      (error) => new InvalidRequest({ code: "invalid-body", detail: describeIssues(error) })
    )
  }
}
