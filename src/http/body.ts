/**
 * Reading a JSON body safely: JSON media type only (415), at most 16 KiB even when chunked (413),
 * strict UTF-8 and JSON (400), and the endpoint's schema with unknown fields refused (400). A body that breaks
 * off (the client closed the connection) is the client's abort, as @effect/platform takes a disconnect: 499.
 * Error details name fields, never the values sent.
 */
import type { HttpServerRequest } from "@effect/platform"
import { clientAbortFiberId } from "@effect/platform/HttpServerError"
import { Cause, Effect, Either, ParseResult } from "effect"
import * as Schema from "effect/Schema"
import { InvalidRequest, PayloadTooLarge, UnsupportedMediaType } from "./errors.js"

export const MAX_BODY_BYTES = 16 * 1024

const isJsonMediaType = (header: string | undefined): boolean => {
  const mediaType = (header ?? "").split(";")[0]!.trim().toLowerCase()
  return mediaType === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(mediaType)
}

// A body of unknown length (chunked) read with its own reader, without an Effect Stream per request.
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

const tooLarge = Effect.fail(new PayloadTooLarge({ limitBytes: MAX_BODY_BYTES }))

// A body of a declared length within the limit, read whole: one native read instead of a reader loop.
const readDeclared = (source: Request) =>
  Effect.flatMap(
    Effect.promise(() => source.arrayBuffer().then((buffer) => new Uint8Array(buffer), () => "broken" as const)),
    (bytes): Effect.Effect<Uint8Array, PayloadTooLarge> =>
      bytes === "broken" ? clientGone : bytes.byteLength > MAX_BODY_BYTES ? tooLarge : Effect.succeed(bytes)
  )

const EMPTY = new Uint8Array(0)

/** Bodies read before the request's fiber started (prefetchBody), by request. */
const prefetched = new WeakMap<Request, Uint8Array | "broken">()

const isPrefetchable = (request: Request): boolean => {
  if (request.method !== "POST" || request.body === null) return false
  const length = request.headers.get("content-length")
  if (length === null) return false
  const declared = Number(length)
  return Number.isInteger(declared) && declared <= MAX_BODY_BYTES &&
    isJsonMediaType(request.headers.get("content-type") ?? undefined)
}

/**
 * Reads a small JSON body of declared length before the handler's fiber runs (src/fetch-handler.ts), so the fiber
 * finds it read instead of waiting for it itself: suspending a fiber on a promise and resuming it costs more than the
 * read. The rules stay readJsonBytes's (the same media type, limit and outcome, a broken-off body the client's abort);
 * undefined when there is nothing to read ahead (the fiber then reads as before).
 */
export const prefetchBody = (request: Request): Promise<void> | undefined =>
  isPrefetchable(request)
    ? request.arrayBuffer().then(
      (buffer) => void prefetched.set(request, new Uint8Array(buffer)),
      () => void prefetched.set(request, "broken")
    )
    : undefined

const readLimited = (request: HttpServerRequest.HttpServerRequest): Effect.Effect<Uint8Array, PayloadTooLarge> => {
  const length = request.headers["content-length"]
  const declared = length === undefined ? undefined : Number(length)
  if (declared !== undefined && declared > MAX_BODY_BYTES) return tooLarge
  // Every runtime hands a web Request to the handler (src/fetch-handler.ts).
  const source = request.source as Request
  const ahead = prefetched.get(source)
  if (ahead !== undefined) {
    return ahead === "broken" ? clientGone : ahead.byteLength > MAX_BODY_BYTES ? tooLarge : Effect.succeed(ahead)
  }
  if (source.body === null) return Effect.succeed(EMPTY)
  return declared !== undefined && Number.isInteger(declared) ? readDeclared(source) : readWebBody(source.body)
}

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
): Effect.Effect<Uint8Array, PayloadTooLarge | UnsupportedMediaType> => {
  const contentType = request.headers["content-type"]
  return isJsonMediaType(contentType)
    ? readLimited(request)
    : Effect.fail(new UnsupportedMediaType({ contentType: contentType ?? "" }))
}

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
