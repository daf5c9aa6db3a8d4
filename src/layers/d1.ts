/**
 * The services over Cloudflare D1 (@effect/sql-d1): the Workers runtime's store.
 * D1 has no transactions (@effect/sql-d1 refuses them), so the atomic write is one `D1Database.batch`,
 * which D1 runs all-or-nothing: a failing statement rolls back the ones before it.
 */
import { D1Client } from "@effect/sql-d1"
import { Effect, Layer, Option } from "effect"
import { VersionConflict } from "../app/errors.js"
import type { ChainHead } from "../audit/chain.js"
import { CurrentPrincipal } from "../services/auth.js"
import type { JwtConfig } from "./auth/jwt.js"
import { AtomicWrite, classifyWriteError, type Statement } from "./sql/atomic-write.js"
import { SELECT_HEAD } from "./sql/rows.js"
import { sqlServices } from "./sql/services.js"

/**
 * A first-come, first-served lock per key, for one isolate: each holder leaves a promise that the next one awaits.
 * The waiter awaits a promise (its own continuation, in its own request), rather than being resumed by the holder's
 * code: in workerd, work resumed from another request's context would be that request's, and a request left
 * waiting on it is cancelled as hung. A key's entry exists only while someone holds or awaits it.
 */
export const makeKeyedLock = () => {
  const tails = new Map<string, Promise<void>>()
  const holding = new Set<string>()
  return {
    withLock: (key: string) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.suspend(() => {
          const previous = tails.get(key) ?? Promise.resolve()
          let release!: () => void
          const mine = new Promise<void>((resolve) => (release = resolve))
          tails.set(key, mine)
          let held = false
          const leave = Effect.sync(() => {
            const last = tails.get(key) === mine
            if (held) {
              holding.delete(key)
              release()
              if (last) tails.delete(key)
            } else {
              // A waiter that gave up passes its turn on only once the holder before it is done.
              void previous.then(release)
              if (last) tails.set(key, previous)
            }
          })
          return Effect.ensuring(
            Effect.zipRight(
              restore(Effect.promise(() => previous)),
              Effect.suspend(() => {
                held = true
                holding.add(key)
                return restore(effect)
              })
            ),
            leave
          )
        })
      ),
    /** Whether a holder of `key`'s lock is running now. */
    isHeld: (key: string) => holding.has(key),
    get size() {
      return tails.size
    }
  }
}

/**
 * What one isolate knows about its own writes: a lock per organization, and the chain head its last write of
 * each organization left (served to that organization's next write instead of a read, while the lock is held).
 */
export interface D1WriteState {
  readonly lock: ReturnType<typeof makeKeyedLock>
  readonly heads: Map<string, ChainHead>
}

export const makeD1WriteState = (): D1WriteState => ({ lock: makeKeyedLock(), heads: new Map() })

// The organization is the request's (runCommand writes only in its principal's); outside a request, one shared key
// that never matches an organization, so such writes are serialized among themselves and never use a known head.
const lockKey = Effect.map(
  Effect.serviceOption(CurrentPrincipal),
  Option.match({
    onNone: () => "",
    onSome: (principal) => principal.organizationId
  })
)

/** The organization's chain head once `statements` are written: their event's link (rows.ts changeStatements). */
const headAfter = (statements: ReadonlyArray<Statement>): { organizationId: string; head: ChainHead } | undefined => {
  const insert = statements.find((s) => s.sql.startsWith("INSERT INTO events ("))
  const columns = insert === undefined ? undefined : /^INSERT INTO events \(([^)]*)\)/.exec(insert.sql)?.[1]?.split(",")
  if (insert === undefined || columns === undefined) return undefined
  const value = (column: string) => insert.params[columns.findIndex((c) => c.trim() === column)]
  const organizationId = value("organization_id")
  const sequence = value("chain_sequence")
  const hash = value("hash")
  return typeof organizationId === "string" && typeof sequence === "number" && typeof hash === "string"
    ? { organizationId, head: { sequence, hash } }
    : undefined
}

