/**
 * Signing secrets are derived from WEBHOOK_SECRET_KEY, not stored: the database holds only the generation, so a copy
 * of it signs nothing. docs/DECISIONS.md, "Webhook secrets".
 */
import { hmacSha256 } from "../sha256.js"
import { SECRET_PREFIX, toBase64 } from "../webhooks/signature.js"

export type DeriveSecret = (subscriptionId: string, generation: number) => string

export const webhookSecretDeriver = (key: string): DeriveSecret => (subscriptionId, generation) =>
  SECRET_PREFIX + toBase64(hmacSha256(key, `users-api/webhook-secret/1\u0000${subscriptionId}\u0000${generation}`))

/** During a rotation the previous secrets too: a receiver accepts any signature. */
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
