/**
 * Token forging for the security tests: unsigned and HMAC tokens built by hand, tokens signed by a trusted key
 * with arbitrary claims or a non-JSON payload, and every realistic encoding of a public key an attacker could
 * try as an HMAC secret (algorithm confusion).
 */
import { CompactSign, importJWK, type JWK } from "jose"
import { createHmac, createPublicKey } from "node:crypto"
import { DEV_AUDIENCE, DEV_ISSUER, type SigningKey } from "../../src/dev/signing.js"

export const b64url = (bytes: Uint8Array | string): string => Buffer.from(bytes).toString("base64url")

export const encodeSegment = (value: unknown): string => b64url(JSON.stringify(value))

export const nowSeconds = (): number => Math.floor(Date.now() / 1000)

/**
 * Registered claims the service checks (iss, aud, iat, exp) for `sub`, with overrides; `undefined` removes one.
 * The service accepts them once they also name an organization (`org_id`) and, for a service, `token_use`.
 */
export const claims = (sub: string, overrides: Record<string, unknown> = {}): Record<string, unknown> => {
  const base: Record<string, unknown> = {
    sub,
    iss: DEV_ISSUER,
    aud: DEV_AUDIENCE,
    iat: nowSeconds(),
    exp: nowSeconds() + 600,
    ...overrides
  }
  return Object.fromEntries(Object.entries(base).filter(([, value]) => value !== undefined))
}

/** `header.payload.` with no signature, e.g. `alg: none`. */
export const unsignedToken = (header: Record<string, unknown>, payload: unknown): string =>
  `${encodeSegment(header)}.${encodeSegment(payload)}.`

/** An HMAC-signed token (HS256/384/512) with the given secret bytes: the algorithm-confusion attack. */
export const hmacToken = (
  alg: "HS256" | "HS384" | "HS512",
  secret: Uint8Array | string,
  payload: unknown,
  header: Record<string, unknown> = {}
): string => {
  const input = `${encodeSegment({ alg, typ: "JWT", ...header })}.${encodeSegment(payload)}`
  const digest = createHmac(`sha${alg.slice(2)}`, Buffer.from(secret)).update(input).digest()
  return `${input}.${b64url(digest)}`
}

/** A token genuinely signed (ES256) by `key` over an arbitrary payload: raw bytes, or a value made JSON. */
export const signRaw = async (
  key: SigningKey,
  payload: Uint8Array | string | Record<string, unknown>,
  header: Record<string, unknown> = {}
): Promise<string> => {
  const privateKey = await importJWK(key.privateJwk, "ES256")
  const bytes = payload instanceof Uint8Array
    ? payload
    : new TextEncoder().encode(typeof payload === "string" ? payload : JSON.stringify(payload))
  return new CompactSign(bytes)
    .setProtectedHeader({ alg: "ES256", kid: key.kid, typ: "JWT", ...header })
    .sign(privateKey)
}

/**
 * The forms in which a verifier's public key is published or stored, each turned into the bytes an attacker
 * would feed to HMAC hoping the verifier does the same: PEM/SPKI, DER, the JWK as JSON, its x and y, the EC point.
 */
export const PUBLIC_KEY_FORMS = [
  "the PEM SPKI",
  "the PEM SPKI without its trailing newline",
  "the SPKI DER bytes",
  "the SPKI DER as base64",
  "the published JWK as JSON",
  "the minimal JWK as JSON (RFC 7638 member order)",
  "the JWK's x as base64url text",
  "the JWK's x and y concatenated as base64url text",
  "the decoded x coordinate",
  "the uncompressed EC point 04||x||y"
] as const

export type PublicKeyForm = (typeof PUBLIC_KEY_FORMS)[number]

export const publicKeyAsSecret = (publicJwk: JWK, form: PublicKeyForm): Uint8Array | string => {
  const { crv, kty, x = "", y = "" } = publicJwk
  const minimal = { crv, kty, x, y }
  const keyObject = createPublicKey({ key: { ...minimal }, format: "jwk" })
  const pem = keyObject.export({ type: "spki", format: "pem" }).toString()
  const der = keyObject.export({ type: "spki", format: "der" })
  const xBytes = Buffer.from(x, "base64url")
  const yBytes = Buffer.from(y, "base64url")
  switch (form) {
    case "the PEM SPKI":
      return pem
    case "the PEM SPKI without its trailing newline":
      return pem.trimEnd()
    case "the SPKI DER bytes":
      return der
    case "the SPKI DER as base64":
      return der.toString("base64")
    case "the published JWK as JSON":
      return JSON.stringify(publicJwk)
    case "the minimal JWK as JSON (RFC 7638 member order)":
      return JSON.stringify(minimal)
    case "the JWK's x as base64url text":
      return x
    case "the JWK's x and y concatenated as base64url text":
      return x + y
    case "the decoded x coordinate":
      return xBytes
    case "the uncompressed EC point 04||x||y":
      return Buffer.concat([Buffer.from([4]), xBytes, yBytes])
  }
}

/** Replaces one dot-separated segment of a compact token. */
export const replaceSegment = (token: string, index: 0 | 1 | 2, segment: string): string => {
  const parts = token.split(".")
  parts[index] = segment
  return parts.join(".")
}
