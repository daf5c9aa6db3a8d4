/**
 * A second fetch handler over a fixture's SQLite file, built like SqliteNodeServices but with the store's AtomicWrite
 * wrapped by src/layers/faults.ts, and/or an Effect clock moved forward (for expiry), so tests can fail the real
 * store at a chosen step or let hours pass.
 */
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Effect, Layer } from "effect"
import { DEV_AUDIENCE, DEV_ISSUER, jwksOf } from "../../../src/dev/signing.js"
import { type FetchHandler, makeFetchHandler } from "../../../src/fetch-handler.js"
import { StoreDriver } from "../../../src/layers/sql/driver.js"
import { sqlServices } from "../../../src/layers/sql/services.js"
import { SqliteNodeDriver } from "../../../src/layers/sqlite/node.js"
import { type Faults, type makeHold, withFaults } from "../../support/faults.js"
import { shiftedClock } from "../../support/shifted-clock.js"
import type { SqliteFixture } from "../../support/sqlite-fixture.js"

export interface HandlerOptions {
  readonly faults?: Faults
  /** Holds the write it is armed for until released (makeHold). */
  readonly hold?: ReturnType<typeof makeHold>
  readonly clockOffset?: { millis: number }
}

export const handlerOver = (f: SqliteFixture, options: HandlerOptions = {}): FetchHandler => {
  const jwt = { issuer: DEV_ISSUER, audience: DEV_AUDIENCE, jwks: jwksOf(f.key) }
  const hold = options.hold
  const real = hold === undefined
    ? SqliteNodeDriver(f.filename)
    : Layer.effect(StoreDriver, Effect.map(StoreDriver, hold.wrap)).pipe(Layer.provide(SqliteNodeDriver(f.filename)))
  const driver = options.faults === undefined ? real : withFaults(options.faults)(real)
  const services = sqlServices(jwt).pipe(
    Layer.provideMerge(Layer.merge(driver, SqliteClient.layer({ filename: f.filename })))
  )
  const clocked = options.clockOffset === undefined
    ? services
    : Layer.merge(services, Layer.setClock(shiftedClock(options.clockOffset)))
  return makeFetchHandler(clocked, { log: () => {}, idempotencyHashKey: f.idempotencyHashKey })
}
