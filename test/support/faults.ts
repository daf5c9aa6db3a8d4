/**
 * Store faults on demand, for tests: wraps a runtime's real StoreDriver write (the SQLite transaction or the D1
 * batch) and makes the next write(s) fail at a chosen step, so the real store's rollback is what gets tested.
 *
 * - `before`: the write fails before it starts; no statement runs.
 * - `during`: a statement that fails is slipped in after the first one, inside the transaction or batch, so the
 *   database itself aborts the unit and rolls back the first statement's write.
 * - `after`: the write commits, then the caller is told it failed (a lost answer).
 *
 * Each shows the caller a StoreUnavailable (503 with Retry-After).
 */
import { Data, Effect, Layer } from "effect"
import type { Services } from "../../src/fetch-handler.js"
import { StoreDriver } from "../../src/layers/sql/driver.js"
import type { Statement } from "../../src/layers/sql/rows.js"
import { StoreUnavailable } from "../../src/services/errors.js"
import { Idempotency } from "../../src/services/idempotency.js"
import { UserRepo } from "../../src/services/user-repo.js"

export type FaultStep = "before" | "during" | "after"

export const FAULT_STEPS: ReadonlyArray<FaultStep> = ["before", "during", "after"]

/** The cause inside the StoreUnavailable of a `before` or `after` fault (a `during` fault's is the database's). */
export class InjectedFault extends Data.TaggedError("InjectedFault")<{ readonly step: FaultStep }> {}

/**
 * Fails only once the first statement has changed a row (changes() > 0): json() of text that is not JSON is a
 * runtime error ("malformed JSON") on SQLite and D1 alike. A first statement that changed nothing is a lost race,
 * which the schema's guards report as they always do.
 */
export const FAULT_STATEMENT: Statement = {
  sql: "SELECT json(CASE WHEN changes() > 0 THEN 'users-api: injected fault' END) AS injected_fault",
  params: []
}

export interface Faults {
  /** The next `times` atomic writes fail at `step` (replacing whatever was armed before). */
  readonly arm: (step: FaultStep, times?: number) => void
  readonly disarm: () => void
  /** How many writes each step was applied to (a `during` fault on a write that lost its race changes nothing). */
  readonly injected: Readonly<Record<FaultStep, number>>
  /** Takes one armed fault, if any: the layer asks once per write. */
  readonly take: () => FaultStep | undefined
}

export const makeFaults = (): Faults => {
  const state = {
    step: undefined as FaultStep | undefined,
    remaining: 0,
    injected: { before: 0, during: 0, after: 0 } as Record<FaultStep, number>
  }
  return {
    arm: (step, times = 1) => {
      state.step = step
      state.remaining = times
    },
    disarm: () => {
      state.step = undefined
      state.remaining = 0
    },
    injected: state.injected,
    take: () => {
      if (state.step === undefined || state.remaining <= 0) return undefined
      const step = state.step
      state.remaining -= 1
      if (state.remaining === 0) state.step = undefined
      state.injected[step] += 1
      return step
    }
  }
}

const injected = (step: FaultStep) => new StoreUnavailable({ cause: new InjectedFault({ step }) })

/** The StoreDriver `driver`, its writes failing as armed in `faults`. */
export const faultyDriver = (driver: StoreDriver["Type"], faults: Faults): StoreDriver["Type"] => ({
  ...driver,
  write: (statements, userId) =>
    Effect.suspend(() => {
      const step = faults.take()
      switch (step) {
        case undefined:
          return driver.write(statements, userId)
        case "before":
          return Effect.fail(injected(step))
        case "during":
          return driver.write([...statements.slice(0, 1), FAULT_STATEMENT, ...statements.slice(1)], userId)
        case "after":
          return Effect.zipRight(driver.write(statements, userId), Effect.fail(injected(step)))
      }
    })
})

/** Wraps a runtime's StoreDriver layer (sqliteDriverLayer, or D1's) with `faults`. */
export const withFaults = (faults: Faults) => <E, R>(driver: Layer.Layer<StoreDriver, E, R>) =>
  Layer.effect(StoreDriver, Effect.map(StoreDriver, (d) => faultyDriver(d, faults))).pipe(Layer.provide(driver))

/** Holds the next write, once armed, before it starts, until released: an attempt paused before its commit. */
export interface Hold {
  readonly arm: () => void
  /** Resolved when the held write arrives. */
  readonly reached: Promise<void>
  readonly release: () => void
}

export const makeHold = (): Hold & { readonly wrap: (driver: StoreDriver["Type"]) => StoreDriver["Type"] } => {
  let armed = false
  let reach = () => {}
  let release = () => {}
  const reached = new Promise<void>((resolve) => (reach = resolve))
  const released = new Promise<void>((resolve) => (release = resolve))
  return {
    arm: () => void (armed = true),
    reached,
    release: () => release(),
    wrap: (driver) => ({
      ...driver,
      write: (statements, userId) =>
        Effect.suspend(() => {
          if (!armed) return driver.write(statements, userId)
          armed = false
          reach()
          return Effect.zipRight(Effect.promise(() => released), driver.write(statements, userId))
        })
    })
  }
}

/**
 * A crash at the worst moment: `crash` runs as soon as a change's atomic unit has committed, before anything else the
 * request would do (keep its key's answer, answer the client). A server passes a SIGKILL of itself.
 */
export const crashAfterCommit = (crash: () => void) => <E, R>(services: Layer.Layer<Services, E, R>) =>
  Layer.merge(
    services,
    Layer.effect(
      UserRepo,
      Effect.map(UserRepo, (repo): UserRepo["Type"] => ({
        ...repo,
        commit: (change) => Effect.zipRight(repo.commit(change), Effect.sync(crash))
      }))
    ).pipe(Layer.provide(services))
  )

/**
 * The same where a process cannot be killed (workerd): the request dies with a defect right after the commit, and
 * from then on nothing of this handler reaches the Idempotency store, as nothing of a dead process would.
 */
export const dieAfterCommit = <E, R>(services: Layer.Layer<Services, E, R>) => {
  let dead = false
  const silenced = Layer.effect(
    Idempotency,
    Effect.map(Idempotency, (store): Idempotency["Type"] => ({
      ...store,
      complete: (...args) => dead ? Effect.void : store.complete(...args),
      release: (...args) => dead ? Effect.void : store.release(...args)
    }))
  ).pipe(Layer.provide(services))
  const crashing = crashAfterCommit(() => {
    dead = true
    throw new Error("the process died right after the commit")
  })(services)
  return { layer: Layer.merge(crashing, silenced), died: () => dead }
}
