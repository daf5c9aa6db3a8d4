// Asymmetric algorithms only, so `none` and HMAC never verify.
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
  readonly jwks: JSONWebKeySet | URL
  readonly algorithms?: ReadonlyArray<string>
  /** Seconds of skew tolerated for exp/nbf. */
  readonly clockToleranceSeconds?: number
  /** Remote key set: seconds it serves past freshness while refreshing fails (default 3600). */
  readonly staleIfErrorSeconds?: number
  /** Remote key set: seconds per fetch (default 5). */
  readonly fetchTimeoutSeconds?: number
  /** JWT_MAX_AGE: when set, `iat` is required and older tokens are refused. */
  readonly maxTokenAgeSeconds?: number
}

// Access tokens only (RFC 9068): an ID token, logout token or DPoP proof from the same provider is no credential.
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
  const verifyWith = (getKey: JWTVerifyGetKey, token: string) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.tryPromise({
        try: () => jwtVerify(token, getKey, { ...options, currentDate: new Date(now) }),
        catch: (error) => error
      }))
  return (token) =>
    Effect.gen(function*() {
      // Judged without a key first, so such tokens never cost a key-set fetch.
      const header = yield* Effect.try({ try: () => decodeProtectedHeader(token), catch: () => explain(undefined) })
      if (typeof header.alg !== "string") return yield* explain(undefined)
      if (!options.algorithms.includes(header.alg)) return yield* explain(new errors.JOSEAlgNotAllowed(""))
      if (!isAccessTokenType(header.typ)) return yield* invalid("The token's typ header is not an access token's.")
      let outcome = yield* Effect.either(verifyWith(yield* keys.current, token))
      if (outcome._tag === "Left" && outcome.left instanceof errors.JWKSNoMatchingKey) {
        // The provider may have rotated its keys.
        const newer = yield* keys.afterNoMatch
        if (newer !== undefined) outcome = yield* Effect.either(verifyWith(newer, token))
      }
      if (outcome._tag === "Left") return yield* explain(outcome.left)
      return outcome.right.payload
    })
}
