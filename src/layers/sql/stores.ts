// Each statement on its organization's store; the row and the atomic write through the StoreDriver.
import type { SqlClient } from "@effect/sql"
import { Clock, Effect, FiberRef, Layer } from "effect"
import { GENESIS_HASH, nextLink } from "../../audit/chain.js"
import { type Checkpoint, headsOf, nextCheckpoint } from "../../audit/checkpoint.js"
import { StoreUnavailable } from "../../services/errors.js"
import { EventLog } from "../../services/event-log.js"
import { currentKeyedWrite } from "../../services/idempotency.js"
import { PhoneNumberKeys } from "../../services/phone-number-keys.js"
import { UserRepo } from "../../services/user-repo.js"
import { messageOf, unavailable } from "./driver.js"
import { keepAnswer } from "./idempotency-store.js"
import { SqlPhoneVerificationStore } from "./phone-verification-store.js"
import {
  changeStatements,
  checkpointParams,
  type CheckpointRow,
  type EventRow,
  INSERT_CHECKPOINT,
  SELECT_CHECKPOINTS_AFTER,
  SELECT_EVENT_HEADS_AFTER,
  SELECT_EVENTS,
  SELECT_FEED,
  SELECT_LAST_CHECKPOINT,
  SELECT_UNSEALED_ORGANIZATIONS,
  SELECT_USER,
  toChainedEvent,
  toCheckpoint,
  toEvent,
  toUser,
  type UserRow
} from "./rows.js"
import { Shards } from "./shards.js"
import { SqlWebhookStore } from "./webhook-store.js"

export const SqlUserRepo = Layer.effect(
  UserRepo,
  Effect.map(Shards, (shards): UserRepo["Type"] => {
    const ping = Effect.forEach(shards.all, (shard) => shard.driver.get("SELECT 1", []), { discard: true })
    return {
      find: (organizationId, userId) =>
        Effect.flatMap(shards.of(organizationId), ({ driver }) =>
          Effect.map(
            driver.get<UserRow>(SELECT_USER, [organizationId, userId]),
            (row) => row === undefined ? null : { user: toUser(row), headHash: row.head_hash ?? GENESIS_HASH }
          )),
      commit: (change) =>
        Effect.flatMap(shards.of(change.state.organizationId), ({ driver }) => {
          return Effect.flatMap(Effect.zip(FiberRef.get(currentKeyedWrite), PhoneNumberKeys), ([keyed, keys]) => {
            const released = change.released
            const statements = changeStatements(
              change,
              nextLink(change.previousHash, change.event),
              keys.keying?.keyOf,
              released === undefined ? undefined : nextLink(released.previousHash, released.event)
            )
            if (keyed === undefined) return driver.write(statements, change.state.id)
            const written = { aggregateId: change.state.id, version: change.state.version, event: change.event }
            return Effect.flatMap(Clock.currentTimeMillis, (now) =>
              driver.write([...statements, keepAnswer(keyed, written, now)], change.state.id))
          })
        }),
      ping
    }
  })
)

/** Events sealed per checkpoint at most; more get several in a row. */
export const MAX_EVENTS_PER_CHECKPOINT = 5_000

export const SqlEventLog = Layer.effect(
  EventLog,
  Effect.map(Shards, (shards): EventLog["Type"] => {
    const on = <A extends object>(sql: SqlClient.SqlClient, text: string, params: ReadonlyArray<string | number>) =>
      sql.unsafe<A>(text, params as Array<string | number>).pipe(Effect.mapError(unavailable))
    const query = <A extends object>(text: string, params: readonly [string, ...Array<string | number>]) =>
      Effect.flatMap(shards.of(params[0]), ({ sql }) => on<A>(sql, text, params))
    const latest = (organizationId: string) =>
      Effect.map(
        query<CheckpointRow>(SELECT_LAST_CHECKPOINT, [organizationId]),
        (rows) => rows[0] === undefined ? undefined : toCheckpoint(rows[0])
      )
    // Of two racing checkpointers the store's guard refuses the second, which then reads the first's instead of
    // failing.
    const sealNext = (organizationId: string, previous: Checkpoint | undefined) =>
      Effect.gen(function*() {
        const events = yield* query<Pick<EventRow, "organization_sequence" | "aggregate_id" | "version" | "hash">>(
          SELECT_EVENT_HEADS_AFTER,
          [organizationId, previous?.upToEventSequence ?? 0, MAX_EVENTS_PER_CHECKPOINT]
        )
        if (events.length === 0) return { checkpoint: previous, more: false }
        const next = nextCheckpoint(previous, {
          organizationId,
          upToEventSequence: Number(events[events.length - 1]!.organization_sequence),
          eventCount: events.length,
          heads: headsOf(
            events.map((e) => ({ aggregateId: e.aggregate_id, version: Number(e.version), hash: e.hash }))
          ),
          createdAt: new Date(yield* Clock.currentTimeMillis).toISOString()
        })
        const { sql } = yield* shards.of(organizationId)
        const written = yield* sql.unsafe(INSERT_CHECKPOINT, checkpointParams(next) as Array<string | number | null>)
          .pipe(
            Effect.as(true),
            Effect.catchAll((cause) =>
              /checkpoint does not extend|UNIQUE constraint failed: audit_checkpoints/.test(messageOf(cause))
                ? Effect.succeed(false)
                : Effect.fail(new StoreUnavailable({ cause }))
            )
          )
        if (!written) return { checkpoint: yield* latest(organizationId), more: true }
        return { checkpoint: next as Checkpoint | undefined, more: events.length === MAX_EVENTS_PER_CHECKPOINT }
      })
    return {
      read: (organizationId, aggregateId, { afterVersion, limit }) =>
        query<EventRow>(SELECT_EVENTS, [organizationId, aggregateId, afterVersion, limit]).pipe(
          Effect.map((rows) => rows.map(toEvent))
        ),
      feed: (organizationId, afterSequence, limit) =>
        query<EventRow>(SELECT_FEED, [organizationId, afterSequence, limit]).pipe(
          Effect.map((rows) => rows.map(toChainedEvent))
        ),
      // A moved organization leaves its old events behind, frozen: only its current shard is sealed.
      unsealedOrganizations: (limit) =>
        Effect.map(
          Effect.forEach(shards.all, (shard) =>
            Effect.flatMap(
              on<{ organization_id: string }>(shard.sql, SELECT_UNSEALED_ORGANIZATIONS, [limit]),
              (rows) =>
                Effect.filter(rows.map((r) => r.organization_id), (id) =>
                  // One being moved right now waits for the next round.
                  Effect.orElseSucceed(Effect.map(shards.of(id), (home) => home === shard), () => false))
            )),
          (perShard) => perShard.flat().slice(0, limit)
        ),
      checkpoints: (organizationId, afterSequence, limit) =>
        Effect.map(
          query<CheckpointRow>(SELECT_CHECKPOINTS_AFTER, [organizationId, afterSequence, limit]),
          (rows) => rows.map(toCheckpoint)
        ),
      checkpoint: (organizationId) =>
        Effect.gen(function*() {
          let checkpoint = yield* latest(organizationId)
          // Bounded: what a busy organization writes meanwhile is the next checkpoint's.
          for (let round = 0; round < 20; round++) {
            const sealed = yield* sealNext(organizationId, checkpoint)
            checkpoint = sealed.checkpoint
            if (!sealed.more) break
          }
          return checkpoint
        })
    }
  })
)

export const SqlStores = Layer.mergeAll(SqlUserRepo, SqlEventLog, SqlWebhookStore, SqlPhoneVerificationStore)
