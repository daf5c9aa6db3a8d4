/**
 * API keys: random secrets shown once; only their SHA-256 is stored, and a key is found by that hash
 * (an index lookup), never by comparing the secret itself.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { StoreUnavailable } from "../../app/errors.js"

const PREFIX = "uak_"

export const sha256Hex = async (value: string): Promise<string> => {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value))
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("")
}

/** A new key: `uak_` and 32 random bytes in base64url. */
export const generateApiKey = (): string => {
  const bytes = crypto.getRandomValues(new Uint8Array(32))
  return PREFIX + btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")
}

/** The organization of an active (not revoked) key, or null. */
export type LookupApiKey = (apiKey: string) => Effect.Effect<string | null, StoreUnavailable>

export const makeSqlLookupApiKey = Effect.map(SqlClient.SqlClient, (sql): LookupApiKey => (apiKey) =>
  Effect.tryPromise({ try: () => sha256Hex(apiKey), catch: (cause) => new StoreUnavailable({ cause }) }).pipe(
    Effect.flatMap((hash) =>
      sql.unsafe<{ organization_id: string }>(
        "SELECT organization_id FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL",
        [hash]
      ).pipe(Effect.mapError((cause) => new StoreUnavailable({ cause })))
    ),
    Effect.map((rows) => rows[0]?.organization_id ?? null)
  ))
