/**
 * The edge of every request: request ids in and out, every failure rendered as problem+json (via problems.ts),
 * and one structured log line per request with no PII, tokens or keys.
 */
import { HttpApiBuilder, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import type { HttpApp } from "@effect/platform"
import { RouteNotFound } from "@effect/platform/HttpServerError"
import { Clock, Effect, FiberRef } from "effect"
import { CurrentRequestId, uuidv7 } from "../app/context.js"
import { describeCause, problemResponse } from "./problems.js"

export interface LogLine {
  readonly level: "info" | "error"
  readonly msg: "request"
  /** The id the answer reports: the caller's X-Request-Id when it sent a sane one, else serverRequestId. */
  readonly requestId: string
  /** The server's own id of the request, the one its event carries (context.ts CurrentRequestId). */
  readonly serverRequestId: string
  readonly method: string
  readonly route: string
  readonly status: number
  readonly durationMs: number
  readonly organizationId?: string | undefined
  readonly actor?: string | undefined
  readonly code?: string | undefined
}

export type LogSink = (line: LogLine) => void

export const consoleSink: LogSink = (line) => console.log(JSON.stringify(line))

/** Filled in during the request (by the authentication middleware) and logged at its end. */
export interface LogContext {
  organizationId?: string
  actor?: string
}

export const CurrentLogContext: FiberRef.FiberRef<LogContext> = FiberRef.unsafeMake<LogContext>({})

/** The request id this request's answer reports (header, problem bodies, log): the caller's, when sane. */
export const CurrentAnswerRequestId: FiberRef.FiberRef<string> = FiberRef.unsafeMake("unknown")

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

// Routes are logged as templates: a raw path is attacker-chosen and could carry anything, a phone number included.
const ROUTES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^\/users\/?$/, "/users"],
  [/^\/users\/[^/]+\/UpdatePhoneNumber\/?$/, "/users/:id/UpdatePhoneNumber"],
  [/^\/users\/[^/]+\/events\/?$/, "/users/:id/events"],
  [/^\/users\/[^/]+\/MarkPhoneNumberVerified\/?$/, "/users/:id/MarkPhoneNumberVerified"],
  [/^\/users\/[^/]+\/ErasePersonalData\/?$/, "/users/:id/ErasePersonalData"],
  [/^\/users\/[^/]+\/?$/, "/users/:id"],
  [/^\/organizations\/[^/]+\/audit\/head\/?$/, "/organizations/:organizationId/audit/head"],
  [/^\/healthz$/, "/healthz"],
  [/^\/openapi\.json$/, "/openapi.json"],
  [/^\/docs\/?$/, "/docs"]
]

const pathOf = (url: string): string => url.split("?")[0]!.replace(/^[a-z]+:\/\/[^/]+/i, "")

export const routeTemplate = (url: string): string => {
  const path = pathOf(url)
  return ROUTES.find(([pattern]) => pattern.test(path))?.[1] ?? "(unmatched)"
}

// The router ends a path at `;` and collapses `//`, so `/users/a;x/events` would be served as GET /users/a: a path
// that means one route to a proxy or the log and another to the router. None of our routes has either, so refuse them.
const isAmbiguousPath = (url: string): boolean => /;|\/\//.test(pathOf(url))

export const edgeMiddleware = (sink: LogSink) =>
  HttpApiBuilder.middleware((app: HttpApp.Default) =>
    Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const started = yield* Clock.currentTimeMillis
      const serverRequestId = yield* uuidv7
      const offered = request.headers["x-request-id"]
      const requestId = offered !== undefined && SANE_REQUEST_ID.test(offered) ? offered : serverRequestId
      const log: LogContext = {}
      let code: string | undefined
      const routed: HttpApp.Default<RouteNotFound> = isAmbiguousPath(request.url)
        ? Effect.fail(new RouteNotFound({ request }))
        : app
      const response = yield* routed.pipe(
        Effect.catchAllCause((cause) => {
          const described = describeCause(cause)
          code = described.code
          if (described.internal) {
            // The cause can hold request data; log only what kind of failure it was.
            console.error(
              JSON.stringify({
                level: "error",
                msg: "unexpected failure",
                requestId,
                serverRequestId,
                kind: causeKind(cause)
              })
            )
          }
          return Effect.succeed(problemResponse(described, requestId))
        }),
        Effect.locally(CurrentRequestId, serverRequestId),
        Effect.locally(CurrentAnswerRequestId, requestId),
        Effect.locally(CurrentLogContext, log)
      )
      const finished = yield* Clock.currentTimeMillis
      sink({
        level: response.status >= 500 ? "error" : "info",
        msg: "request",
        requestId,
        serverRequestId,
        method: request.method,
        route: routeTemplate(request.url),
        status: response.status,
        durationMs: finished - started,
        organizationId: log.organizationId,
        actor: log.actor,
        code
      })
      return HttpServerResponse.setHeader(response, "x-request-id", requestId)
    })
  )

const causeKind = (cause: unknown): string => {
  const text = String((cause as { _tag?: string })?._tag ?? "unknown")
  return text.slice(0, 40)
}
