/**
 * UserRepo and EventLog over any @effect/sql client (SQLite under Node, Bun, Deno; D1 on Workers).
 * Reads share this code; the atomic write comes from the AtomicWrite the runtime provides.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import { StoreUnavailable } from "../../app/errors.js"
import { nextLinkEffect } from "../../audit/chain.js"
import { EventLog } from "../../services/event-log.js"
import { UserRepo } from "../../services/user-repo.js"
import { AtomicWrite } from "./atomic-write.js"
import {
  changeStatements,
  type EventRow,
  SELECT_EVENTS,
  SELECT_HEAD,
  SELECT_USER,
  toEvent,
  toHead,
  toUser,
  type UserRow
} from "./rows.js"

const unavailable = (cause: unknown) => new StoreUnavailable({ cause })

const readHead = (sql: SqlClient.SqlClient, organizationId: string) =>
  sql.unsafe<{ chain_sequence: number; hash: string }>(SELECT_HEAD, [organizationId]).pipe(
    Effect.map(toHead),
    Effect.mapError(unavailable)
  )

export const SqlUserRepo = Layer.effect(
  UserRepo,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const write = yield* AtomicWrite
    return {
      find: (organizationId, userId) =>
        sql.unsafe<UserRow>(SELECT_USER, [organizationId, userId]).pipe(
          Effect.map((rows) => (rows[0] === undefined ? null : toUser(rows[0]))),
          Effect.mapError(unavailable)
        ),
      commit: (change) =>
        write(
          Effect.gen(function*() {
            const head = yield* readHead(sql, change.state.organizationId)
            const link = yield* nextLinkEffect(head, change.event)
            return changeStatements(change, link)
          }),
          change.state.id
        ),
      ping: sql.unsafe("SELECT 1").pipe(Effect.asVoid, Effect.mapError(unavailable))
    }
  })
)

export const SqlEventLog = Layer.effect(
  EventLog,
  Effect.map(SqlClient.SqlClient, (sql) => ({
    read: (organizationId, aggregateId, { afterVersion, limit }) =>
      sql.unsafe<EventRow>(SELECT_EVENTS, [organizationId, aggregateId, afterVersion, limit]).pipe(
        Effect.map((rows) => rows.map(toEvent)),
        Effect.mapError(unavailable)
      ),
    head: (organizationId) => readHead(sql, organizationId)
  }))
)

/** Both stores over a SqlClient and an AtomicWrite. */
export const SqlStores = Layer.mergeAll(SqlUserRepo, SqlEventLog)
