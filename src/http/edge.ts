/**
 * The edge of every request: its ids in and out, every failure that reaches it answered as problem+json
 * (problems.ts), and one structured log line per request with no PII, tokens or keys.
 */
import { HttpApiBuilder, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import type { HttpApp } from "@effect/platform"
import { RouteNotFound } from "@effect/platform/HttpServerError"
import { Context, Effect, FiberRef } from "effect"
import { CurrentRequest, type RequestIds, uuidv7At } from "../app/context.js"
import type { Principal } from "../services/auth.js"
import { problemOfCause, problemResponse } from "./problems.js"
import { pathOf, routeTemplate } from "./routes.js"

export interface LogLine {
  readonly level: "info" | "error"
  readonly msg: "request"
  /** The id the answer reports: the caller's X-Request-Id when it sent a sane one, else serverRequestId. */
  readonly requestId: string
  /** The server's own id of the request, the one its event carries (src/app/context.ts). */
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

/** A request as the edge follows it: its ids, and what the HTTP layer learns about it for its log line. */
interface EdgeRequest extends RequestIds {
  organizationId?: string | undefined
  actor?: string | undefined
  /** The problem code of the answer, when the HTTP layer rendered one itself (idempotency.ts). */
  code?: string | undefined
}

/** The edge's record of the current request; outside a request (a test of one module), nobody's. */
const CurrentEdgeRequest = FiberRef.unsafeMake<EdgeRequest | undefined>(undefined)

const note = (fields: Omit<EdgeRequest, keyof RequestIds>): Effect.Effect<void> =>
  Effect.map(FiberRef.get(CurrentEdgeRequest), (edge) => {
    if (edge !== undefined) Object.assign(edge, fields)
  })

/** For the log line: who the caller is, once authenticated. */
export const noteCaller = (principal: Principal): Effect.Effect<void> =>
  note({ organizationId: principal.organizationId, actor: `${principal.actor.type}:${principal.actor.id}` })

/** For the log line: the problem code of an answer the HTTP layer rendered itself. */
export const noteCode = (code: string): Effect.Effect<void> => note({ code })

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

// The router ends a path at `;` and collapses `//`, so `/users/a;x/events` would be served as GET /users/a: a path
// that means one route to a proxy or the log and another to the router. None of our routes has either, so refuse them.
const isAmbiguousPath = (url: string): boolean => /;|\/\//.test(pathOf(url))

const causeKind = (cause: unknown): string => String((cause as { _tag?: string })?._tag ?? "unknown").slice(0, 40)

export const edgeMiddleware = (sink: LogSink) =>
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
      const routed: HttpApp.Default<RouteNotFound> = isAmbiguousPath(request.url)
        ? Effect.fail(new RouteNotFound({ request }))
        : app
      // Set, not Effect.locally: every request runs in a fiber of its own (HttpApp.toWebHandler forks one per
      // request), so there is no earlier value to restore, and a set is one step where locally is a dozen.
      return FiberRef.set(CurrentRequest, edge).pipe(
        Effect.zipRight(FiberRef.set(CurrentEdgeRequest, edge)),
        Effect.zipRight(routed),
        Effect.catchAllCause((cause) => {
          const problem = problemOfCause(cause, edge.requestId)
          edge.code = problem.code
          if (problem.status === 500) {
            // The cause can hold request data; log only what kind of failure it was.
            console.error(JSON.stringify({
              level: "error",
              msg: "unexpected failure",
              requestId: edge.requestId,
              serverRequestId,
              kind: causeKind(cause)
            }))
          }
          return Effect.succeed(problemResponse(problem))
        }),
        Effect.map((response) => {
          sink({
            level: response.status >= 500 ? "error" : "info",
            msg: "request",
            requestId: edge.requestId,
            serverRequestId,
            method: request.method,
            route: routeTemplate(request.url),
            status: response.status,
            durationMs: Date.now() - started,
            organizationId: edge.organizationId,
            actor: edge.actor,
            code: edge.code
          })
          return HttpServerResponse.setHeader(response, "x-request-id", edge.requestId)
        })
      )
    })
  )
