/**
 * JWT verification with jose: signature against a JWKS (inline for local use; in production the identity
 * provider's, fetched and kept by remote-jwks.ts), issuer, audience, exp/nbf, and an allow-list of asymmetric
 * algorithms (so `none` and HMAC never verify). A key set that cannot be fetched is IdentityProviderUnavailable.
 */
import { Clock, Effect } from "effect"
import {
  decodeProtectedHeader,
  errors,
  type JSONWebKeySet,
  type JWTPayload,
  jwtVerify,
  type JWTVerifyGetKey
} from "jose"
import { type IdentityProviderUnavailable, Unauthenticated } from "../../services/errors.js"
import { type KeySource, localKeySource, remoteKeySource } from "./remote-jwks.js"

export const ASYMMETRIC_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519"
] as const

export interface JwtConfig {
  readonly issuer: string
  readonly audience: string
  /** Inline key set (local use) or the URL of the identity provider's JWKS (production). */
  readonly jwks: JSONWebKeySet | URL
  readonly algorithms?: ReadonlyArray<string>
  /** Seconds of tolerated clock skew for exp/nbf. */
  readonly clockToleranceSeconds?: number
  /** A remote key set: how long past its freshness it still serves while refreshing it fails (default 3600). */
  readonly staleIfErrorSeconds?: number
  /** A remote key set: how long one fetch may take (default 5). */
  readonly fetchTimeoutSeconds?: number
  /** JWT_MAX_AGE: when set, `iat` is required and a token older than this many seconds is refused. */
  readonly maxTokenAgeSeconds?: number
}

/**
 * The header `typ` values of an access token (RFC 9068's `at+jwt`, or the generic `JWT`), compared in lower case:
 * an ID token, a logout token, a DPoP proof or any other JWT the identity provider signs is not a credential here.
 */
const ACCESS_TOKEN_TYPES = new Set(["jwt", "at+jwt", "application/at+jwt"])

const isAccessTokenType = (typ: unknown): boolean =>
  typ === undefined || (typeof typ === "string" && ACCESS_TOKEN_TYPES.has(typ.toLowerCase()))

export type VerifyJwt = (token: string) => Effect.Effect<JWTPayload, Unauthenticated | IdentityProviderUnavailable>

const invalid = (detail: string) => new Unauthenticated({ reason: "invalid-token", detail })

// Fixed texts only: jose's own messages can quote claim values.
const explain = (error: unknown): Unauthenticated => {
  if (error instanceof errors.JWTExpired) {
    // jose reports a token past maxTokenAge as expired, naming iat.
    return error.claim === "iat"
      ? invalid("The token is older than the accepted maximum age.")
      : invalid("The token has expired.")
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "iat" && error.reason === "missing") {
      return invalid("The token has no iat claim, which the maximum token age requires.")
    }
    return error.claim === "nbf"
      ? invalid("The token is not valid yet.")
      : invalid(`The token's ${error.claim} claim is not accepted.`)
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return invalid("The token's signing algorithm is not accepted.")
  if (error instanceof errors.JWKSNoMatchingKey) return invalid("No trusted key matches the token.")
  if (error instanceof errors.JWSSignatureVerificationFailed) return invalid("The token's signature does not verify.")
  return invalid("The token is malformed or not trusted.")
}

export const keySourceOf = (config: JwtConfig): KeySource =>
  config.jwks instanceof URL
    ? remoteKeySource(config.jwks, {
      ...(config.staleIfErrorSeconds !== undefined ? { staleIfErrorMs: config.staleIfErrorSeconds * 1000 } : {}),
      ...(config.fetchTimeoutSeconds !== undefined ? { timeoutMs: config.fetchTimeoutSeconds * 1000 } : {})
    })
    : localKeySource(config.jwks)

export const makeVerifyJwt = (config: JwtConfig, keys: KeySource = keySourceOf(config)): VerifyJwt => {
  const options = {
    issuer: config.issuer,
    audience: config.audience,
    algorithms: [...(config.algorithms ?? ASYMMETRIC_ALGORITHMS)],
    clockTolerance: config.clockToleranceSeconds ?? 5,
    requiredClaims: ["exp", "sub"],
    ...(config.maxTokenAgeSeconds !== undefined ? { maxTokenAge: config.maxTokenAgeSeconds } : {})
  }
  // exp and nbf are judged by Effect's Clock (the system clock unless a test moves it), like the caches' deadlines.
  const verifyWith = (getKey: JWTVerifyGetKey, token: string) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.tryPromise({
        try: () => jwtVerify(token, getKey, { ...options, currentDate: new Date(now) }),
        catch: (error) => error
      }))
  return (token) =>
    Effect.gen(function*() {
      // What can be judged without a key is judged first, so such tokens never cost a key-set fetch.
      const header = yield* Effect.try({ try: () => decodeProtectedHeader(token), catch: () => explain(undefined) })
      if (typeof header.alg !== "string") return yield* explain(undefined)
      if (!options.algorithms.includes(header.alg)) return yield* explain(new errors.JOSEAlgNotAllowed(""))
      if (!isAccessTokenType(header.typ)) return yield* invalid("The token's typ header is not an access token's.")
      let outcome = yield* Effect.either(verifyWith(yield* keys.current, token))
      if (outcome._tag === "Left" && outcome.left instanceof errors.JWKSNoMatchingKey) {
        // Perhaps the identity provider rotated its keys since the set was fetched.
        const newer = yield* keys.afterNoMatch
        if (newer !== undefined) outcome = yield* Effect.either(verifyWith(newer, token))
      }
      if (outcome._tag === "Left") return yield* explain(outcome.left)
      return outcome.right.payload
    })
}
