// Every step is one statement, atomic on D1 too (docs/DECISIONS.md, "Idempotency and faults").
import type { SqlClient } from "@effect/sql"
import { Clock, Effect, Layer } from "effect"
import { StoreUnavailable } from "../../services/errors.js"
import {
  DEFAULT_TIMINGS,
  Idempotency,
  type IdempotencyScope,
  type IdempotencyTimings,
  type KeyedWrite,
  type Reservation,
  type StoredResponse,
  type Written
} from "../../services/idempotency.js"
import type { Statement } from "./rows.js"
import { Shards } from "./shards.js"

export interface IdempotencyStoreOptions extends Partial<IdempotencyTimings> {
  /** Every `sweepEvery`-th claim also deletes up to `sweepLimit` expired rows of any organization. */
  readonly sweepEvery?: number
  readonly sweepLimit?: number
}

interface KeyRow {
  readonly request_hash: string
  readonly state: "in_progress" | "completed"
  readonly response_status: number | null
  readonly response_headers: string | null
  readonly response_body: string | null
  readonly expires_at: string
}

// Takes over an expired row in place (the lazy cleanup of the key in hand); RETURNING says whether it won.
const CLAIM = "INSERT INTO idempotency_keys (organization_id, principal, idempotency_key, request_hash, state, " +
  "lock_token, response_status, response_headers, response_body, created_at, expires_at) " +
  "VALUES (?, ?, ?, ?, 'in_progress', ?, NULL, NULL, NULL, ?, ?) " +
  "ON CONFLICT (organization_id, principal, idempotency_key) DO UPDATE SET request_hash = excluded.request_hash, " +
  "state = 'in_progress', lock_token = excluded.lock_token, response_status = NULL, response_headers = NULL, " +
  "response_body = NULL, user_id = NULL, created_at = excluded.created_at, expires_at = excluded.expires_at " +
  "WHERE idempotency_keys.expires_at <= excluded.created_at " +
  "RETURNING lock_token"

const SELECT_KEY = "SELECT request_hash, state, response_status, response_headers, response_body, expires_at " +
  "FROM idempotency_keys WHERE organization_id = ? AND principal = ? AND idempotency_key = ?"

const COMPLETE = "UPDATE idempotency_keys SET state = 'completed', lock_token = NULL, response_status = ?, " +
  "response_headers = ?, response_body = ?, user_id = ?, expires_at = ? " +
  "WHERE organization_id = ? AND principal = ? AND idempotency_key = ? AND lock_token = ? AND state = 'in_progress'"

const RELEASE = "DELETE FROM idempotency_keys " +
  "WHERE organization_id = ? AND principal = ? AND idempotency_key = ? AND lock_token = ? AND state = 'in_progress'"

const iso = (millis: number) => new Date(millis).toISOString()

// Completes the key this attempt holds, or records it if swept. A key another attempt took meanwhile sets state to
// NULL, which NOT NULL refuses: the whole change rolls back (driver.ts: IdempotencyKeyInUse).
const KEEP =
  "INSERT INTO idempotency_keys (organization_id, principal, idempotency_key, user_id, request_hash, state, " +
  "lock_token, response_status, response_headers, response_body, created_at, expires_at) " +
  "VALUES (?, ?, ?, ?, ?, 'completed', NULL, ?, ?, ?, ?, ?) " +
  "ON CONFLICT (organization_id, principal, idempotency_key) DO UPDATE SET state = CASE WHEN " +
  "idempotency_keys.state = 'in_progress' AND idempotency_keys.lock_token = ? THEN 'completed' END, " +
  "lock_token = NULL, user_id = excluded.user_id, response_status = excluded.response_status, " +
  "response_headers = excluded.response_headers, response_body = excluded.response_body, " +
  "expires_at = excluded.expires_at"

