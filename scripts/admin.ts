/**
 * `npm run -s admin -- <command> … <where>` (or `bun scripts/admin.ts …`): organizations and their API keys.
 *
 *   create-org <organizationId> <name> [--shard N]
 *                                          creates the organization (nothing happens if it exists); on Workers,
 *                                          with its data on shard N: the directory DB says so and DB_N gets the row
 *   issue-key <organizationId> <label>     issues a key and prints it ONCE; only its SHA-256 is stored
 *   revoke-key <keyId>                     revokes a key: refused (401) once the servers' key cache lets go of it
 *   list-keys <organizationId>             the organization's keys: id, label, created, revoked (never the key)
 *
 * moving an organization to another D1 shard (docs/PRODUCTION.md, "Tenants across databases"; src/admin/shards.ts):
 *   init-shard <N>                         on DB_N, once, before it holds events: its range of event numbers
 *   freeze-org <organizationId>            in the directory: no shard, so its requests answer 503 for the move
 *   export-org <organizationId> <from> <to> prints (stdout) the SQL that copies it from shard <from> to <to>
 *   route-org <organizationId> <N>         in the directory: its data is on shard N
 *   forget-moved-org <organizationId> <N>  on the shard it left: its raw numbers, kept answers and webhooks go
 *
 * where the statement runs, exactly one of:
 *   --remote [--env NAME]                  the deployed D1 database (wrangler d1 execute DB --remote [--env NAME])
 *   --local [--env NAME] [--persist-to DIR] the local D1 of `npm run dev:worker` (wrangler d1 execute DB --local)
 *   --db FILE                              an SQLite file of the Bun or Deno server, e.g. data/users.sqlite
 *   --print                                only print the SQL, to run it yourself (the key is printed with it)
 *
 * The SQL comes from src/admin/tenants.ts. The new key goes to stdout alone; everything else goes to stderr.
 */
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { parseArgs } from "node:util"
import {
  exportOrganizationSql,
  forgetMovedOrganizationSql,
  initShardSql,
  routeOrganizationSql,
  type Row as ShardRow
} from "../src/admin/shards.js"
import { createOrganizationSql, issueApiKeySql, revokeApiKeySql } from "../src/admin/tenants.js"
import { API_KEY_CACHE_DEFAULTS } from "../src/layers/auth/api-key-cache.js"

const usage =
  `usage: bun scripts/admin.ts <command> <arguments> (--remote | --local [--persist-to DIR] | --db FILE | --print) [--env NAME]
  create-org <organizationId> <name> [--shard N]
  issue-key <organizationId> <label>
  revoke-key <keyId>
  list-keys <organizationId>
  init-shard <N> | freeze-org <organizationId> | export-org <organizationId> <from> <to>
  route-org <organizationId> <N> | forget-moved-org <organizationId> <N>`

const fail = (message: string, code = 2): never => {
  console.error(`admin: ${message}`)
  if (code === 2) console.error(usage)
  process.exit(code)
}

const { positionals, values: options } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        remote: { type: "boolean" },
        local: { type: "boolean" },
        "persist-to": { type: "string" },
        env: { type: "string" },
        db: { type: "string" },
        print: { type: "boolean" },
        shard: { type: "string" }
      }
    })
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error))
  }
})()

const [command, ...args] = positionals
const COMMANDS = [
  "create-org",
  "issue-key",
  "revoke-key",
  "list-keys",
  "init-shard",
  "freeze-org",
  "export-org",
  "route-org",
  "forget-moved-org"
]
if (command === undefined || !COMMANDS.includes(command)) {
  fail(command === undefined ? "no command" : `unknown command ${JSON.stringify(command)}`)
}
const ID = /^[A-Za-z0-9_-]{1,64}$/
const quote = (value: string) => `'${value.replace(/'/g, "''")}'`
const argument = (index: number, what: string, rule: RegExp = /^.{1,200}$/) => {
  const value = args[index]
  if (value === undefined) return fail(`${command} needs ${what}`)
  if (!rule.test(value)) return fail(`${what} ${JSON.stringify(value)} is not valid (${rule.source})`)
  return value
}

