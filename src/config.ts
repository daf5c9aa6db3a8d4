/**
 * Configuration from the environment (process.env, Deno.env, or a Worker's env bindings).
 */
import type { JSONWebKeySet } from "jose"
import { MIN_WEBHOOK_SECRET_KEY_LENGTH } from "./app/webhook-secrets.js"
import { allowedHostEntry } from "./domain/webhook-url.js"
import type { JwtConfig } from "./layers/auth/jwt.js"
import { MIN_FINGERPRINT_KEY_LENGTH } from "./layers/masker.js"
import { MIN_IDEMPOTENCY_HASH_KEY_LENGTH } from "./services/idempotency.js"

export type Env = Readonly<Record<string, string | undefined>>

export class ConfigError extends Error {}

/** A Worker's settings: its vars and secrets, the string bindings of its env (the others are D1, queues, ...). */
export const stringBindings = (env: object): Record<string, string> =>
  Object.fromEntries(
    Object.entries(env).filter((binding): binding is [string, string] => typeof binding[1] === "string")
  )

/** The JWT and key-set variables users-api reads; any other JWT* or JWKS* name is reported as unknown at start. */
export const JWT_VARIABLES = [
  "JWKS",
  "JWKS_URL",
  "JWKS_STALE_IF_ERROR_SECONDS",
  "JWKS_TIMEOUT_SECONDS",
  "JWT_ISSUER",
  "JWT_AUDIENCE",
  "JWT_ALGORITHMS",
  "JWT_MAX_AGE"
] as const

/** Every variable a server on an SQLite file reads (the Deno entry asks for exactly these when it may not list). */
export const SERVER_VARIABLES = [
  ...JWT_VARIABLES,
  "PORT",
  "HOST",
  "USERS_API_DATA_DIR",
  "PHONE_FINGERPRINT_KEY",
  "IDEMPOTENCY_HASH_KEY",
  "CHECKPOINT_INTERVAL_SECONDS",
  "WEBHOOK_SECRET_KEY",
  "WEBHOOK_ALLOW_LOOPBACK",
  "WEBHOOK_ALLOWED_HOSTS"
] as const

/** CHECKPOINT_INTERVAL_SECONDS (default 60): how often a server seals what organizations wrote (app/checkpoints.ts). */
export const checkpointIntervalFromEnv = (env: Env): number => {
  const text = env.CHECKPOINT_INTERVAL_SECONDS
  if (text === undefined || text === "") return 60
  const seconds = Number(text)
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > 86_400) {
    throw new ConfigError(`CHECKPOINT_INTERVAL_SECONDS must be 1 to 86400 seconds, not ${JSON.stringify(text)}`)
  }
  return seconds
}

/**
 * Variables only a production start has, each required there: with any of them and no key set, a start is a
 * production start gone wrong (never local dev mode). One line per variable.
 */
export const PRODUCTION_SETTINGS: ReadonlyArray<readonly [name: string, what: string]> = [
  ["JWT_ISSUER", "the iss of the identity provider's tokens"],
  ["JWT_AUDIENCE", "the aud its tokens carry for this API"]
]

const isSet = (value: string | undefined): boolean => value !== undefined && value !== ""

const names = (list: ReadonlyArray<string>): string =>
  list.length <= 1 ? list.join("") : `${list.slice(0, -1).join(", ")} and ${list[list.length - 1]}`

/** HOST unset, 127.0.0.1, ::1 or localhost: addresses only this machine can reach. */
export const isLoopbackHost = (host: string | undefined): boolean =>
  host === undefined || host === "" || host === "127.0.0.1" || host === "::1" || host.toLowerCase() === "localhost"

/**
 * Local dev mode (trusting a local signing key, seeding a demo tenant, printing a live key and token) only when no
 * key set is configured, HOST is the loopback and no production setting is present; production mode when a key set
 * is configured along with every production setting. Anything else is a ConfigError saying what is missing and why.
 */
