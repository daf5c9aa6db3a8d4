// Every request: its ids, every failure answered as problem+json, one log line with no PII, tokens or keys.
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

export type LogSink = (line: LogLine) => void

export const consoleSink: LogSink = (line) => console.log(JSON.stringify(line))

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
      // Set, not locally: one fiber per request, nothing to restore.
      return FiberRef.set(CurrentRequest, edge).pipe(
        Effect.zipRight(FiberRef.set(CurrentEdgeRequest, edge)),
        Effect.zipRight(routed),
        Effect.catchAllCause((cause) => {
          const problem = problemOfCause(cause, edge.requestId)
          edge.code = problem.code
          if (problem.status === 500) {
            // The cause can hold request data: log only its kind.
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
            route: routeTemplate(request.url, request.method),
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
