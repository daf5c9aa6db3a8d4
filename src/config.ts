// Every setting as an Effect Config, checked once here (docs/DECISIONS.md, "Start modes and settings").
import { Config, ConfigError as EffectConfigError, Either, Option, Redacted } from "effect"
import type { JSONWebKeySet } from "jose"
import { allowedHostEntry } from "./domain/webhook-url.js"
import type { JwtConfig } from "./layers/auth/jwt.js"
import { type Env, invalid, parsed, readEnv, seconds, text } from "./read-config.js"
import { MIN_IDEMPOTENCY_HASH_KEY_LENGTH } from "./services/idempotency.js"

export { ConfigError, type Env, providerOf, readConfig, readEnv, stringBindings } from "./read-config.js"

/** Every subscription's secret is only as strong as it. */
export const MIN_WEBHOOK_SECRET_KEY_LENGTH = 32
export const MIN_FINGERPRINT_KEY_LENGTH = 32
export const MIN_VERIFICATION_CODE_KEY_LENGTH = 32

const secret = (name: string, min: number): Config.Config<Option.Option<Redacted.Redacted>> =>
  Config.redacted(name).pipe(
    Config.option,
    Config.map(Option.filter((key) => Redacted.value(key) !== "")),
    Config.validate({
      message: `${name} must be at least ${min} characters`,
      validation: (key) => Option.isNone(key) || Redacted.value(key.value).length >= min
    })
  )

/** Any other JWT* or JWKS* name is reported as unknown at start. */
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

const keySet: Config.Config<JSONWebKeySet | URL> = Config.all([text("JWKS_URL"), text("JWKS")]).pipe(
  Config.mapOrFail(([url, inline]) => {
    if (Option.isSome(url)) {
      return URL.canParse(url.value) && /^https?:$/.test(new URL(url.value).protocol)
        ? Either.right<JSONWebKeySet | URL>(new URL(url.value))
        : invalid("JWKS_URL must be an http(s) URL, e.g. https://idp.example.com/.well-known/jwks.json")
    }
    if (Option.isNone(inline)) return invalid("set JWKS_URL (production) or JWKS (an inline JSON key set)")
    return Either.try({
      try: (): JSONWebKeySet | URL => JSON.parse(inline.value) as JSONWebKeySet,
      catch: () => EffectConfigError.InvalidData([], "JWKS is not valid JSON (an inline JSON key set)")
    })
  })
)

export const jwtConfig: Config.Config<JwtConfig> = Config.all({
  names: Config.all({ issuer: text("JWT_ISSUER"), audience: text("JWT_AUDIENCE") }).pipe(
    Config.mapOrFail((names) =>
      Option.match(Option.all(names), {
        onNone: () => invalid("JWT_ISSUER and JWT_AUDIENCE must be set"),
        onSome: Either.right
      })
    )
  ),
  jwks: keySet,
  algorithms: text("JWT_ALGORITHMS").pipe(Config.map(Option.match({
    onNone: () => [],
    onSome: (list) => list.split(",").map((a) => a.trim()).filter((a) => a !== "")
  }))),
  staleIfErrorSeconds: seconds("JWKS_STALE_IF_ERROR_SECONDS", {
    min: 0,
    max: 7 * 24 * 3600,
    whole: true,
    what: "a whole number of seconds from 0 to 604800 (a week)"
  }),
  maxTokenAgeSeconds: seconds("JWT_MAX_AGE", {
    min: 1,
    max: 366 * 24 * 3600,
    whole: true,
    what: "a whole number of seconds from 1 to 31622400 (a year)"
  }),
  fetchTimeoutSeconds: seconds("JWKS_TIMEOUT_SECONDS", {
    min: 0.1,
    max: 60,
    what: "a number of seconds from 0.1 to 60"
  })
}).pipe(Config.map(({ algorithms, fetchTimeoutSeconds, jwks, maxTokenAgeSeconds, names, staleIfErrorSeconds }) => ({
  ...names,
  jwks,
  ...(algorithms.length > 0 ? { algorithms } : {}),
  ...(staleIfErrorSeconds !== undefined ? { staleIfErrorSeconds } : {}),
  ...(fetchTimeoutSeconds !== undefined ? { fetchTimeoutSeconds } : {}),
  ...(maxTokenAgeSeconds !== undefined ? { maxTokenAgeSeconds } : {})
})))