export const keepAnswer = (write: KeyedWrite, written: Written, now: number): Statement => {
  const { key, organizationId, principal } = write.scope
  const response = write.answer(written)
  return {
    sql: KEEP,
    params: [
      organizationId,
      principal,
      key,
      written.aggregateId,
      write.requestHash,
      response.status,
      JSON.stringify(response.headers),
      response.body,
      iso(now),
      iso(now + write.retentionMillis),
      write.lock
    ]
  }
}

// DELETE ... LIMIT is not compiled into every SQLite (D1's included); a rowid sub-select bounds it everywhere.
const SWEEP = "DELETE FROM idempotency_keys WHERE rowid IN " +
  "(SELECT rowid FROM idempotency_keys WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)"

/** Tries of a claim that found the row gone or expired meanwhile. */
const CLAIM_ATTEMPTS = 3

const unavailable = (cause: unknown) => new StoreUnavailable({ cause })

const toResponse = (row: KeyRow): StoredResponse => ({
  status: Number(row.response_status),
  headers: JSON.parse(row.response_headers ?? "{}"),
  body: row.response_body ?? ""
})

export const SqlIdempotency = (options: IdempotencyStoreOptions = {}) =>
  Layer.effect(
    Idempotency,
    Effect.gen(function*() {
      const shards = yield* Shards
      const retention = options.retentionMillis ?? DEFAULT_TIMINGS.retentionMillis
      const lockFor = options.lockMillis ?? DEFAULT_TIMINGS.lockMillis
      const sweepEvery = options.sweepEvery ?? 100
      const sweepLimit = options.sweepLimit ?? 100
      let claims = 0
      const on = <A extends object>(
        sql: SqlClient.SqlClient,
        text: string,
        params: ReadonlyArray<string | number | null>
      ) => sql.unsafe<A>(text, params as Array<string | number | null>).pipe(Effect.mapError(unavailable))
      const query = <A extends object>(
        text: string,
        organizationId: string,
        params: ReadonlyArray<string | number | null>
      ) => Effect.flatMap(shards.of(organizationId), ({ sql }) => on<A>(sql, text, params))

      // Best-effort: a failed sweep never fails a request; a later one retries.
      const sweep = (organizationId: string, now: number) =>
        ++claims % sweepEvery === 0 ? Effect.ignore(query(SWEEP, organizationId, [iso(now), sweepLimit])) : Effect.void

      const claim = ({ key, organizationId, principal }: IdempotencyScope, requestHash: string) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const lock = crypto.randomUUID()
          const won = yield* query(CLAIM, organizationId, [
            organizationId,
            principal,
            key,
            requestHash,
            lock,
            iso(now),
            iso(now + lockFor)
          ])
          if (won.length > 0) {
            yield* sweep(organizationId, now)
            return { _tag: "Acquired", lock } as const
          }
          const row = (yield* query<KeyRow>(SELECT_KEY, organizationId, [organizationId, principal, key]))[0]
          if (row === undefined || row.expires_at <= iso(now)) return undefined
          if (row.request_hash !== requestHash) return { _tag: "Mismatch" } as const
          if (row.state === "in_progress") return { _tag: "InUse" } as const
          return { _tag: "Replay", response: toResponse(row) } as const
        })

      return {
        retentionMillis: retention,
        reserve: (scope, requestHash) =>
          Effect.gen(function*() {
            for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
              const outcome: Reservation | undefined = yield* claim(scope, requestHash)
              if (outcome !== undefined) return outcome
            }
            // The key keeps changing hands: as good as in use.
            const inUse: Reservation = { _tag: "InUse" }
            return inUse
          }),
        complete: ({ key, organizationId, principal }, lock, response, userId) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) =>
            query(COMPLETE, organizationId, [
              response.status,
              JSON.stringify(response.headers),
              response.body,
              userId ?? null,
              iso(now + retention),
              organizationId,
              principal,
              key,
              lock
            ])).pipe(Effect.asVoid),
        release: ({ key, organizationId, principal }, lock) =>
          query(RELEASE, organizationId, [organizationId, principal, key, lock]).pipe(Effect.asVoid)
      }
    })
  )
