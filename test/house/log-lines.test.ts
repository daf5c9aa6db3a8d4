/**
 * The service's log lines (src/layers/logger.ts): one JSON object per line, level and msg first (the Workers test
 * config filters on that prefix), the annotations after; warnings and errors on stderr, the rest on stdout.
 */
import { Effect, Layer } from "effect"
import { afterEach, describe, expect, it, vi } from "vitest"
import { checkpointRoundFailed } from "../../src/app/checkpoints.js"
import { relayLog } from "../../src/app/webhook-relay.js"
import { DEV_AUDIENCE, DEV_ISSUER, jwksOf } from "../../src/dev/signing.js"
import { makeFetchHandler } from "../../src/fetch-handler.js"
import { JsonLoggerLive, logLine } from "../../src/layers/logger.js"
import { SqliteNodeServices } from "../../src/layers/sqlite/node.js"
import { Auth } from "../../src/services/auth.js"
import { makeSqliteFixture } from "../support/sqlite-fixture.js"

const captured = () => {
  const lines: Array<{ method: string; args: Array<unknown> }> = []
  for (const method of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, method).mockImplementation((...args) => void lines.push({ method, args }))
  }
  return lines
}

afterEach(() => vi.restoreAllMocks())

describe("log lines", () => {
  it("a relay warning: one JSON string on console.error, level and msg first, then its fields", () => {
    const lines = captured()
    Effect.runSync(
      relayLog({
        level: "warn",
        msg: "webhook delivery failed",
        organizationId: "org-1",
        webhookId: "wh-1",
        eventId: "ev-1",
        outcome: "http-error"
      }).pipe(Effect.provide(JsonLoggerLive))
    )
    expect(lines).toHaveLength(1)
    expect(lines[0]!.method).toBe("error")
    expect(lines[0]!.args).toHaveLength(1)
    const text = lines[0]!.args[0] as string
    expect(text).toMatch(/^\{"level":"warn","msg":"webhook delivery failed",/)
    expect(JSON.parse(text)).toEqual({
      level: "warn",
      msg: "webhook delivery failed",
      organizationId: "org-1",
      webhookId: "wh-1",
      eventId: "ev-1",
      outcome: "http-error"
    })
  })

  it("a failed checkpoint round, and a line from outside any program", () => {
    const lines = captured()
    Effect.runSync(checkpointRoundFailed("StoreUnavailable").pipe(Effect.provide(JsonLoggerLive)))
    logLine("error", "configuration error", { requestId: "r-1", detail: "JWKS is missing" })
    expect(lines.map(({ args, method }) => [method, JSON.parse(args[0] as string)])).toEqual([
      ["error", { level: "error", msg: "checkpoint round failed", kind: "StoreUnavailable" }],
      ["error", { level: "error", msg: "configuration error", requestId: "r-1", detail: "JWKS is missing" }]
    ])
  })

  it("info goes to stdout", () => {
    const lines = captured()
    Effect.runSync(Effect.annotateLogs(Effect.logInfo("started"), { port: 8787 }).pipe(Effect.provide(JsonLoggerLive)))
    expect(lines).toEqual([{ method: "log", args: ['{"level":"info","msg":"started","port":8787}'] }])
  })

  it("the handler's jobs log through it: no job has to install it", async () => {
    const f = await makeSqliteFixture()
    try {
      const lines = captured()
      await f.handler.run(Effect.annotateLogs(Effect.logWarning("probe"), { kind: "test" })).done
      expect(lines).toEqual([{ method: "error", args: ['{"level":"warn","msg":"probe","kind":"test"}'] }])
    } finally {
      vi.restoreAllMocks()
      await f.dispose()
    }
  })

  it("each request's line and an unexpected failure's, through the same Logger: a 5xx on stderr", async () => {
    const f = await makeSqliteFixture()
    // An Auth that dies: every authenticated route is a 500.
    const dying = Layer.merge(
      SqliteNodeServices(f.filename, { issuer: DEV_ISSUER, audience: DEV_AUDIENCE, jwks: jwksOf(f.key) }),
      Layer.succeed(Auth, { authenticate: () => Effect.die(new Error("+14155552671")) })
    )
    const handler = makeFetchHandler(dying, { idempotencyHashKey: f.idempotencyHashKey })
    try {
      const lines = captured()
      const healthy = await handler.fetch(
        new Request("http://127.0.0.1/healthz", { headers: { "x-request-id": "r-ok" } })
      )
      const failed = await handler.fetch(
        new Request("http://127.0.0.1/users/u1", { headers: { "x-request-id": "r-500" } })
      )
      expect([healthy.status, failed.status]).toEqual([200, 500])
      for (const { args } of lines) {
        expect(args).toHaveLength(1)
        expect(args[0]).toMatch(/^\{"level":"(info|error)","msg":"(request|unexpected failure)",/)
        expect(args[0]).not.toContain("4155552671")
      }
      const parsed = lines.map(({ args, method }) => [method, JSON.parse(args[0] as string)])
      expect(parsed).toEqual([
        ["log", {
          level: "info",
          msg: "request",
          requestId: "r-ok",
          serverRequestId: expect.any(String),
          method: "GET",
          route: "/healthz",
          status: 200,
          durationMs: expect.any(Number)
        }],
        ["error", {
          level: "error",
          msg: "unexpected failure",
          requestId: "r-500",
          serverRequestId: expect.any(String),
          kind: "Die"
        }],
        ["error", {
          level: "error",
          msg: "request",
          requestId: "r-500",
          serverRequestId: expect.any(String),
          method: "GET",
          route: "/users/:id",
          status: 500,
          durationMs: expect.any(Number),
          code: "internal-error"
        }]
      ])
    } finally {
      vi.restoreAllMocks()
      await handler.dispose()
      await f.dispose()
    }
  })
})
