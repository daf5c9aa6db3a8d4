/**
 * Without `tracing: true` the handler makes no server span per request: HttpApp's tracer middleware stops before it
 * names one. Its SpanNameGenerator, slipped into the handler's context, counts the spans it would have made.
 */
import { HttpMiddleware } from "@effect/platform"
import { Layer } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { DEV_AUDIENCE, DEV_ISSUER, generateSigningKey, jwksOf } from "../../src/dev/signing.js"
import { type HandlerOptions, makeFetchHandler } from "../../src/fetch-handler.js"
import { SqliteNodeServices } from "../../src/layers/sqlite/node.js"

const spansNamed = async (tracing: boolean) => {
  const key = await generateSigningKey("test-key")
  const filename = join(mkdtempSync(join(tmpdir(), "users-api-")), "test.sqlite")
  let named = 0
  const counting = Layer.succeed(HttpMiddleware.SpanNameGenerator, (request) => {
    named++
    return `http.server ${request.method}`
  })
  const handler = makeFetchHandler(
    SqliteNodeServices(filename, { issuer: DEV_ISSUER, audience: DEV_AUDIENCE, jwks: jwksOf(key) }),
    {
      idempotencyHashKey: "test-idempotency-hash-key-0123456789abcdef",
      log: () => undefined,
      tracing,
      // The docs slot is merged into the handler's own context: the one place a test can put a service there.
      docs: counting as unknown as NonNullable<HandlerOptions["docs"]>
    }
  )
  try {
    for (let i = 0; i < 3; i++) expect((await handler.fetch(new Request("http://127.0.0.1/healthz"))).status).toBe(200)
    return named
  } finally {
    await handler.dispose()
  }
}

describe("tracing", () => {
  it("off by default: no request is traced", async () => {
    expect(await spansNamed(false)).toBe(0)
  })

  it("on with tracing: true, a span per request", async () => {
    expect(await spansNamed(true)).toBe(3)
  })
})
