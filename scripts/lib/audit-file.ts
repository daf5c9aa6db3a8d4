/**
 * The check of `npm run audit:verify`, for any SQLite file of the service (Bun's, Deno's, or the one behind local
 * D1): read every event, checkpoint and user version and verify them (src/audit/verify.ts). The benchmarks import it
 * too, so that their "chain verified" is the same check as the command's and follows it when it changes. It only
 * reads.
 */
import { Database } from "bun:sqlite"
import { type AuditReport, type StoredEvent, verifyAudit } from "../../src/audit/verify.js"
import { readAuditInput } from "../../src/layers/sql/audit-input.js"

export interface AuditFileCheck extends AuditReport {
  /** Every event of the file, in commit order. */
  readonly events: ReadonlyArray<StoredEvent>
}

export const verifyAuditFile = (filename: string): AuditFileCheck => {
  const db = new Database(filename, { readonly: true })
  try {
    const input = readAuditInput((sql) => db.query(sql).all())
    return { ...verifyAudit(input), events: input.events }
  } finally {
    db.close()
  }
}
