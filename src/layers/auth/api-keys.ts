/**
 * API keys: random secrets shown once; only their SHA-256 is stored, and a key is found by that hash
 * (an index lookup), never by comparing the secret itself.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { StoreUnavailable } from "../../app/errors.js"

const PREFIX = "uak_"

// node:crypto where the runtime has it (Bun, Deno, Node: no static import, so Workers bundles stay free of it).
const nodeCrypto = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
  ?.getBuiltinModule?.("node:crypto") as typeof import("node:crypto") | undefined

/**
 * SHA-256 (hex) computed at once where node:crypto exists, else undefined (Workers): Web Crypto's digest
 * hops to a worker thread and back, which costs more than the hash on every request.
 */
export const sha256HexSync = (value: string): string | undefined =>
  nodeCrypto?.createHash("sha256").update(value, "utf8").digest("hex")

export const sha256Hex = async (value: string): Promise<string> => {
  const now = sha256HexSync(value)
  if (now !== undefined) return now
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value))
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("")
}

/** sha256Hex as an Effect, without a promise where the hash is computed at once. */
export const sha256HexEffect = (value: string): Effect.Effect<string> => {
  const now = sha256HexSync(value)
  return now !== undefined ? Effect.succeed(now) : Effect.promise(() => sha256Hex(value))
}

/** A new key: `uak_` and 32 random bytes in base64url. */
export const generateApiKey = (): string => {
  const bytes = crypto.getRandomValues(new Uint8Array(32))
  return PREFIX + btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")
}

/** The organization of an active (not revoked) key, or null. */
export type LookupApiKey = (apiKey: string) => Effect.Effect<string | null, StoreUnavailable>

/** The same, given the key's SHA-256 (hex): what the store indexes, and what caches are keyed by. */
export type LookupApiKeyHash = (keyHash: string) => Effect.Effect<string | null, StoreUnavailable>

export const byApiKey = (lookup: LookupApiKeyHash): LookupApiKey => (apiKey) =>
  Effect.flatMap(sha256HexEffect(apiKey), lookup)

export const makeSqlLookupApiKeyHash = Effect.map(SqlClient.SqlClient, (sql): LookupApiKeyHash => (keyHash) =>
  sql.unsafe<{ organization_id: string }>(
    "SELECT organization_id FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL",
    [keyHash]
  ).pipe(
    Effect.mapError((cause) => new StoreUnavailable({ cause })),
    Effect.map((rows) => rows[0]?.organization_id ?? null)
  ))

export const makeSqlLookupApiKey = Effect.map(makeSqlLookupApiKeyHash, byApiKey)
