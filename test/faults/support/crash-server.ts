/**
 * The Bun or Deno server (src/server.ts's runServer over the runtime's own SQLite services), run by
 * test/faults/crash-idempotency.test.ts with two test-only settings:
 *
 * - CRASH_AFTER_COMMIT=1: the process SIGKILLs itself as soon as the first change commits (test/support/faults.ts).
 * - CLOCK_OFFSET_MS=N: Effect's clock runs N ms ahead, so a key's 60 s lock has expired for it at once.
 *
 * Run as `bun test/faults/support/crash-server.ts` or `deno run … test/faults/support/crash-server.ts`.
 */
import { ConfigProvider, Layer } from "effect"
import type { Services } from "../../../src/fetch-handler.js"
import type { JwtConfig } from "../../../src/layers/auth/jwt.js"
import type { PrepareOptions } from "../../../src/layers/sql/migrate.js"
import { runServer, type ServerRuntime } from "../../../src/server.js"
import { crashAfterCommit } from "../../support/faults.js"
import { shiftedClock } from "../../support/shifted-clock.js"

interface DenoServer {
  readonly addr: { readonly port: number }
  shutdown(): Promise<void>
}
declare const Deno: {
  serve(
    options: { port: number; hostname: string; onListen: () => void; signal: AbortSignal },
    fetch: (request: Request) => Promise<Response>
  ): DenoServer
}

const isBun = typeof Bun !== "undefined"
const open: (filename: string, jwt: JwtConfig, options: PrepareOptions) => Layer.Layer<Services, unknown> = isBun
  ? (await import("../../../src/layers/sqlite/bun.js")).SqliteBunServices
  : (await import("../../../src/layers/sqlite/deno.js")).SqliteDenoServices

const offset = { millis: Number(process.env.CLOCK_OFFSET_MS ?? 0) }
const kill = () => void process.kill(process.pid, "SIGKILL")

const services: ServerRuntime["services"] = (filename, jwt, options) => {
  const opened = open(filename, jwt, options)
  const crashing = process.env.CRASH_AFTER_COMMIT === "1" ? crashAfterCommit(kill)(opened) : opened
  return Layer.merge(crashing, Layer.setClock(shiftedClock(offset)))
}

const listen: ServerRuntime["listen"] = (fetch, { hostname, port }) => {
  if (isBun) {
    const server = Bun.serve({ port, hostname, fetch })
    return { port: server.port ?? port, stop: () => server.stop(), kill: () => server.stop(true) }
  }
  const controller = new AbortController()
  const server = Deno.serve({ port, hostname, onListen: () => {}, signal: controller.signal }, fetch)
  return { port: server.addr.port, stop: () => server.shutdown(), kill: async () => controller.abort() }
}

await runServer({
  name: isBun ? "Bun" : "Deno",
  config: ConfigProvider.fromEnv(),
  variables: Object.keys(process.env),
  cwd: process.cwd(),
  defaultPort: 0,
  database: "users.sqlite",
  services,
  listen,
  onSignal: (signal, stop) => process.on(signal, stop),
  exit: (code) => process.exit(code),
  credentialsCommand: "npm run dev:credentials"
})