/**
 * The row write and its event as one D1 batch, planned (the audit chain's head read, the link computed) just
 * before it. Plan and batch run under the isolate's lock for the organization, so this isolate never races itself:
 * its concurrent writers of one organization would otherwise all read the same head, and all but one would lose
 * and retry with back-off. Under the lock the head this isolate wrote last is used instead of reading it again
 * (`withKnownHeads`). Another isolate may have written since: then a guard fires (trigger, unique key), and the
 * write is planned once more from a fresh read before a VersionConflict is reported, so a stale known head never
 * turns into a 409 or a 412 that a read would not have caused.
 */
export const AtomicWriteBatch = (db: D1Database, state: D1WriteState = makeD1WriteState()) =>
  Layer.succeed(AtomicWrite, (plan, userId) => {
    const attempt = Effect.flatMap(plan, (statements) =>
      Effect.tryPromise({
        try: () => db.batch(statements.map((s) => db.prepare(s.sql).bind(...s.params))),
        catch: classifyWriteError(userId)
      }).pipe(Effect.as(statements)))
    const remember = (key: string, statements: ReadonlyArray<Statement>) =>
      Effect.sync(() => {
        const after = headAfter(statements)
        if (after !== undefined && after.organizationId === key) state.heads.set(key, after.head)
      })
    return Effect.flatMap(lockKey, (key) =>
      state.lock.withLock(key)(
        Effect.suspend(() => {
          const usedKnownHead = state.heads.has(key)
          return attempt.pipe(
            Effect.tapError(() => Effect.sync(() => state.heads.delete(key))),
            Effect.catchIf((error) => usedKnownHead && error instanceof VersionConflict, () => attempt),
            Effect.flatMap((statements) => remember(key, statements))
          )
        })
      ))
  })

type Row = Record<string, unknown>

/**
 * `db` for the SQL client, answering the chain-head query (rows.ts SELECT_HEAD) of an organization whose write
 * holds the lock from the head this isolate wrote last, when it knows one; every other query goes to D1.
 */
export const withKnownHeads = (db: D1Database, state: D1WriteState): D1Database => {
  const known = (organizationId: unknown) =>
    typeof organizationId === "string" && state.lock.isHeld(organizationId)
      ? state.heads.get(organizationId)
      : undefined
  const headStatement = (statement: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(statement, {
      get(target, property, receiver) {
        if (property === "bind") {
          return (...params: Array<unknown>) => {
            const bound = target.bind(...params)
            return new Proxy(bound, {
              get(inner, name, innerReceiver) {
                const head = known(params[0])
                if (name === "all" && head !== undefined) {
                  return () =>
                    Promise.resolve({
                      results: [{ chain_sequence: head.sequence, hash: head.hash }] as Array<Row>,
                      success: true,
                      meta: {}
                    })
                }
                const value = Reflect.get(inner, name, innerReceiver)
                return typeof value === "function" ? value.bind(inner) : value
              }
            })
          }
        }
        const value = Reflect.get(target, property, receiver)
        return typeof value === "function" ? value.bind(target) : value
      }
    })
  return new Proxy(db, {
    get(target, property, receiver) {
      if (property === "prepare") {
        return (query: string) => (query === SELECT_HEAD ? headStatement(target.prepare(query)) : target.prepare(query))
      }
      const value = Reflect.get(target, property, receiver)
      return typeof value === "function" ? value.bind(target) : value
    }
  })
}

export const D1Live = (db: D1Database, jwt: JwtConfig) => {
  const state = makeD1WriteState()
  return sqlServices(jwt).pipe(
    Layer.provide(AtomicWriteBatch(db, state)),
    Layer.provideMerge(D1Client.layer({ db: withKnownHeads(db, state) }))
  )
}
