/**
 * JWT verification with jose: signature against a JWKS (inline for local use, remote URL in production),
 * issuer, audience, exp/nbf, and an allow-list of asymmetric algorithms (so `none` and HMAC never verify).
 */
import { Clock, Effect } from "effect"
import { createLocalJWKSet, createRemoteJWKSet, errors, type JSONWebKeySet, type JWTPayload, jwtVerify } from "jose"
import { StoreUnavailable, Unauthenticated } from "../../app/errors.js"

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
}

export type VerifyJwt = (token: string) => Effect.Effect<JWTPayload, Unauthenticated | StoreUnavailable>

const invalid = (detail: string) => new Unauthenticated({ reason: "invalid-token", detail })

// Fixed texts only: jose's own messages can quote claim values.
const explain = (error: unknown): Unauthenticated | StoreUnavailable => {
  if (error instanceof errors.JWTExpired) return invalid("The token has expired.")
  if (error instanceof errors.JWTClaimValidationFailed) {
    return error.claim === "nbf"
      ? invalid("The token is not valid yet.")
      : invalid(`The token's ${error.claim} claim is not accepted.`)
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return invalid("The token's signing algorithm is not accepted.")
  if (error instanceof errors.JWKSNoMatchingKey) return invalid("No trusted key matches the token.")
  if (error instanceof errors.JWSSignatureVerificationFailed) return invalid("The token's signature does not verify.")
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) {
    return new StoreUnavailable({ cause: error })
  }
  return invalid("The token is malformed or not trusted.")
}

export const makeVerifyJwt = (config: JwtConfig): VerifyJwt => {
  const keys = config.jwks instanceof URL ? createRemoteJWKSet(config.jwks) : createLocalJWKSet(config.jwks)
  const options = {
    issuer: config.issuer,
    audience: config.audience,
    algorithms: [...(config.algorithms ?? ASYMMETRIC_ALGORITHMS)],
    clockTolerance: config.clockToleranceSeconds ?? 5,
    requiredClaims: ["exp", "sub"]
  }
  // exp and nbf are judged by Effect's Clock (the system clock unless a test moves it), like the caches' deadlines.
  return (token) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.tryPromise({
        try: () => jwtVerify(token, keys, { ...options, currentDate: new Date(now) }),
        catch: explain
      })).pipe(Effect.map(({ payload }) => payload))
}
