/**
 * IDEMPOTENCY_HASH_KEY, the secret of the Idempotency-Key request hashes (issue 9): required outside local dev mode,
 * at least 32 characters, refused at start-up like a missing key set; in local dev mode kept in data/dev-state.json,
 * and added to a dev state written before it existed.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { ConfigError, idempotencyHashKeyFromEnv, providerOf } from "../../src/config.js"
import { loadOrCreateDevState } from "../../src/dev/state.js"
import { startup } from "../../src/startup.js"

const dir = mkdtempSync(join(tmpdir(), "users-api-hash-key-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const KEY = "k".repeat(32)

const failed = (message: string): never => {
  throw new Error(`fail: ${message}`)
}

describe("IDEMPOTENCY_HASH_KEY", () => {
  it("is read from the environment, and refused when missing or shorter than 32 characters", () => {
    expect(idempotencyHashKeyFromEnv({ IDEMPOTENCY_HASH_KEY: KEY })).toBe(KEY)
    expect(() => idempotencyHashKeyFromEnv({})).toThrow(ConfigError)
    expect(() => idempotencyHashKeyFromEnv({ IDEMPOTENCY_HASH_KEY: "" })).toThrow(/must be set/)
    expect(() => idempotencyHashKeyFromEnv({ IDEMPOTENCY_HASH_KEY: "k".repeat(31) })).toThrow(/at least 32/)
  })

  it("stops a production start-up (a JWKS configured) that lacks it, as a missing key set does", async () => {
    const production = { JWKS: JSON.stringify({ keys: [] }), JWT_ISSUER: "https://idp/", JWT_AUDIENCE: "users-api" }
    await expect(startup(providerOf(production), [], 0, failed, () => undefined)).rejects.toThrow(
      /fail: IDEMPOTENCY_HASH_KEY must be set/
    )
    const config = await startup(
      providerOf({ ...production, IDEMPOTENCY_HASH_KEY: KEY }),
      [],
      0,
      failed,
      () => undefined
    )
    expect(config.idempotencyHashKey).toBe(KEY)
  })

  it("is made once and kept in the dev state in local dev mode, and added to an older dev state", async () => {
    const file = join(dir, "dev-state.json")
    const created = await loadOrCreateDevState(file)
    expect(created.idempotencyHashKey.length).toBeGreaterThanOrEqual(32)
    expect((await loadOrCreateDevState(file)).idempotencyHashKey).toBe(created.idempotencyHashKey)

    const { idempotencyHashKey: _dropped, ...older } = created
    writeFileSync(file, JSON.stringify(older))
    const upgraded = await loadOrCreateDevState(file)
    expect(upgraded.idempotencyHashKey.length).toBeGreaterThanOrEqual(32)
    expect(upgraded.idempotencyHashKey).not.toBe(created.idempotencyHashKey)
    expect({ ...upgraded, idempotencyHashKey: undefined }).toEqual({ ...older, idempotencyHashKey: undefined })
    expect(JSON.parse(readFileSync(file, "utf8")).idempotencyHashKey).toBe(upgraded.idempotencyHashKey)
  })
})