const shardArgument = (index: number, what = "a shard number") => Number(argument(index, what, /^[0-9]{1,4}$/))
/** The D1 binding of shard N: DB (the directory) is shard 0. */
const bindingOf = (shard: number) => shard === 0 ? "DB" : `DB_${shard}`

type Where =
  | { readonly kind: "remote"; readonly env?: string | undefined }
  | { readonly kind: "local"; readonly env?: string | undefined; readonly persistTo?: string | undefined }
  | { readonly kind: "db"; readonly file: string }
  | { readonly kind: "print" }

const where = ((): Where => {
  const chosen = [options.remote, options.local, options.db !== undefined, options.print].filter(Boolean).length
  if (chosen !== 1) return fail("say where the statement runs: one of --remote, --local, --db FILE, --print")
  if (options.remote) return { kind: "remote", env: options.env }
  if (options.local) return { kind: "local", env: options.env, persistTo: options["persist-to"] }
  if (options.db !== undefined) {
    if (!existsSync(options.db)) fail(`no such file: ${options.db} (start the server once to create it)`, 1)
    return { kind: "db", file: options.db }
  }
  return { kind: "print" }
})()

type Row = Record<string, unknown>

const explain = (reason: string) =>
  /FOREIGN KEY/i.test(reason) && command === "issue-key"
    ? `${reason} (no organization ${args[0]}? create it first: create-org ${args[0]} <name>)`
    : reason

/**
 * Runs one statement where asked and returns its rows (statements end in RETURNING to show what they changed); on
 * D1, in the database bound as `binding` (DB, the directory, unless a shard's DB_N).
 */
const execute = async (sql: string, binding = "DB"): Promise<Array<Row>> => {
  switch (where.kind) {
    case "print":
      process.stderr.write(binding === "DB" ? `${sql}\n` : `-- on ${binding}:\n${sql}\n`)
      return []
    case "db": {
      const { Database } = await import("bun:sqlite")
      const db = new Database(where.file, { readwrite: true, create: false })
      try {
        db.exec("PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;")
        // The SQL of src/admin puts one statement on a line when it has several.
        return sql.split("\n").flatMap((statement) => db.query(statement).all() as Array<Row>)
      } catch (error) {
        return fail(`the statement failed: ${explain(error instanceof Error ? error.message : String(error))}`, 1)
      } finally {
        db.close()
      }
    }
    case "local":
    case "remote": {
      const wrangler = join(import.meta.dir, "..", "node_modules", ".bin", "wrangler")
      const flags = [
        where.kind === "remote" ? "--remote" : "--local",
        ...(where.env !== undefined ? ["--env", where.env] : []),
        ...(where.kind === "local" && where.persistTo !== undefined ? ["--persist-to", where.persistTo] : [])
      ]
      const result = spawnSync(wrangler, ["d1", "execute", binding, ...flags, "--json", "--command", sql], {
        encoding: "utf8",
        env: { WRANGLER_SEND_METRICS: "false", ...process.env },
        stdio: ["ignore", "pipe", "pipe"]
      })
      if (result.error) return fail(`could not run wrangler: ${result.error.message}`, 1)
      let parsed: any
      try {
        parsed = JSON.parse(result.stdout)
      } catch {
        parsed = undefined
      }
      if (result.status !== 0 || !Array.isArray(parsed)) {
        const reason = parsed?.error?.text ?? `${result.stdout}${result.stderr}`.trim()
        return fail(`wrangler d1 execute failed: ${explain(String(reason))}`, 1)
      }
      return parsed.flatMap((statement: { results?: Array<Row> }) => statement.results ?? [])
    }
  }
}

const returning = (sql: string) => sql.replace(/;\s*$/, " RETURNING id;")
const now = new Date().toISOString()
const target = where.kind === "print" ? "" : ` (${where.kind === "db" ? where.file : `${where.kind} D1`})`

