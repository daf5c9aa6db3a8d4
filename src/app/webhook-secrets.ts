/**
 * Webhook signing secrets, derived rather than stored: a subscription's secret for generation g is
 * `whsec_` + base64(HMAC-SHA-256(WEBHOOK_SECRET_KEY, "users-api/webhook-secret/1\0" + id + "\0" + g)). The database
 * holds only the generation, so a copy of it (an export, a backup) signs nothing; the key is a deployment secret kept
 * like IDEMPOTENCY_HASH_KEY. The secret is shown once, when it is made (creation, rotation), and never listed.
 * docs/DECISIONS.md, "Webhooks and the feed": why derived, and what changing the key means.
 */
import { hmacSha256 } from "../sha256.js"
import { SECRET_PREFIX, toBase64 } from "../webhooks/signature.js"

export type DeriveSecret = (subscriptionId: string, generation: number) => string

/** `key` is WEBHOOK_SECRET_KEY, whose length config.ts checks. */
export const webhookSecretDeriver = (key: string): DeriveSecret => (subscriptionId, generation) =>
  SECRET_PREFIX + toBase64(hmacSha256(key, `users-api/webhook-secret/1\u0000${subscriptionId}\u0000${generation}`))

/**
 * The secrets a delivery is signed with now, newest first: the current one, and during a rotation every generation
 * since the one in use before it (Standard Webhooks sends one signature per secret; a receiver accepts any).
 */
export const signingSecrets = (
  derive: DeriveSecret,
  subscription: {
    readonly id: string
    readonly generation: number
    readonly previousGeneration: number | null
    readonly previousUntil: string | null
  },
  now: string
): ReadonlyArray<string> => {
  const { generation, id, previousGeneration, previousUntil } = subscription
  const oldest = previousGeneration !== null && previousUntil !== null && previousUntil > now
    ? previousGeneration
    : generation
  const secrets: Array<string> = []
  for (let g = generation; g >= oldest && g >= 1; g--) secrets.push(derive(id, g))
  return secrets
}
