// For development and tests only: production tokens come from the identity provider.
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from "jose"

export interface SigningKey {
  readonly kid: string
  readonly privateJwk: JWK
  readonly publicJwk: JWK
}

export const DEV_ISSUER = "https://dev.users-api.local/"
export const DEV_AUDIENCE = "users-api"

export const generateSigningKey = async (kid = `dev-${Date.now().toString(36)}`): Promise<SigningKey> => {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true })
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: "ES256", use: "sig" }
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" }
  return { kid, privateJwk, publicJwk }
}

export const jwksOf = (...keys: ReadonlyArray<SigningKey>) => ({ keys: keys.map((k) => k.publicJwk) })

export interface TokenOptions {
  readonly issuer?: string
  readonly audience?: string
  readonly expiresIn?: string | number
  readonly claims?: Record<string, unknown>
}

const sign = async (key: SigningKey, subject: string, options: TokenOptions) => {
  const privateKey = await importJWK(key.privateJwk, "ES256")
  return new SignJWT({ ...options.claims })
    .setProtectedHeader({ alg: "ES256", kid: key.kid, typ: "JWT" })
    .setSubject(subject)
    .setIssuer(options.issuer ?? DEV_ISSUER)
    .setAudience(options.audience ?? DEV_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? "1h")
    .sign(privateKey)
}

export const signUserToken = (key: SigningKey, userId: string, organizationId: string, options: TokenOptions = {}) =>
  sign(key, userId, { ...options, claims: { org_id: organizationId, ...options.claims } })

export const signServiceToken = (
  key: SigningKey,
  serviceId: string,
  organizationId: string,
  scope: string,
  options: TokenOptions = {}
) =>
  sign(key, serviceId, {
    ...options,
    claims: { org_id: organizationId, token_use: "service", scope, ...options.claims }
  })
