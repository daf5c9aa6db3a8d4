// Lookup by number reads users_phone_number_key (migrations/0010), never the numbers. Rows keyed under another key,
// or not yet keyed, are keyed again first, through two small indexes, so a lookup never misses them.
import type { SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import type { Actor } from "../../domain/events.js"
import type { E164, MaskedPhoneNumber } from "../../domain/phone.js"
import { StoreUnavailable } from "../../services/errors.js"
import { type NumberKeying, PhoneNumberKeys } from "../../services/phone-number-keys.js"
import { type LookupRecord, UserLookup } from "../../services/user-lookup.js"
import { unavailable } from "./driver.js"
import type { Shard } from "./shards.js"
import { Shards } from "./shards.js"

/** D1 binds at most 100 parameters per statement. */
const KEYS_PER_QUERY = 50
const REKEY_BATCH = 200

export const SELECT_BY_KEYS = (count: number) =>
  "SELECT id, phone_number, phone_number_verified FROM users INDEXED BY users_phone_number_key " +
  `WHERE organization_id = ? AND phone_number_key IN (${Array(count).fill("?").join(", ")}) ` +
  "AND phone_number IS NOT NULL AND erased_at IS NULL"

const SELECT_UNKEYED = "SELECT id, phone_number FROM users INDEXED BY users_phone_number_unkeyed " +
  "WHERE organization_id = ? AND phone_number IS NOT NULL AND phone_number_key IS NULL LIMIT ?"
const SELECT_BELOW = "SELECT id, phone_number FROM users INDEXED BY users_phone_number_key " +
  "WHERE organization_id = ? AND phone_number_key IS NOT NULL AND phone_number_key < ? LIMIT ?"
const SELECT_ABOVE = "SELECT id, phone_number FROM users INDEXED BY users_phone_number_key " +
  "WHERE organization_id = ? AND phone_number_key IS NOT NULL AND phone_number_key >= ? LIMIT ?"
// Only if the number is still the one keyed: a change meanwhile wrote its own key.
const SET_KEY = "UPDATE users SET phone_number_key = ? WHERE organization_id = ? AND id = ? AND phone_number = ?"

const INSERT_RECORD = "INSERT INTO phone_lookups (organization_id, sequence, id, occurred_at, actor, request_id, " +
  "numbers_count, matches_count, masked_phone_numbers) VALUES (?, (SELECT COALESCE(max(sequence), 0) + 1 FROM " +
  "phone_lookups WHERE organization_id = ?), ?, ?, ?, ?, ?, ?, ?)"
const SELECT_RECORDS = "SELECT sequence, id, occurred_at, actor, request_id, numbers_count, matches_count, " +
  "masked_phone_numbers FROM phone_lookups WHERE organization_id = ? AND sequence > ? ORDER BY sequence LIMIT ?"

interface RecordRow {
  readonly sequence: number
  readonly id: string
  readonly occurred_at: string
  readonly actor: string
  readonly request_id: string
  readonly numbers_count: number
  readonly matches_count: number
  readonly masked_phone_numbers: string
}

const noKeying = new StoreUnavailable({ cause: "no phone number keying is configured (PhoneNumberKeys)" })

const query = <A extends object>(sql: SqlClient.SqlClient, text: string, params: ReadonlyArray<string | number>) =>
  sql.unsafe<A>(text, params as Array<string | number>).pipe(Effect.mapError(unavailable))

const rekey = (shard: Shard, organizationId: string, keying: NumberKeying) => {
  // The keys of other keyings sort below or above the range of this one's prefix (":" is followed by ";").
  const end = `${keying.prefix.slice(0, -1)};`
  const stale = Effect.map(
    Effect.all([
      query<{ id: string; phone_number: string }>(shard.sql, SELECT_UNKEYED, [organizationId, REKEY_BATCH]),
      query<{ id: string; phone_number: string }>(shard.sql, SELECT_BELOW, [
        organizationId,
        keying.prefix,
        REKEY_BATCH
      ]),
      query<{ id: string; phone_number: string }>(shard.sql, SELECT_ABOVE, [organizationId, end, REKEY_BATCH])
    ]),
    (found) => found.flat()
  )
  const round: Effect.Effect<void, StoreUnavailable> = Effect.flatMap(
    stale,
    (rows) =>
      rows.length === 0 ? Effect.void : Effect.zipRight(
        Effect.mapError(
          shard.driver.write(
            rows.map((row) => ({
              sql: SET_KEY,
              params: [keying.keyOf(row.phone_number as E164), organizationId, row.id, row.phone_number]
            })),
            rows[0]!.id
          ),
          (error) => error instanceof StoreUnavailable ? error : new StoreUnavailable({ cause: error })
        ),
        round
      )
  )
  return round
}

export const SqlUserLookup = Layer.effect(
  UserLookup,
  Effect.map(Shards, (shards): UserLookup["Type"] => ({
    find: (organizationId, numbers) =>
      Effect.gen(function*() {
        const { keying } = yield* PhoneNumberKeys
        if (keying === undefined) return yield* noKeying
        const shard = yield* shards.of(organizationId)
        yield* rekey(shard, organizationId, keying)
        const byKey = new Map(numbers.map((n) => [keying.keyOf(n), n]))
        const keys = [...byKey.keys()]
        const chunks = Array.from({ length: Math.ceil(keys.length / KEYS_PER_QUERY) }, (_, i) =>
          keys.slice(i * KEYS_PER_QUERY, (i + 1) * KEYS_PER_QUERY))
        const rows = yield* Effect.forEach(chunks, (chunk) =>
          query<{ id: string; phone_number: string; phone_number_verified: number }>(
            shard.sql,
            SELECT_BY_KEYS(chunk.length),
            [organizationId, ...chunk]
          ))
        // The number itself decides, so a key shared by two numbers could never answer the wrong user.
        const asked = new Set(numbers)
        return rows.flat().filter((row) =>
          asked.has(row.phone_number as E164)
        ).map((row) => ({
          phoneNumber: row.phone_number as E164,
          userId: row.id,
          phoneNumberVerified: Number(row.phone_number_verified) === 1
        }))
      }),
    record: (organizationId, record) =>
      Effect.flatMap(shards.of(organizationId), ({ driver }) =>
        Effect.mapError(
          driver.write([{
            sql: INSERT_RECORD,
            params: [
              organizationId,
              organizationId,
              record.id,
              record.occurredAt,
              JSON.stringify(record.actor),
              record.requestId,
              record.numbersCount,
              record.matchesCount,
              JSON.stringify(record.maskedPhoneNumbers)
            ]
          }], ""),
          (error) => error instanceof StoreUnavailable ? error : new StoreUnavailable({ cause: error })
        )),
    records: (organizationId, afterSequence, limit) =>
      Effect.flatMap(shards.of(organizationId), ({ sql }) =>
        Effect.map(
          query<RecordRow>(sql, SELECT_RECORDS, [organizationId, afterSequence, limit]),
          (rows) =>
            rows.map((row): LookupRecord => ({
              sequence: Number(row.sequence),
              id: row.id,
              occurredAt: row.occurred_at,
              actor: JSON.parse(row.actor) as Actor,
              requestId: row.request_id,
              numbersCount: Number(row.numbers_count),
              matchesCount: Number(row.matches_count),
              maskedPhoneNumbers: JSON.parse(row.masked_phone_numbers) as ReadonlyArray<MaskedPhoneNumber>
            }))
        ))
  }))
)
