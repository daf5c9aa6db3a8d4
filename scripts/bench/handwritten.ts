/**
 * The hand-written baseline of `npm run bench` on the runtime's own server and SQLite binding: Bun.serve and
 * bun:sqlite under Bun, Deno.serve and node:sqlite under Deno. The endpoint is handwritten-endpoint.ts's, without
 * Effect and caching nothing; here is its store, one SQLite transaction per write. What the service costs on Deno
 * against Bun beside it is the price of the runtime. Environment as the service's: JWKS (or JWKS_URL), JWT_ISSUER,
 * JWT_AUDIENCE, JWT_ALGORITHMS, PORT, HOST, USERS_API_DATA_DIR (its users.sqlite, migrated and seeded).
 */
import { join } from "node:path"
import { jwtConfigFromEnv } from "../../src/config.js"
import { applyMigrations, type RawSqlite, tuneSqlite } from "../../src/layers/sql/migrate.js"
import { SELECT_USER, type UserRow } from "../../src/layers/sql/rows.js"
import { type HandStore, makeHandle, SELECT_API_KEY } from "./handwritten-endpoint.js"

/** What this file needs of Deno, when it runs there. */
declare const Deno:
  | undefined
  | {
    serve(
      options: { port: number; hostname: string; onListen?: () => void },
      handler: (request: Request) => Promise<Response>
    ): { shutdown(): Promise<void> }
    addSignalListener(signal: "SIGTERM", handler: () => void): void
  }

/** An SQLite connection as migrate.ts takes it, and the statement calls used here: bun:sqlite and node:sqlite share them. */
interface Connection extends RawSqlite {
  prepare(sql: string): ReturnType<RawSqlite["prepare"]> & { get(...params: Array<string | number | null>): unknown }
  close(): unknown
}

const file = join(process.env.USERS_API_DATA_DIR ?? "data", "users.sqlite")
const db: Connection = typeof Deno === "undefined"
  ? new (await import("bun:sqlite")).Database(file, { readwrite: true })
  : new (await import("node:sqlite")).DatabaseSync(file)
tuneSqlite(db)
applyMigrations(db)
// Statements prepared once and kept, as bun:sqlite's query() would.
const prepared = new Map<string, ReturnType<Connection["prepare"]>>()
const statement = (sql: string) => {
  let found = prepared.get(sql)
  if (found === undefined) prepared.set(sql, found = db.prepare(sql))
  return found
}

/** One transaction per write, rolled back if anything in it throws. */
const store: HandStore = {
  organizationOfKey: (hash) =>
    (statement(SELECT_API_KEY).get(hash) as { organization_id: string } | null | undefined)?.organization_id,
  update: (organizationId, userId, change) => {
    statement("BEGIN").run()
    try {
      const { result, statements } = change(
        (statement(SELECT_USER).get(organizationId, userId) ?? null) as UserRow | null
      )
      for (const s of statements) statement(s.sql).run(...s.params)
      statement("COMMIT").run()
      return result
    } catch (error) {
      statement("ROLLBACK").run()
      throw error
    }
  }
}

/** The endpoint, as a fetch handler: what the server below serves, and what profile.ts calls in-process. */
export const handle = makeHandle(jwtConfigFromEnv(process.env), store)

/**
 * Serves `handle` on the runtime's own server (Bun.serve, Deno.serve) until SIGTERM. (Wrapped: Bun.serve passes the
 * server as a second argument, which `handle` would take for its log sink.)
 */
const serve = () => {
  const fetch = (request: Request) => handle(request)
  const port = Number(process.env.PORT ?? 8790)
  const hostname = process.env.HOST ?? "127.0.0.1"
  const runtime = typeof Deno === "undefined" ? "Bun" : "Deno"
  const stop: () => Promise<void> = typeof Deno === "undefined"
    ? (() => {
      // Bun's own bound on any body, chunked ones too; the 16 KiB rule is above.
      const server = Bun.serve({ port, hostname, maxRequestBodySize: 1024 * 1024, fetch })
      return () => server.stop(true)
    })()
    : (() => {
      const server = Deno.serve({ port, hostname, onListen: () => {} }, fetch)
      return () => server.shutdown()
    })()
  console.log(`users-api hand-written baseline (${runtime}) listening on http://${hostname}:${port}`)
  const onTerm = async () => {
    await stop()
    db.close() // checkpoints the WAL, as the service's dispose does
    process.exit(0)
  }
  if (typeof Deno === "undefined") process.on("SIGTERM", onTerm)
  else Deno.addSignalListener("SIGTERM", onTerm)
}

if (import.meta.main) serve()
