/**
 * `npm run bench:webhooks [-- --seconds 10] [--rate 50] [--connections 16] [--users 2000] [--runs 2] [--json]`:
 * webhooks on Bun over a freshly seeded SQLite file, sent to a receiver on 127.0.0.1 in this process. Two figures:
 *
 * 1. **Delivery latency**, with one subscription: UpdatePhoneNumber paced at `--rate` writes a second for
 *    `--seconds`, and for each event the time from its `occurredAt` (the server's clock just before the write
 *    commits; this machine's clock, as the receiver's) to the receiver having it, p50, p99 and max; also from the
 *    write's answer reaching the client (negative when the webhook came first).
 * 2. **The relay's cost to the write path**: UpdatePhoneNumber under load (`--connections`, autocannon) with no
 *    subscription and with one, alternated `--runs` times on the same server, each for `--seconds`; the medians and
 *    their ratio, and how many of the window's events the receiver had by its end.
 *
 * It prints figures and asserts nothing (the tests are test/webhooks/). The receiver checks the first signatures
 * with the client's verifyWebhook and only counts the rest. Bounded: every phase has its duration, the whole run a
 * deadline, and the server is stopped on success or failure. The receiver shares this process with the load
 * generator, so on a small machine both compete with the server for its cores: run it on a quiet machine.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { DEV_AUDIENCE, DEV_ISSUER, generateSigningKey, jwksOf, signServiceToken } from "../../src/dev/signing.js"
import { generateApiKey } from "../../src/layers/auth/api-keys.js"
import { sha256Hex } from "../../src/sha256.js"
import { verifyWebhook } from "../../src/webhooks/verify.js"
import { stopAll } from "./processes.js"
import { bunEndpoint, type Target } from "./targets.js"
import { type Credentials, makeSequence, makeUsers, median, ORGANIZATION_ID, runLoad, SERVICE_ID } from "./workload.js"

const usage = "usage: bun scripts/bench/webhooks.ts [--seconds 10] [--rate 50] [--connections 16] [--users 2000] " +
  "[--runs 2] [--json]"

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    rate: { type: "string", default: "50" },
    connections: { type: "string", default: "16" },
    users: { type: "string", default: "2000" },
    runs: { type: "string", default: "2" },
    json: { type: "boolean", default: false }
  }
})
const positive = (name: string, text: string, max: number): number => {
  const value = Number(text)
  if (!Number.isInteger(value) || value < 1 || value > max) {
    console.error(`bench:webhooks: --${name} must be a whole number from 1 to ${max}\n${usage}`)
    process.exit(2)
  }
  return value
}
const seconds = positive("seconds", args.seconds, 600)
const rate = positive("rate", args.rate, 1_000)
const connections = positive("connections", args.connections, 256)
const userCount = positive("users", args.users, 100_000)
const runs = positive("runs", args.runs, 10)
const warmupS = Math.min(2, Math.max(1, Math.floor(seconds / 3)))
// Every phase, the set-up and the drains, with room to spare; past it everything is stopped.
const DEADLINE_MS = (seconds * (1 + 2 * runs) + warmupS * 2 * runs) * 1000 + 120_000

const log = (line: string) => void (args.json ? undefined : console.log(line))

/** The receiver: every webhook's arrival time by webhook-id, answered 204. */
const receiver = (secret: () => string | undefined) => {
  const arrived = new Map<string, { readonly at: number; readonly occurredAt: number }>()
  let verified = 0
  let refused = 0
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async (request) => {
      const at = Date.now()
      const body = await request.text()
      const id = request.headers.get("webhook-id") ?? ""
      const key = secret()
      // The first signatures are checked; the rest only counted, so that the receiver costs little.
      if (key !== undefined && verified + refused < 20) {
        try {
          await verifyWebhook(key, request.headers, body)
          verified++
        } catch {
          refused++
        }
      }
      if (!arrived.has(id)) arrived.set(id, { at, occurredAt: Date.parse(JSON.parse(body).timestamp) })
      return new Response(null, { status: 204 })
    }
  })
  return {
    url: `http://127.0.0.1:${server.port}/hooks`,
    arrived,
    signatures: () => ({ verified, refused }),
    stop: () => server.stop(true)
  }
}

