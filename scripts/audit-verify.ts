/**
 * npm run audit:verify -- --db <sqlite file>      (or --runtime bun|deno|worker for the local databases)
 *
 * Verifies a store's audit trail (src/audit/verify.ts): every user's chain, the organization-wide chain of the events
 * before migration 0004, every checkpoint, and each row's version. Prints, per organization, up to which checkpoint
 * its history is sealed, and exits 1 naming the first break (an edited, deleted, swapped or truncated event).
 * It only reads: a broken chain is reported, never repaired.
 */
import { Database } from "bun:sqlite"
import { existsSync, readdirSync } from "node:fs"
import { join } from "node:path"
import type { Break } from "../src/audit/verify.js"
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
const result = verifyAuditFile(file)
const organizations = Object.entries(result.organizations)
if (result.broken === undefined) {
  console.log(`audit trail OK: ${result.checked} events checked in ${organizations.length} organization(s) (${file})`)
  for (const [organizationId, audit] of organizations) {
    const sealed = audit.checkpoint === undefined
      ? "no checkpoint yet"
      : `sealed up to checkpoint ${audit.checkpoint.sequence} (event ${audit.checkpoint.upToEventSequence}), hash ` +
        audit.checkpoint.hash
    console.log(
      `  ${organizationId}: ${audit.events} events of ${audit.users} users, ${sealed}; ` +
        `${audit.unsealedEvents} later events protected by their users' links only` +
        (audit.redactedEvents === 0 ? "" : `; ${audit.redactedEvents} erased events checked by link, not content`)
    )
  }
  process.exit(0)
}
const broken = result.broken
const why: Record<Break["reason"], string> = {
  "version-gap": "a version of this user is missing (an event deleted)",
  "prev-hash": "this event does not link to the user's one before it (events reordered or replaced)",
  hash: "this event's content does not match its hash (edited)",
  "legacy-missing": "an event of the organization-wide chain (before migration 0004) is missing",
  "legacy-prev-hash": "an event of the organization-wide chain does not link to the one before it",
  "legacy-hash": "an event of the organization-wide chain does not match its hash (edited)",
  "checkpoint-missing": "a checkpoint is missing",
  "checkpoint-prev-hash": "this checkpoint does not link to the one before it",
  "checkpoint-hash": "this checkpoint's content does not match its hash (edited)",
  "checkpoint-order": "this checkpoint seals less than the one before it",
  "checkpoint-count": "the events this checkpoint sealed are not all there (deleted, or added since)",
  "checkpoint-root": "the users' heads this checkpoint sealed are not the stored ones (events rewritten)",
  "organization-sequence": "the organization's event numbers skip or repeat one here (an event deleted or added)",
  "row-version": "this user's row is at a version its events do not reach (its newest events deleted)"
}
const where = "checkpoint" in broken
  ? `at checkpoint ${broken.checkpoint}`
  : "chainSequence" in broken
  ? `at chain sequence ${broken.chainSequence}`
  : "organizationSequence" in broken
  ? `at event number ${broken.organizationSequence}`
  : `at user ${broken.aggregateId} version ${broken.version}` +
    ("eventId" in broken ? ` (event ${broken.eventId})` : "")
console.error(
  `audit trail BROKEN in organization ${broken.organizationId} ${where}: ${why[broken.reason]}. ` +
    `${result.checked} events verified before it.`
)
process.exit(1)
