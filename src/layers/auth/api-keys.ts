// Only a key's SHA-256 is stored; a key is found by that hash, never by comparing secrets.
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { StoreUnavailable } from "../../services/errors.js"
import { sha256Hex } from "../../sha256.js"

const PREFIX = "uak_"

export const generateApiKey = (): string => {
  const bytes = crypto.getRandomValues(new Uint8Array(32))
  return PREFIX + btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")
}

/** The organization of an active key, or null. */
export type LookupApiKey = (apiKey: string) => Effect.Effect<string | null, StoreUnavailable>

/** The same, by the key's SHA-256 (hex). */
export type LookupApiKeyHash = (keyHash: string) => Effect.Effect<string | null, StoreUnavailable>

export const byApiKey = (lookup: LookupApiKeyHash): LookupApiKey => (apiKey) =>
  Effect.suspend(() => lookup(sha256Hex(apiKey)))

export const makeSqlLookupApiKeyHash = Effect.map(
  SqlClient.SqlClient,
  (sql): LookupApiKeyHash => (keyHash) =>
    sql.unsafe<{ organization_id: string }>(
      "SELECT organization_id FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL",
      [keyHash]
    ).pipe(
      Effect.mapError((cause) => new StoreUnavailable({ cause })),
      Effect.map((rows) => rows[0]?.organization_id ?? null)
    )
)

export const makeSqlLookupApiKey = Effect.map(makeSqlLookupApiKeyHash, byApiKey)
