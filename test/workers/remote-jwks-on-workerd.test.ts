/**
 * The remote key set (src/layers/auth/remote-jwks.ts) inside workerd, through the Worker entry with JWKS_URL: its
 * global fetch, abort and timers work there; concurrent requests share one fetch; an identity provider that answers
 * 500 is a 503 identity-provider-unavailable with Retry-After, and the next request after the back-off recovers.
 * The identity provider is the runner's fetchMock (no network).
 */
import { afterEach, beforeEach, describe, expect, it } from "@effect/vitest"
import { env, fetchMock } from "cloudflare:test"
import { signServiceToken } from "../../src/dev/signing.js"
import worker, { type Bindings } from "../../src/worker.js"
import { BASE_URL, seedTenant, testKey } from "./support/d1-fixture.js"

const IDP = "https://idp.users-api.test"
const JWKS_PATH = "/.well-known/jwks.json"

beforeEach(() => {
  fetchMock.activate()
  fetchMock.disableNetConnect()
})
afterEach(() => fetchMock.deactivate())

/** A Worker env of its own (so a fresh handler and key-set cache) that trusts the IdP's URL. */
const workerEnv = (): Bindings => ({
  DB: env.DB,
  JWT_ISSUER: env.JWT_ISSUER,
  JWT_AUDIENCE: env.JWT_AUDIENCE,
  JWKS_URL: `${IDP}${JWKS_PATH}`,
  IDEMPOTENCY_HASH_KEY: env.IDEMPOTENCY_HASH_KEY
})

const createUser = async (bindings: Bindings, apiKey: string, token: string, id: string) =>
  worker.fetch(
    new Request(`${BASE_URL}/users`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "x-api-key": apiKey, "content-type": "application/json" },
      body: JSON.stringify({ id })
    }),
    bindings
  )

describe("the remote key set in workerd", () => {
  it("fetches the key set once for 20 concurrent requests", async () => {
    const tenant = await seedTenant()
    const token = await signServiceToken(testKey, "svc_remote", tenant.organizationId, "users:write")
    // One answer only: a second fetch would find no interceptor and fail, turning some requests into 503s.
    fetchMock.get(IDP).intercept({ path: JWKS_PATH }).reply(200, env.JWKS, {
      headers: { "content-type": "application/json" }
    })
    const bindings = workerEnv()
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => createUser(bindings, tenant.apiKey, token, `remote_${i}`))
    )
    expect(responses.map((r) => r.status)).toEqual(responses.map(() => 201))
    fetchMock.assertNoPendingInterceptors()
  })

  it("answers 503 identity-provider-unavailable with Retry-After while the IdP fails, and recovers after", async () => {
    const tenant = await seedTenant()
    const token = await signServiceToken(testKey, "svc_remote", tenant.organizationId, "users:write")
    fetchMock.get(IDP).intercept({ path: JWKS_PATH }).reply(500, "upstream error")
    const bindings = workerEnv()
    const failed = await createUser(bindings, tenant.apiKey, token, "remote_down")
    expect(failed.status).toBe(503)
    expect(Number(failed.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
    expect(await failed.json()).toMatchObject({ code: "identity-provider-unavailable", status: 503 })
    // During the back-off no fetch is made: none is mocked now, so one would fail again and double the back-off,
    // and the request after 1.1 s below would most likely still be refused.
    const again = await createUser(bindings, tenant.apiKey, token, "remote_down")
    expect(again.status).toBe(503)
    fetchMock.get(IDP).intercept({ path: JWKS_PATH }).reply(200, env.JWKS, {
      headers: { "content-type": "application/json" }
    })
    await new Promise((resolve) => setTimeout(resolve, 1_100))
    const recovered = await createUser(bindings, tenant.apiKey, token, "remote_back")
    expect(recovered.status).toBe(201)
    fetchMock.assertNoPendingInterceptors()
  })
})