export const reveal = (key: Option.Option<Redacted.Redacted>): string | undefined =>
  Option.getOrUndefined(Option.map(key, Redacted.value))

export const phoneFingerprintKey = secret("PHONE_FINGERPRINT_KEY", MIN_FINGERPRINT_KEY_LENGTH)

/** The key of the verification codes' hashes; unset, one derived from IDEMPOTENCY_HASH_KEY. */
export const verificationCodeKey = secret("VERIFICATION_CODE_KEY", MIN_VERIFICATION_CODE_KEY_LENGTH)

export const idempotencyHashKey = (devKey?: string): Config.Config<Redacted.Redacted> =>
  secret("IDEMPOTENCY_HASH_KEY", MIN_IDEMPOTENCY_HASH_KEY_LENGTH).pipe(
    Config.mapOrFail(Option.match({
      onNone: () =>
        devKey !== undefined ? Either.right(Redacted.make(devKey)) : invalid(
          `IDEMPOTENCY_HASH_KEY must be set (a secret of at least ${MIN_IDEMPOTENCY_HASH_KEY_LENGTH} characters)`
        ),
      onSome: Either.right
    }))
  )

/** Unset, webhooks are off: their routes answer 503 and no relay runs. */
export const webhookSecretKey = (devKey?: string): Config.Config<Option.Option<Redacted.Redacted>> =>
  secret("WEBHOOK_SECRET_KEY", MIN_WEBHOOK_SECRET_KEY_LENGTH).pipe(
    Config.map(Option.orElse(() => Option.map(Option.fromNullable(devKey), Redacted.make)))
  )

export const webhookAllowLoopback = (devMode: boolean): Config.Config<boolean> =>
  parsed("WEBHOOK_ALLOW_LOOPBACK", (value) => {
    const word = value.trim().toLowerCase()
    return word === "" ? devMode : word === "true" ? true : word === "false" ? false : undefined
  }, (value) => `WEBHOOK_ALLOW_LOOPBACK must be true or false, not ${JSON.stringify(value)}`).pipe(
    Config.map((allow) => allow ?? devMode)
  )

export const webhookAllowedHosts: Config.Config<ReadonlyArray<string> | undefined> = text("WEBHOOK_ALLOWED_HOSTS")
  .pipe(Config.mapOrFail((value) => {
    const entries = Option.getOrElse(value, () => "").split(/[\s,]+/).filter((entry) => entry !== "")
    const hosts = entries.map(allowedHostEntry)
    const bad = entries.find((_, i) => hosts[i] === undefined)
    if (bad !== undefined) return invalid(`WEBHOOK_ALLOWED_HOSTS: ${JSON.stringify(bad)} is not a host or .suffix`)
    return Either.right(entries.length === 0 ? undefined : hosts as ReadonlyArray<string>)
  }))

export const handlerSettings = (dev?: {
  readonly idempotencyHashKey: string
  readonly webhookSecretKey: string
}) =>
  Config.all({
    idempotencyHashKey: idempotencyHashKey(dev?.idempotencyHashKey),
    phoneFingerprintKey,
    verificationCodeKey,
    webhookSecretKey: webhookSecretKey(dev?.webhookSecretKey),
    webhookAllowLoopback: webhookAllowLoopback(dev !== undefined),
    webhookAllowedHosts
  })

/** 0 picks a free one. */
export const port = (defaultPort: number): Config.Config<number> =>
  parsed("PORT", (value) => {
    const number = Number(value)
    return Number.isInteger(number) && number >= 0 && number <= 65535 ? number : undefined
  }, (value) => `PORT must be a port number, not ${JSON.stringify(value)}`).pipe(
    Config.map((number) => number ?? defaultPort)
  )

export const host: Config.Config<string> = text("HOST").pipe(Config.map(Option.getOrElse(() => "127.0.0.1")))

export const checkpointInterval: Config.Config<number> = seconds("CHECKPOINT_INTERVAL_SECONDS", {
  min: 1,
  max: 86_400,
  what: "1 to 86400 seconds"
}).pipe(Config.map((value) => value ?? 60))

export const jwtConfigFromEnv = (env: Env): JwtConfig => readEnv(jwtConfig, env)
export const idempotencyHashKeyFromEnv = (env: Env, devKey?: string): string =>
  Redacted.value(readEnv(idempotencyHashKey(devKey), env))