switch (command) {
  case "create-org": {
    const id = argument(0, "an organization id", ID)
    const name = argument(1, "a name")
    const shard = Number(options.shard ?? "0")
    if (!Number.isInteger(shard) || shard < 0) fail(`--shard ${JSON.stringify(options.shard)} is not a shard number`)
    if (shard > 0 && where.kind === "db") fail("an SQLite file is one store: --shard is for D1 (--remote, --local)")
    // The shard's copy first: were the directory's written first and this one failed, the directory would route
    // the organization to a database without it.
    if (shard > 0) await execute(createOrganizationSql(id, name, now, shard), `DB_${shard}`)
    const rows = await execute(returning(createOrganizationSql(id, name, now, shard)))
    if (where.kind !== "print") {
      console.error(
        rows.length > 0
          ? `Created organization ${id}${target}.`
          : `Organization ${id} exists already${target}; nothing changed.`
      )
    }
    break
  }
  case "issue-key": {
    const organizationId = argument(0, "an organization id", ID)
    const label = argument(1, "a label")
    const keyId = `key_${crypto.randomUUID().replace(/-/g, "").slice(0, 24)}`
    const { apiKey, sql } = await issueApiKeySql(organizationId, label, keyId, now)
    // An unknown organization fails the foreign key, so no key is printed for it.
    const rows = await execute(returning(sql))
    if (where.kind !== "print" && rows.length !== 1) fail(`the key was not stored${target}; nothing was issued`, 1)
    console.error(
      where.kind === "print"
        ? `The key below works once the SQL above has run. Key id: ${keyId}.`
        : `Issued key ${keyId} for ${organizationId}${target}. It is shown once, now; only its SHA-256 is stored:`
    )
    process.stdout.write(`${apiKey}\n`)
    break
  }
  case "revoke-key": {
    const keyId = argument(0, "a key id", /^[A-Za-z0-9_-]{1,80}$/)
    const rows = await execute(returning(revokeApiKeySql(keyId, now)))
    if (where.kind !== "print") {
      if (rows.length === 0) fail(`no active key ${keyId}${target}: unknown, or revoked already`, 1)
      // Servers trust a key they found for a bounded time (src/layers/auth/api-key-cache.ts).
      console.error(
        `Revoked key ${keyId}${target}. Requests with it are refused within ${API_KEY_CACHE_DEFAULTS.ttlMs / 1000} s.`
      )
    }
    break
  }
  case "list-keys": {
    const organizationId = argument(0, "an organization id", ID)
    const rows = await execute(
      `SELECT id, label, created_at, revoked_at FROM api_keys WHERE organization_id = ${
        quote(organizationId)
      } ORDER BY created_at;`
    )
    if (where.kind !== "print") process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`)
    break
  }
  case "init-shard": {
    const shard = shardArgument(0)
    if (shard === 0) fail("shard 0 is the directory (DB): its events are numbered from 1 already")
    await execute(initShardSql(shard), bindingOf(shard))
    if (where.kind !== "print") console.error(`Shard ${shard} numbers its events from ${shard} × 2^40${target}.`)
    break
  }
  case "freeze-org": {
    const id = argument(0, "an organization id", ID)
    await execute(routeOrganizationSql(id, null))
    if (where.kind !== "print") {
      console.error(`${id} is routed nowhere${target}: within 60 s every isolate answers its requests 503.`)
    }
    break
  }
  case "route-org": {
    const id = argument(0, "an organization id", ID)
    const shard = shardArgument(1)
    await execute(routeOrganizationSql(id, shard))
    if (where.kind !== "print") console.error(`${id} is served from shard ${shard} (${bindingOf(shard)})${target}.`)
    break
  }
  case "export-org": {
    const id = argument(0, "an organization id", ID)
    const from = shardArgument(1, "the shard it is on")
    const to = shardArgument(2, "the shard it moves to")
    if (where.kind === "print") fail("export-org reads the shard it copies: use --remote, --local or --db FILE")
    const statements = await Effect.runPromise(
      Effect.either(
        exportOrganizationSql(
          (sql) => Effect.promise(() => execute(sql, bindingOf(from)) as Promise<Array<ShardRow>>),
          id,
          from,
          to
        )
      )
    )
    if (statements._tag === "Left") fail(statements.left.message, 1)
    else process.stdout.write(`${statements.right.join("\n")}\n`)
    break
  }
  case "forget-moved-org": {
    const id = argument(0, "an organization id", ID)
    const shard = shardArgument(1, "the shard it left")
    await execute(forgetMovedOrganizationSql(id), bindingOf(shard))
    if (where.kind !== "print") {
      console.error(`${id}'s raw numbers and kept answers are gone from shard ${shard}${target}.`)
    }
    break
  }
}
