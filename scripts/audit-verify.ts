/**
 * npm run audit:verify -- --db <sqlite file>      (or --runtime bun|deno|worker for the local databases)
 *
 * Walks every organization's audit chain in a store, recomputes each link, prints the number of events checked
 * and each head, and exits 1 naming the first broken link (an edited, deleted or reordered event).
 * It only reads: a broken chain is reported, never repaired.
 */
import { Database } from "bun:sqlite"
import { existsSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { DATA_DIR } from "../src/dev/state.js"
import { verifyAuditFile } from "./lib/audit-file.js"

const usage = "usage: npm run audit:verify -- --db <sqlite file> | --runtime bun|deno|worker"

const fail = (message: string, code = 2): never => {
  console.error(message)
  process.exit(code)
}

const argument = (name: string) => {
  const index = process.argv.indexOf(name)
  return index === -1 ? undefined : process.argv[index + 1] ?? fail(usage)
}

/** Wrangler keeps local D1 as an SQLite file per database; the one holding an events table is ours. */
const localD1File = (): string => {
  const dir = join(process.cwd(), ".wrangler", "state", "v3", "d1", "miniflare-D1DatabaseObject")
  const candidates = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".sqlite")) : []
  for (const file of candidates) {
    const db = new Database(join(dir, file), { readonly: true })
    const found = db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'events'").get()
    db.close()
    if (found) return join(dir, file)
  }
  return fail(`no local D1 database with an events table under ${dir}; run npm run dev:worker first`)
}

const databaseFile = (): string => {
  const db = argument("--db")
  if (db !== undefined) return existsSync(db) ? db : fail(`no such file: ${db}`)
  switch (argument("--runtime") ?? "bun") {
    case "bun":
      return join(DATA_DIR, "users.sqlite")
    case "deno":
      return join(DATA_DIR, "users-deno.sqlite")
    case "worker":
      return localD1File()
    default:
      return fail(usage)
  }
}

const file = databaseFile()
if (!existsSync(file)) fail(`no such file: ${file}`)
const result = await verifyAuditFile(file)
const organizations = Object.keys(result.heads).length
if (result.broken === undefined) {
  console.log(`audit chain OK: ${result.checked} events checked in ${organizations} organization(s) (${file})`)
  for (const [organizationId, head] of Object.entries(result.heads)) {
    console.log(`  head ${organizationId}: sequence ${head.sequence}, hash ${head.hash}`)
  }
  process.exit(0)
}
const broken = result.broken
const why = {
  missing: "an event is missing here (deleted, or the chain was reordered)",
  "prev-hash": "this event does not link to the one before it (events reordered or replaced)",
  hash: "this event's content does not match its hash (edited)"
}[broken.reason]
console.error(
  `audit chain BROKEN in organization ${broken.organizationId} at chain sequence ${broken.chainSequence}` +
    ("eventId" in broken ? ` (event ${broken.eventId})` : "") + `: ${why}. ` +
    `${result.checked} links verified before it.`
)
process.exit(1)
