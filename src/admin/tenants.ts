import { SqlClient } from "@effect/sql"
import { Clock, Effect } from "effect"
import { uuidv7 } from "../app/context.js"
import { generateApiKey } from "../layers/auth/api-keys.js"
import { sqlString as sqlText } from "../layers/sql/literal.js"
import { sha256Hex } from "../sha256.js"

const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms).toISOString())

/** For a shard other than 0, run it on that shard's database as well (the same row, for the foreign keys). */
export const ensureOrganization = (id: string, name: string, shard = 0) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(
      "INSERT INTO organizations (id, name, created_at, shard) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
      [id, name, yield* now, shard]
    )
  })

export interface IssuedApiKey {
  readonly id: string
  /** Shown to the caller once, never stored. */
  readonly apiKey: string
}

export const issueApiKey = (organizationId: string, label: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const apiKey = generateApiKey()
    const id = yield* uuidv7
    const hash = sha256Hex(apiKey)
    yield* sql.unsafe(
      "INSERT INTO api_keys (id, organization_id, key_hash, label, created_at) VALUES (?, ?, ?, ?, ?)",
      [id, organizationId, hash, label, yield* now]
    )
    const issued: IssuedApiKey = { id, apiKey }
    return issued
  })

export const revokeApiKey = (id: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [yield* now, id])
  })

export const issueApiKeySql = (organizationId: string, label: string, id: string, at: string) => {
  const apiKey = generateApiKey()
  const hash = sha256Hex(apiKey)
  return {
    apiKey,
    sql: `INSERT INTO api_keys (id, organization_id, key_hash, label, created_at) VALUES (${sqlText(id)}, ` +
      `${sqlText(organizationId)}, ${sqlText(hash)}, ${sqlText(label)}, ${sqlText(at)});`
  }
}

export const createOrganizationSql = (id: string, name: string, at: string, shard = 0) =>
  `INSERT INTO organizations (id, name, created_at, shard) VALUES (${sqlText(id)}, ${sqlText(name)}, ${sqlText(at)}, ${
    Math.trunc(shard)
  }) ON CONFLICT (id) DO NOTHING;`

/** Revoking twice keeps the first time. */
export const revokeApiKeySql = (id: string, at: string) =>
  `UPDATE api_keys SET revoked_at = ${sqlText(at)} WHERE id = ${sqlText(id)} AND revoked_at IS NULL;`