const percentile = (values: ReadonlyArray<number>, p: number) => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

const credentials = async (): Promise<Credentials> => {
  const key = await generateSigningKey("bench-webhooks-key")
  const apiKey = generateApiKey()
  const random = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url")
  return {
    apiKey,
    apiKeyHash: sha256Hex(apiKey),
    serviceToken: await signServiceToken(key, SERVICE_ID, ORGANIZATION_ID, "users:write audit:read webhooks:write", {
      expiresIn: "2h"
    }),
    serverEnv: {
      JWT_ISSUER: DEV_ISSUER,
      JWT_AUDIENCE: DEV_AUDIENCE,
      JWKS: JSON.stringify(jwksOf(key)),
      IDEMPOTENCY_HASH_KEY: random(),
      WEBHOOK_SECRET_KEY: random(),
      // The receiver is on the loopback, over http: local development's rules, for this run only.
      WEBHOOK_ALLOW_LOOPBACK: "true"
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const main = async () => {
  const dir = mkdtempSync(join(tmpdir(), "users-api-bench-webhooks-"))
  let target: Target | undefined
  let secret: string | undefined
  const hooks = receiver(() => secret)
  try {
    const creds = await credentials()
    const users = makeUsers(userCount)
    target = await bunEndpoint({ dir, credentials: creds, users })
    const { url } = target
    const headers = {
      authorization: `Bearer ${creds.serviceToken}`,
      "x-api-key": creds.apiKey,
      "content-type": "application/json"
    }
    const webhooksPath = `${url}/organizations/${ORGANIZATION_ID}/webhooks`
    const subscribe = async () => {
      const answer = await fetch(webhooksPath, {
        method: "POST",
        headers,
        body: JSON.stringify({ url: hooks.url, eventTypes: ["UserPhoneNumberUpdated"] })
      })
      if (answer.status !== 201) throw new Error(`subscribing answered ${answer.status}: ${await answer.text()}`)
      const created = (await answer.json()) as { webhook: { id: string }; secret: string }
      secret = created.secret
      return created.webhook.id
    }
    const unsubscribe = async (id: string) => {
      const answer = await fetch(`${webhooksPath}/${id}`, { method: "DELETE", headers })
      if (answer.status !== 204) throw new Error(`deleting the subscription answered ${answer.status}`)
    }
    const sequence = makeSequence(users)
    const events = (ids: ReadonlyArray<string>) => ids.filter((id) => hooks.arrived.has(id)).length

    // 1. Latency: paced writes, each event's way to the receiver.
    log(`bench:webhooks on Bun, ${userCount} users, ${seconds} s per phase; receiver ${hooks.url}`)
    const latencyHook = await subscribe()
    const answeredAt = new Map<string, number>()
    const writes: Array<Promise<void>> = []
    const total = rate * seconds
    const started = Date.now()
    let failedWrites = 0
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / rate
      if (due > Date.now()) await sleep(due - Date.now())
      const next = sequence.next()
      writes.push(
        fetch(`${url}${next.path}`, { method: "POST", headers, body: next.body }).then(async (answer) => {
          const at = Date.now()
          const body = (await answer.json()) as { event?: { id: string } | null }
          if (answer.status === 200 && body.event != null) answeredAt.set(body.event.id, at)
          else failedWrites++
        }, () => void failedWrites++)
      )
    }
    await Promise.all(writes)
    const written = [...answeredAt.keys()]
    const drainUntil = Date.now() + 10_000
    while (events(written) < written.length && Date.now() < drainUntil) await sleep(20)
    const fromCommit = written.flatMap((id) => {
      const got = hooks.arrived.get(id)
      return got === undefined ? [] : [got.at - got.occurredAt]
    })
    const fromAnswer = written.flatMap((id) => {
      const got = hooks.arrived.get(id)
      return got === undefined ? [] : [got.at - answeredAt.get(id)!]
    })
    const latency = {
      writes: written.length,
      failedWrites,
      delivered: fromCommit.length,
      p50Ms: percentile(fromCommit, 50),
      p99Ms: percentile(fromCommit, 99),
      maxMs: percentile(fromCommit, 100),
      fromAnswerP50Ms: percentile(fromAnswer, 50),
      fromAnswerP99Ms: percentile(fromAnswer, 99),
      signatures: hooks.signatures()
    }
    log(
      `latency, ${rate} writes/s for ${seconds} s: ${latency.delivered} of ${latency.writes} events delivered; ` +
        `commit → receiver p50 ${latency.p50Ms} ms, p99 ${latency.p99Ms} ms, max ${latency.maxMs} ms ` +
        `(from the write's answer: p50 ${latency.fromAnswerP50Ms} ms, p99 ${latency.fromAnswerP99Ms} ms); ` +
        `signatures checked ${latency.signatures.verified}, refused ${latency.signatures.refused}` +
        (failedWrites > 0 ? `; ${failedWrites} writes failed` : "")
    )
    await unsubscribe(latencyHook)

    // 2. The write path with no subscription and with one, alternated on the same server.
    const phases: Record<"none" | "one", Array<{ rps: number; p99Ms: number; delivered: number; written: number }>> = {
      none: [],
      one: []
    }
    for (let run = 0; run < runs; run++) {
      for (const phase of ["none", "one"] as const) {
        const hook = phase === "one" ? await subscribe() : undefined
        const ids: Array<string> = []
        const result = await runLoad({
          url,
          connections,
          warmupS,
          durationS: seconds,
          headers,
          next: sequence.next,
          onAnswer: (status, body) => {
            if (status === 200) {
              const id = /"event":\{"id":"([^"]+)"/.exec(body)?.[1]
              if (id !== undefined) ids.push(id)
            }
          }
        })
        const figures = { rps: result.okRps, p99Ms: result.p99Ms, delivered: events(ids), written: ids.length }
        phases[phase].push(figures)
        log(
          `run ${run + 1}, ${phase === "none" ? "no subscription" : "one subscription"}: ` +
            `${figures.rps.toFixed(0)} writes/s, p99 ${figures.p99Ms.toFixed(1)} ms` +
            (phase === "one"
              ? `; ${figures.delivered} of its ${figures.written} events at the receiver when it ended`
              : "") +
            (result.errors > 0 ? `; ${result.errors} errors` : "")
        )
        if (hook !== undefined) await unsubscribe(hook)
      }
    }
    const none = median(phases.none.map((p) => p.rps))
    const one = median(phases.one.map((p) => p.rps))
    const summary = {
      runtime: "bun",
      seconds,
      rate,
      connections,
      users: userCount,
      runs,
      latency,
      throughput: { noSubscriptionRps: none, oneSubscriptionRps: one, ratio: one / none, phases }
    }
    if (args.json) console.log(JSON.stringify(summary))
    else {
      log(
        `write path, ${connections} connections, medians of ${runs}: ${none.toFixed(0)} writes/s without a ` +
          `subscription, ${one.toFixed(0)} with one: ratio ${(one / none).toFixed(3)}`
      )
    }
  } finally {
    hooks.stop()
    await target?.process.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

const deadline = setTimeout(() => {
  console.error(`bench:webhooks: not done within ${DEADLINE_MS / 1000} s; stopping`)
  void stopAll().finally(() => process.exit(1))
}, DEADLINE_MS)

try {
  await main()
} catch (error) {
  console.error(`bench:webhooks: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
} finally {
  clearTimeout(deadline)
  await stopAll()
}
