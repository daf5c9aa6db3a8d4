/**
 * src/worker.ts, the Workers entry: serves the handler over env.DB, and answers a configuration error
 * with a 500 problem that says what is missing instead of crashing.
 */
import { describe, expect, it } from "@effect/vitest"
import { env, SELF } from "cloudflare:test"
import { DOCS_SCRIPT_PATH } from "../../src/http/docs.js"
import worker, { type Bindings } from "../../src/worker.js"
import { BASE_URL } from "./support/d1-fixture.js"

const healthz = () => new Request(`${BASE_URL}/healthz`)

const misconfigured = async (workerEnv: Bindings) => {
  const response = await worker.fetch(healthz(), workerEnv)
  const problem = await response.json() as Record<string, unknown>
  expect(response.status).toBe(500)
  expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/)
  expect(problem).toMatchObject({ status: 500, code: "misconfigured", success: false })
  expect(problem.requestId).toBe(response.headers.get("x-request-id"))
  return String(problem.detail)
}

describe("the Worker entry", () => {
  it("serves the handler from the wrangler.toml bindings", async () => {
    const response = await SELF.fetch(healthz())
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ status: "ok" })
    expect(response.headers.get("x-request-id")).toBeTruthy()
  })

  // The script is wrangler.toml's static asset (scripts/build-docs.ts), which SELF serves as Cloudflare does.
  it("serves /docs with Scalar's script loaded from its own origin, not inlined into the Worker", async () => {
    const page = await SELF.fetch(`${BASE_URL}/docs`)
    const html = await page.text()
    expect(page.status).toBe(200)
    expect(page.headers.get("content-type")).toMatch(/^text\/html/)
    expect(page.headers.get("x-request-id")).toBeTruthy()
    expect(html).toContain("/users/{id}/UpdatePhoneNumber")
    expect([...html.matchAll(/<script[^>]*\ssrc="([^"]*)"/g)].map(([, src]) => src)).toEqual([DOCS_SCRIPT_PATH])
    expect(html).not.toContain("@scalar/api-reference")
    const script = await SELF.fetch(`${BASE_URL}${DOCS_SCRIPT_PATH}`)
    expect(script.status).toBe(200)
    expect(script.headers.get("content-type")).toMatch(/^(text|application)\/javascript/)
    expect(await script.text()).toContain("@scalar/api-reference")
  })

  it("answers 500 naming JWT_ISSUER and JWT_AUDIENCE when they are not set", async () => {
    expect(await misconfigured({ DB: env.DB, JWKS: env.JWKS })).toMatch(/JWT_ISSUER and JWT_AUDIENCE must be set/)
  })

  it("answers 500 naming JWKS_URL and JWKS when no key set is configured", async () => {
    expect(await misconfigured({ DB: env.DB, JWT_ISSUER: env.JWT_ISSUER, JWT_AUDIENCE: env.JWT_AUDIENCE }))
      .toMatch(/JWKS_URL .*JWKS/)
  })

  it("answers 500 when the inline JWKS is not JSON", async () => {
    const detail = await misconfigured({
      DB: env.DB,
      JWT_ISSUER: env.JWT_ISSUER,
      JWT_AUDIENCE: env.JWT_AUDIENCE,
      JWKS: "{"
    })
    expect(detail).toMatch(/JWKS is not valid JSON/)
  })

  it("answers 500 naming the DB binding when it is missing", async () => {
    expect(await misconfigured({ JWT_ISSUER: env.JWT_ISSUER, JWT_AUDIENCE: env.JWT_AUDIENCE, JWKS: env.JWKS }))
      .toMatch(/D1 binding DB/)
  })

  it("answers 500 naming IDEMPOTENCY_HASH_KEY when it is missing or shorter than 32 characters", async () => {
    const configured = { DB: env.DB, JWT_ISSUER: env.JWT_ISSUER, JWT_AUDIENCE: env.JWT_AUDIENCE, JWKS: env.JWKS }
    expect(await misconfigured(configured)).toMatch(/IDEMPOTENCY_HASH_KEY must be set/)
    expect(await misconfigured({ ...configured, IDEMPOTENCY_HASH_KEY: "x".repeat(31) }))
      .toMatch(/IDEMPOTENCY_HASH_KEY must be at least 32 characters/)
  })

  it("builds the handler once per env and reuses it", async () => {
    const bindings: { -readonly [K in keyof Bindings]: Bindings[K] } = {
      DB: env.DB,
      JWT_ISSUER: env.JWT_ISSUER,
      JWT_AUDIENCE: env.JWT_AUDIENCE,
      JWKS: env.JWKS,
      IDEMPOTENCY_HASH_KEY: env.IDEMPOTENCY_HASH_KEY
    }
    expect((await worker.fetch(healthz(), bindings)).status).toBe(200)
    // Were it rebuilt per request, the missing key set would now be a 500.
    delete bindings.JWKS
    expect((await worker.fetch(healthz(), bindings)).status).toBe(200)
  })

  it("does not keep a configuration error: the first request after the fix is served", async () => {
    const bindings: { -readonly [K in keyof Bindings]: Bindings[K] } = {
      DB: env.DB,
      JWT_ISSUER: env.JWT_ISSUER,
      JWT_AUDIENCE: env.JWT_AUDIENCE,
      IDEMPOTENCY_HASH_KEY: env.IDEMPOTENCY_HASH_KEY
    }
    expect((await worker.fetch(healthz(), bindings)).status).toBe(500)
    bindings.JWKS = env.JWKS
    expect((await worker.fetch(healthz(), bindings)).status).toBe(200)
  })
})
