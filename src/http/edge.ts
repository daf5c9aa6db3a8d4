// Every request: its ids, every failure answered as problem+json, one log line with no PII, tokens or keys.
import { HttpApiBuilder, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import type { HttpApp } from "@effect/platform"
import { RouteNotFound } from "@effect/platform/HttpServerError"
import { Console, Context, Effect, Either, FiberRef } from "effect"
import * as Schema from "effect/Schema"
import { CurrentRequest, type RequestIds, uuidv7At } from "../app/context.js"
import type { Principal } from "../services/auth.js"
import { type DecodeDetail, describeBody } from "./decode-detail.js"
import { UnknownRoute } from "./errors.js"
import { BodyTaken } from "./json-body.js"
import { problemOfCause, problemResponse } from "./problems.js"
import { methodsOf, nearRoute, pathOf, payloadOf, routeTemplate } from "./routes.js"
import { MethodNotAllowed } from "./routing.js"

export interface LogLine {
  readonly level: "info" | "error"
  readonly msg: "request"
  /** The caller's X-Request-Id when sane, else serverRequestId. */
  readonly requestId: string
  readonly serverRequestId: string
  readonly method: string
  readonly route: string
  readonly status: number
  readonly durationMs: number
  readonly organizationId?: string | undefined
  readonly actor?: string | undefined
  readonly code?: string | undefined
}

interface EdgeRequest extends RequestIds {
  organizationId?: string | undefined
  actor?: string | undefined
  code?: string | undefined
}

const CurrentEdgeRequest = FiberRef.unsafeMake<EdgeRequest | undefined>(undefined)

const note = (fields: Omit<EdgeRequest, keyof RequestIds>): Effect.Effect<void> =>
  Effect.map(FiberRef.get(CurrentEdgeRequest), (edge) => {
    if (edge !== undefined) Object.assign(edge, fields)
  })

export const noteCaller = (principal: Principal): Effect.Effect<void> =>
  note({ organizationId: principal.organizationId, actor: `${principal.actor.type}:${principal.actor.id}` })

export const noteCode = (code: string): Effect.Effect<void> => note({ code })

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

// The router ends a path at `;` and collapses `//`, so a proxy or the log would see another route: refuse them.
const isAmbiguousPath = (url: string): boolean => /;|\/\//.test(pathOf(url))

// What the router could not match: a known path with another method (405), a near miss with a hint, or a plain 404.
const unrouted = (
  request: HttpServerRequest.HttpServerRequest,
  notFound: RouteNotFound
): Effect.Effect<never, RouteNotFound | MethodNotAllowed | UnknownRoute> => {
  const allowed = methodsOf(request.url)
  if (allowed !== undefined) {
    return Effect.fail(
      allowed.includes(request.method) ? notFound : new MethodNotAllowed({ method: request.method, allowed })
    )
  }
  const near = nearRoute(request.url)
  return Effect.fail(
    near === undefined
      ? notFound
      : new UnknownRoute({ hint: `Paths are case-sensitive and end without a slash: did you mean ${near}?` })
  )
}

// HttpApiDecodeError keeps only formatted issues: decoded again, the payload's ParseError names types, never values.
const bodyDetail = (request: HttpServerRequest.HttpServerRequest, json: unknown): DecodeDetail => {
  const schema = payloadOf(request.method, request.url)
  const decoded = schema === undefined ? undefined : Schema.decodeUnknownEither(schema)(json)
  return schema !== undefined && decoded !== undefined && Either.isLeft(decoded)
    ? describeBody(schema, decoded.left)
    : { detail: "The body does not match the request's schema." }
}

const causeKind = (cause: unknown): string => String((cause as { _tag?: string })?._tag ?? "unknown").slice(0, 40)

// The cause can hold request data: the line names only its kind.
const unexpectedFailure = (edge: EdgeRequest, cause: unknown) =>
  Effect.annotateLogs(Effect.logError("unexpected failure"), {
    requestId: edge.requestId,
    serverRequestId: edge.serverRequestId,
    kind: causeKind(cause)
  })

// The request line as JSON through Effect's Console, not its Logger: alone 2 µs against 10.5, and 20-40 µs of an
// in-process request (BENCHMARKS.md, "Conclusions"). Every other line goes through the Logger (src/layers/logger.ts).
export type RequestSink = (line: LogLine) => Effect.Effect<void>

export const consoleRequestSink: RequestSink = (line) =>
  line.level === "error" ? Console.error(JSON.stringify(line)) : Console.log(JSON.stringify(line))

// Level and msg first, as every line; an absent field is left out.
const requestLine = (fields: Omit<LogLine, "msg" | "level">): LogLine => {
  const line: Record<string, unknown> = { level: fields.status >= 500 ? "error" : "info", msg: "request" }
  for (const [name, value] of Object.entries(fields)) {
    if (value !== undefined) line[name] = value
  }
  return line as unknown as LogLine
}

export const edgeMiddleware = (sink: RequestSink) =>
  HttpApiBuilder.middleware((app: HttpApp.Default) =>
    Effect.withFiberRuntime((fiber) => {
      const request = Context.unsafeGet(fiber.currentContext, HttpServerRequest.HttpServerRequest)
      const started = Date.now()
      const serverRequestId = uuidv7At(started)
      const offered = request.headers["x-request-id"]
      const edge: EdgeRequest = {
        serverRequestId,
        requestId: offered !== undefined && SANE_REQUEST_ID.test(offered) ? offered : serverRequestId
      }
      const routed: HttpApp.Default<unknown> = isAmbiguousPath(request.url)
        ? Effect.fail(new RouteNotFound({ request }))
        : Effect.catchIf(
          app as HttpApp.Default<unknown>,
          (error): error is RouteNotFound => error instanceof RouteNotFound,
          (error) => unrouted(request, error)
        )
      // Set, not locally: one fiber per request, nothing to restore.
      return FiberRef.set(CurrentRequest, edge).pipe(
        Effect.zipRight(FiberRef.set(CurrentEdgeRequest, edge)),
        Effect.zipRight(routed),
        Effect.catchAllCause((cause) =>
          Effect.flatMap(FiberRef.get(BodyTaken), (taken) => {
            const problem = problemOfCause(
              cause,
              edge.requestId,
              taken === undefined ? undefined : () => bodyDetail(request, taken.json)
            )
            edge.code = problem.code
            const response = problemResponse(problem)
            return problem.status === 500
              ? Effect.as(unexpectedFailure(edge, cause), response)
              : Effect.succeed(response)
          })
        ),
        Effect.flatMap((response) =>
          Effect.as(
            sink(requestLine({
              requestId: edge.requestId,
              serverRequestId,
              method: request.method,
              route: routeTemplate(request.url, request.method),
              status: response.status,
              durationMs: Date.now() - started,
              organizationId: edge.organizationId,
              actor: edge.actor,
              code: edge.code
            })),
            HttpServerResponse.setHeader(response, "x-request-id", edge.requestId)
          )
        )
      )
    })
  )
