/**
 * Configuration from the environment (process.env, Deno.env, or a Worker's env bindings).
 */
import type { JSONWebKeySet } from "jose"
import type { JwtConfig } from "./layers/auth/jwt.js"
import { MIN_FINGERPRINT_KEY_LENGTH } from "./services/masker.js"

export type Env = Readonly<Record<string, string | undefined>>

export class ConfigError extends Error {}

/** A number of seconds from the environment, checked against its range; undefined when unset or empty. */
const seconds = (
  env: Env,
  name: string,
  rule: { readonly min: number; readonly max: number; readonly whole?: boolean; readonly what: string }
): number | undefined => {
  const text = env[name]?.trim()
  if (text === undefined || text === "") return undefined
  const value = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN
  if (!(value >= rule.min && value <= rule.max) || (rule.whole === true && !Number.isInteger(value))) {
    throw new ConfigError(`${name} must be ${rule.what}, not ${JSON.stringify(env[name])}`)
  }
  return value
}

/**
 * JWT_ISSUER and JWT_AUDIENCE, and either JWKS_URL (production: the identity provider's key set)
 * or JWKS (an inline JSON key set, for local use). JWT_ALGORITHMS optionally narrows the allow-list;
 * JWKS_STALE_IF_ERROR_SECONDS and JWKS_TIMEOUT_SECONDS tune how the remote key set is kept and fetched;
 * JWT_MAX_AGE bounds a token's age (from its iat).
 */
export const jwtConfigFromEnv = (env: Env): JwtConfig => {
  const issuer = env.JWT_ISSUER
  const audience = env.JWT_AUDIENCE
  if (!issuer || !audience) throw new ConfigError("JWT_ISSUER and JWT_AUDIENCE must be set")
  let jwks: JSONWebKeySet | URL
  if (env.JWKS_URL) {
    if (!URL.canParse(env.JWKS_URL) || !/^https?:$/.test(new URL(env.JWKS_URL).protocol)) {
      throw new ConfigError("JWKS_URL must be an http(s) URL, e.g. https://idp.example.com/.well-known/jwks.json")
    }
    jwks = new URL(env.JWKS_URL)
  } else if (env.JWKS) {
    jwks = JSON.parse(env.JWKS) as JSONWebKeySet
  } else {
    throw new ConfigError("set JWKS_URL (production) or JWKS (an inline JSON key set)")
  }
  const algorithms = env.JWT_ALGORITHMS?.split(",").map((a) => a.trim()).filter((a) => a !== "")
  const staleIfErrorSeconds = seconds(env, "JWKS_STALE_IF_ERROR_SECONDS", {
    min: 0,
    max: 7 * 24 * 3600,
    whole: true,
    what: "a whole number of seconds from 0 to 604800 (a week)"
  })
  const maxTokenAgeSeconds = seconds(env, "JWT_MAX_AGE", {
    min: 1,
    max: 366 * 24 * 3600,
    whole: true,
    what: "a whole number of seconds from 1 to 31622400 (a year)"
  })
  const fetchTimeoutSeconds = seconds(env, "JWKS_TIMEOUT_SECONDS", {
    min: 0.1,
    max: 60,
    what: "a number of seconds from 0.1 to 60"
  })
  return {
    issuer,
    audience,
    jwks,
    ...(algorithms && algorithms.length > 0 ? { algorithms } : {}),
    ...(staleIfErrorSeconds !== undefined ? { staleIfErrorSeconds } : {}),
    ...(fetchTimeoutSeconds !== undefined ? { fetchTimeoutSeconds } : {}),
    ...(maxTokenAgeSeconds !== undefined ? { maxTokenAgeSeconds } : {})
  }
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