export const startMode = (env: Env): "dev" | "production" => {
  const keySet = isSet(env.JWKS_URL) || isSet(env.JWKS)
  if (keySet) {
    const missing = PRODUCTION_SETTINGS.filter(([name]) => !isSet(env[name]))
    if (missing.length > 0) {
      throw new ConfigError(
        `a key set (JWKS_URL or JWKS) is configured, so this is a production start, and it needs ${
          missing.map(([name, what]) => `${name} (${what})`).join(" and ")
        }`
      )
    }
    return "production"
  }
  const present = PRODUCTION_SETTINGS.map(([name]) => name).filter((name) => isSet(env[name]))
  if (present.length > 0) {
    throw new ConfigError(
      `${names(present)} ${present.length === 1 ? "is" : "are"} set, but neither JWKS_URL nor JWKS is: ` +
        "a production start needs the identity provider's key set, and local dev mode is never chosen when a " +
        `production setting is present. Set JWKS_URL (or unset ${names(present)} for local dev mode)`
    )
  }
  if (!isLoopbackHost(env.HOST)) {
    throw new ConfigError(
      `HOST ${JSON.stringify(env.HOST)} is not a loopback address, and neither JWKS_URL nor JWKS is set: local dev ` +
        "mode trusts a local signing key and prints a live API key and token, so it runs only on 127.0.0.1, ::1 or " +
        "localhost. Set JWKS_URL, JWT_ISSUER and JWT_AUDIENCE for production, or leave HOST unset"
    )
  }
  return "dev"
}

/** Edit distance, for the "did you mean" of a misspelt variable. */
const distance = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = row
  }
  return previous[b.length]!
}

/** Names that look like ours (JWT*, JWKS*, in any letter case) but are not, each with the closest known name. */
export const unknownVariables = (
  present: Iterable<string>
): Array<{ readonly name: string; readonly suggestion?: string }> => {
  const known = new Set<string>(JWT_VARIABLES)
  const unknown: Array<{ readonly name: string; readonly suggestion?: string }> = []
  for (const name of present) {
    if (!/^(JWT|JWKS)/i.test(name) || known.has(name)) continue
    const upper = name.toUpperCase()
    const [best] = JWT_VARIABLES.map((candidate) => ({ candidate, d: distance(upper, candidate) }))
      .sort((x, y) => x.d - y.d)
    const close = best !== undefined && best.d <= Math.max(2, Math.floor(best.candidate.length / 5))
    unknown.push(close ? { name, suggestion: best.candidate } : { name })
  }
  return unknown
}

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

/** PHONE_FINGERPRINT_KEY (optional): the secret for the keyed fingerprints of numbers that events commit to. */
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

/**
 * WEBHOOK_SECRET_KEY (optional; at least 32 characters when set): the key every webhook subscription's signing secret
 * is derived from (src/app/webhook-secrets.ts). Unset, webhooks are off: their routes answer 503
 * webhooks-not-configured and no relay runs; everything else is served. Local dev mode passes the dev state's key.
 */
export const webhookSecretKeyFromEnv = (env: Env, devKey?: string): string | undefined => {
  const key = env.WEBHOOK_SECRET_KEY || devKey
  if (key === undefined || key === "") return undefined
  if (key.length < MIN_WEBHOOK_SECRET_KEY_LENGTH) {
    throw new ConfigError(`WEBHOOK_SECRET_KEY must be at least ${MIN_WEBHOOK_SECRET_KEY_LENGTH} characters`)
  }
  return key
}

/**
 * WEBHOOK_ALLOW_LOOPBACK ("true" or "false"): whether webhook URLs may be http:// to the loopback and name private
 * addresses, for local development and benchmarks on one machine. Default: true in local dev mode, false otherwise.
 */
export const webhookAllowLoopbackFromEnv = (env: Env, devMode: boolean): boolean => {
  const text = env.WEBHOOK_ALLOW_LOOPBACK?.trim().toLowerCase()
  if (text === undefined || text === "") return devMode
  if (text !== "true" && text !== "false") {
    throw new ConfigError(
      `WEBHOOK_ALLOW_LOOPBACK must be true or false, not ${JSON.stringify(env.WEBHOOK_ALLOW_LOOPBACK)}`
    )
  }
  return text === "true"
}

/**
 * WEBHOOK_ALLOWED_HOSTS (optional): the operator's egress allow-list of receivers, hosts (`hooks.example.com`) and
 * suffixes (`.example.com`, `*.example.com`), separated by commas or spaces. When set, subscriptions and deliveries
 * name only those, on every runtime; unset or empty, any public host.
 */
export const webhookAllowedHostsFromEnv = (env: Env): ReadonlyArray<string> | undefined => {
  const entries = (env.WEBHOOK_ALLOWED_HOSTS ?? "").split(/[\s,]+/).filter((entry) => entry !== "")
  if (entries.length === 0) return undefined
  return entries.map((entry) => {
    const host = allowedHostEntry(entry)
    if (host === undefined) {
      throw new ConfigError(`WEBHOOK_ALLOWED_HOSTS: ${JSON.stringify(entry)} is not a host or .suffix`)
    }
    return host
  })
}
