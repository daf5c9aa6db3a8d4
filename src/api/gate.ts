/**
 * What the commands' gates share: a path parameter as HttpApiBuilder will decode it, the headers' syntax, and a gated
 * command run under its Idempotency-Key.
 */
import { HttpRouter, HttpServerRequest } from "@effect/platform"
import { type Context, Effect } from "effect"
import * as Schema from "effect/Schema"
import type { CommandResult, IfMatch } from "../app/run-command.js"
import { InvalidRequest } from "../http/errors.js"
import { IDEMPOTENCY_KEY_HEADER, idempotent, parseIdempotencyKey } from "../http/idempotency.js"
import { invalidParameter } from "../http/problems.js"

const invalidIfMatch = Effect.fail(
  new InvalidRequest({ code: "invalid-if-match", detail: 'If-Match must be a version in quotes, e.g. "3".' })
)

/** `If-Match: "3"` (or W/"3", or 3) pins version 3; `*` accepts any; anything else is a 400. */
export const parseIfMatch = (header: string | undefined): Effect.Effect<IfMatch | undefined, InvalidRequest> => {
  if (header === undefined) return Effect.succeed(undefined)
  const value = header.trim()
  if (value === "*") return Effect.succeed({ _tag: "Any" })
  const match = /^(?:W\/)?"?([1-9][0-9]{0,14})"?$/.exec(value)
  return match === null ? invalidIfMatch : Effect.succeed({ _tag: "Version", version: Number(match[1]) })
}

export const commandHeaders = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.flatMap(parseIfMatch(request.headers["if-match"]), (ifMatch) =>
    Effect.map(
      parseIdempotencyKey(request.headers[IDEMPOTENCY_KEY_HEADER]),
      (idempotencyKey) => ({ ifMatch, idempotencyKey })
    ))

/** A path parameter decoded as HttpApiBuilder will, so that a bad one is its 400 before who may act is asked. */
export const pathParam = <A>(name: string, schema: Schema.Schema<A, string>) => {
  const decode = Schema.decodeUnknown(schema)
  return Effect.flatMap(
    HttpRouter.RouteContext,
    ({ params }) => Effect.mapError(decode(params[name]), () => invalidParameter(name))
  )
}

/** The authorized program with the request's If-Match and Idempotency-Key. */
export const withHeaders = <Run>(run: Run) =>
  Effect.flatMap(
    HttpServerRequest.HttpServerRequest,
    (request) => Effect.map(commandHeaders(request), (headers) => ({ run, ...headers }))
  )

/** The authorized program with the request's Idempotency-Key (a create has no version to pin). */
export const withKey = <Run>(run: Run) =>
  Effect.flatMap(
    HttpServerRequest.HttpServerRequest,
    (request) =>
      Effect.map(parseIdempotencyKey(request.headers[IDEMPOTENCY_KEY_HEADER]), (idempotencyKey) => ({
        run,
        idempotencyKey
      }))
  )

/** The program a gate authorized, run with the request's If-Match under its Idempotency-Key; the path names the user. */
export const idempotentCommand = <I, Run, E, R>(
  gated: Context.Tag<
    I,
    { readonly run: Run; readonly ifMatch: IfMatch | undefined; readonly idempotencyKey: string | undefined }
  >,
  request: HttpServerRequest.HttpServerRequest,
  userId: string,
  command: (run: Run, ifMatch: IfMatch | undefined) => Effect.Effect<CommandResult, E, R>
) =>
  Effect.flatMap(
    gated,
    ({ idempotencyKey, ifMatch, run }) =>
      idempotent(request, idempotencyKey, () => command(run, ifMatch), { status: 200, userId })
  )
