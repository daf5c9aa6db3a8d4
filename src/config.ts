/**
 * Configuration from the environment (process.env, Deno.env, or a Worker's env bindings).
 */
import type { JSONWebKeySet } from "jose"
import type { JwtConfig } from "./layers/auth/jwt.js"
import { MIN_IDEMPOTENCY_HASH_KEY_LENGTH } from "./services/idempotency.js"
import { MIN_FINGERPRINT_KEY_LENGTH } from "./services/masker.js"

export type Env = Readonly<Record<string, string | undefined>>

export class ConfigError extends Error {}

/**
 * JWT_ISSUER and JWT_AUDIENCE, and either JWKS_URL (production: the identity provider's key set)
 * or JWKS (an inline JSON key set, for local use). JWT_ALGORITHMS optionally narrows the allow-list.
 */
export const jwtConfigFromEnv = (env: Env): JwtConfig => {
  const issuer = env.JWT_ISSUER
  const audience = env.JWT_AUDIENCE
  if (!issuer || !audience) throw new ConfigError("JWT_ISSUER and JWT_AUDIENCE must be set")
  let jwks: JSONWebKeySet | URL
  if (env.JWKS_URL) {
    jwks = new URL(env.JWKS_URL)
  } else if (env.JWKS) {
    jwks = JSON.parse(env.JWKS) as JSONWebKeySet
  } else {
    throw new ConfigError("set JWKS_URL (production) or JWKS (an inline JSON key set)")
  }
  const algorithms = env.JWT_ALGORITHMS?.split(",").map((a) => a.trim()).filter((a) => a !== "")
  return { issuer, audience, jwks, ...(algorithms && algorithms.length > 0 ? { algorithms } : {}) }
}

/** PHONE_FINGERPRINT_KEY (optional): the secret for the keyed fingerprints of numbers in events. */
export const phoneFingerprintKeyFromEnv = (env: Env): string | undefined => {
  const key = env.PHONE_FINGERPRINT_KEY
  if (key === undefined || key === "") return undefined
  if (key.length < MIN_FINGERPRINT_KEY_LENGTH) {
    throw new ConfigError(`PHONE_FINGERPRINT_KEY must be at least ${MIN_FINGERPRINT_KEY_LENGTH} characters`)
  }
  return key
}

/**
 * IDEMPOTENCY_HASH_KEY (required): the secret of the Idempotency-Key request hashes. Local dev mode passes the one
 * kept in data/dev-state.json as `devKey`, used when the variable is not set.
 */
export const idempotencyHashKeyFromEnv = (env: Env, devKey?: string): string => {
  const key = env.IDEMPOTENCY_HASH_KEY || devKey
  if (!key) {
    throw new ConfigError(
      `IDEMPOTENCY_HASH_KEY must be set (a secret of at least ${MIN_IDEMPOTENCY_HASH_KEY_LENGTH} characters)`
    )
  }
  if (key.length < MIN_IDEMPOTENCY_HASH_KEY_LENGTH) {
    throw new ConfigError(`IDEMPOTENCY_HASH_KEY must be at least ${MIN_IDEMPOTENCY_HASH_KEY_LENGTH} characters`)
  }
  return key
}
