/**
 * One handler, every runtime: the conformance suite (suite.ts) over HTTP against Bun (`bun src/bun.ts`), Deno
 * (`deno task start`) and Workers (`wrangler dev`, local D1), each started here on a free loopback port over a
 * fresh store and stopped afterwards. Then the runtimes are compared: for every case, the same statuses and
 * problem codes. A runtime that does not start fails its cases; none is skipped.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RunningRuntime, type Runtime, RUNTIMES, type Target } from "./runtimes.js"
import { conformanceSuite, type Observations } from "./suite.js"

const NAMES: ReadonlyArray<Runtime> = ["bun", "deno", "worker"]
const STARTUP_MS: Record<Runtime, number> = { bun: 60_000, deno: 90_000, worker: 150_000 }

const running = new Map<Runtime, RunningRuntime>()
const failedToStart = new Map<Runtime, unknown>()
const observations = new Map<Runtime, Observations>(NAMES.map((name) => [name, new Map()]))

// All three start at once (wrangler dev is the slow one); each runtime's cases wait only for their own.
let started: Promise<void> | undefined
const startAll = () => (started ??= Promise.all(NAMES.map(async (name) => {
  try {
    running.set(name, await RUNTIMES[name](STARTUP_MS[name]))
  } catch (error) {
    failedToStart.set(name, error)
  }
})).then(() => undefined))

beforeAll(startAll, Math.max(...Object.values(STARTUP_MS)) + 30_000)

afterAll(async () => {
  await Promise.all([...running.values()].map((runtime) => runtime.stop()))
}, 60_000)

const targetOf = (name: Runtime) => (): Target => {
  const runtime = running.get(name)
  if (runtime === undefined) throw new Error(`${name} did not start: ${String(failedToStart.get(name))}`)
  return runtime.target
}

for (const name of NAMES) {
  describe(name, () => {
    beforeAll(() => {
      const error = failedToStart.get(name)
      if (error !== undefined) throw error
    })
    conformanceSuite(targetOf(name), observations.get(name)!)
  })
}

describe("every runtime", () => {
  it("answers every case with the same statuses and problem codes", () => {
    const [first, ...rest] = NAMES
    const reference = observations.get(first!)!
    expect(reference.size).toBeGreaterThan(40)
    // Concurrent cases may see their answers in any order: compare the multiset.
    const sorted = (map: Observations) => Object.fromEntries([...map].map(([name, seen]) => [name, [...seen].sort()]))
    for (const name of rest) {
      expect({ runtime: name, ...sorted(observations.get(name)!) }).toEqual({ runtime: name, ...sorted(reference) })
    }
  })
})
