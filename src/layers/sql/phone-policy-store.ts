// Policies and code counts on the organization's store. An allowance is one atomic write (a transaction on SQLite,
// a batch on D1): three upserts whose CHECK (count <= quota) fails the whole write when one would pass its quota.
import { Clock, Effect, Layer } from "effect"
import * as Schema from "effect/Schema"
import { StoreUnavailable } from "../../services/errors.js"
import {
  CODE_LIMITS,
  DEFAULT_PHONE_POLICY,
  PhonePolicies,
  PhonePolicy,
  rateLimited,
  type VerificationRateLimited,
  windowOf
} from "../../services/phone-policy.js"
import { sha256Hex } from "../../sha256.js"
import { makeExpiringCache } from "../expiring-cache.js"
import { messageOf } from "./driver.js"
import type { Statement } from "./rows.js"
import { Shards } from "./shards.js"

const SELECT_POLICY = "SELECT policy FROM phone_policies WHERE organization_id = ?"
const UPSERT_POLICY = "INSERT INTO phone_policies (organization_id, policy, updated_at) VALUES (?, ?, ?) " +
  "ON CONFLICT (organization_id) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at"
const DELETE_EXPIRED = "DELETE FROM verification_code_counts WHERE organization_id = ? AND window_end <= ?"
const COUNT_ONE = "INSERT INTO verification_code_counts (organization_id, limit_name, subject, window_start, " +
  "window_end, count, quota) VALUES (?, ?, ?, ?, ?, 1, ?) ON CONFLICT (organization_id, limit_name, subject, " +
  "window_start) DO UPDATE SET count = count + 1, quota = excluded.quota"
const SELECT_COUNT = "SELECT count FROM verification_code_counts " +
  "WHERE organization_id = ? AND limit_name = ? AND subject = ? AND window_start = ?"
const OVER_QUOTA = /CHECK constraint failed: verification_code_quota/

const encodePolicy = Schema.encodeSync(Schema.parseJson(PhonePolicy))
const decodePolicy = Schema.decodeUnknown(Schema.parseJson(PhonePolicy))

/** Every user's change of number reads its organization's policy: kept 5 s, dropped by this process's own PUT. */
export const POLICY_TTL_MS = 5_000

export const SqlPhonePolicies = Layer.effect(
  PhonePolicies,
  Effect.map(Shards, (shards): PhonePolicies["Type"] => {
    const cache = makeExpiringCache<PhonePolicy>({ capacity: 10_000, keepUntil: (_, at) => at + POLICY_TTL_MS })
    const get = (organizationId: string) => cache.get(organizationId, () => read(organizationId))
    const read = (organizationId: string) =>
      Effect.flatMap(shards.of(organizationId), ({ driver }) =>
        Effect.flatMap(
          driver.get<{ policy: string }>(SELECT_POLICY, [organizationId]),
          (row) =>
            row === undefined
              ? Effect.succeed(DEFAULT_PHONE_POLICY)
              : Effect.mapError(decodePolicy(row.policy), (cause) => new StoreUnavailable({ cause }))
        ))
    const take = (
      organizationId: string,
      userId: string,
      numberKey: string,
      retries: number
    ): Effect.Effect<void, VerificationRateLimited | StoreUnavailable> =>
      Effect.gen(function*() {
        const [policy, now, { driver }] = yield* Effect.all([
          get(organizationId),
          Clock.currentTimeMillis,
          shards.of(organizationId)
        ])
        const subjects = {
          "per-number": sha256Hex(`${organizationId}\u0000${numberKey}`),
          "per-user": userId,
          "per-organization": ""
        }
        const rows = CODE_LIMITS.map((limit) => {
          const window = windowOf(limit.windowSeconds, now)
          return { limit, quota: policy.codeLimits[limit.field], subject: subjects[limit.name], window }
        })
        const statements: Array<Statement> = [
          { sql: DELETE_EXPIRED, params: [organizationId, now] },
          ...rows.map(({ limit, quota, subject, window }) => ({
            sql: COUNT_ONE,
            params: [organizationId, limit.name, subject, window.start, window.end, quota]
          }))
        ]
        const written = yield* driver.write(statements, userId).pipe(
          Effect.as(true),
          Effect.catchAll((error) =>
            error instanceof StoreUnavailable && OVER_QUOTA.test(messageOf(error.cause))
              ? Effect.succeed(false)
              : Effect.fail(new StoreUnavailable({ cause: error }))
          )
        )
        if (written) return
        // Refused: name the limit that is full. None full means a window turned meanwhile: try once more.
        for (const { limit, quota, subject, window } of rows) {
          const row = yield* driver.get<{ count: number }>(SELECT_COUNT, [
            organizationId,
            limit.name,
            subject,
            window.start
          ])
          if (row !== undefined && Number(row.count) >= quota) return yield* rateLimited(limit, quota, now)
        }
        if (retries > 0) return yield* take(organizationId, userId, numberKey, retries - 1)
        return yield* new StoreUnavailable({ cause: "verification code count refused without a full limit" })
      })
    return {
      get,
      put: (organizationId, policy) =>
        Effect.gen(function*() {
          const { driver } = yield* shards.of(organizationId)
          const now = new Date(yield* Clock.currentTimeMillis).toISOString()
          yield* driver.write([{ sql: UPSERT_POLICY, params: [organizationId, encodePolicy(policy), now] }], "")
            .pipe(Effect.mapError((error) =>
              error instanceof StoreUnavailable ? error : new StoreUnavailable({ cause: error })
            ))
          cache.invalidate(organizationId)
          return policy
        }),
      takeCodeAllowance: ({ numberKey, organizationId, userId }) => take(organizationId, userId, numberKey, 1)
    }
  })
)
