/**
 * src/config.ts: the secrets stay Redacted until handed over, a refusal names its variable but never its value, an
 * empty variable is an unset one, and the process environment reads as a Worker's bindings do.
 */
import { ConfigProvider } from "effect"
import { describe, expect, it } from "vitest"
import { ConfigError, handlerSettings, readConfig, readEnv, reveal } from "../../src/config.js"

const KEY = "k".repeat(32)

describe("the settings", () => {
  it("keeps the keys Redacted: printing the settings shows none of them", () => {
    const settings = readEnv(handlerSettings(), { IDEMPOTENCY_HASH_KEY: KEY, WEBHOOK_SECRET_KEY: `w${KEY}` })
    expect(`${JSON.stringify(settings)} ${String(settings.idempotencyHashKey)}`).not.toMatch(/kkkk/)
    expect(reveal(settings.webhookSecretKey)).toBe(`w${KEY}`)
  })

  it("refuses a short key naming the variable, not the value", () => {
    const read = () => readEnv(handlerSettings(), { IDEMPOTENCY_HASH_KEY: KEY, PHONE_FINGERPRINT_KEY: "secret-ish" })
    expect(read).toThrow(ConfigError)
    expect(read).toThrow(/^PHONE_FINGERPRINT_KEY must be at least 32 characters$/)
    expect(read).not.toThrow(/secret-ish/)
  })

  it("reads an empty variable as unset", () => {
    const settings = readEnv(handlerSettings(), { IDEMPOTENCY_HASH_KEY: KEY, WEBHOOK_SECRET_KEY: "" })
    expect(reveal(settings.webhookSecretKey)).toBeUndefined()
    expect(() => readEnv(handlerSettings(), { IDEMPOTENCY_HASH_KEY: "" })).toThrow(/^IDEMPOTENCY_HASH_KEY must be set/)
  })

  it("reads the process environment (Bun, Deno) as it reads a Worker's bindings", () => {
    const env = {
      IDEMPOTENCY_HASH_KEY: KEY,
      PHONE_FINGERPRINT_KEY: "",
      WEBHOOK_SECRET_KEY: "",
      WEBHOOK_ALLOWED_HOSTS: "a.example, .b.example",
      WEBHOOK_ALLOW_LOOPBACK: "true"
    }
    const saved = { ...process.env }
    Object.assign(process.env, env)
    try {
      const fromEnv = readConfig(handlerSettings(), ConfigProvider.fromEnv())
      expect(JSON.stringify(fromEnv)).toBe(JSON.stringify(readEnv(handlerSettings(), env)))
      expect(fromEnv.webhookAllowedHosts).toEqual(["a.example", ".b.example"])
    } finally {
      for (const name of Object.keys(env)) if (!(name in saved)) delete process.env[name]
      Object.assign(process.env, saved)
    }
  })
})
