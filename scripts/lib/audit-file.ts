/**
 * The check of `npm run audit:verify`, for any SQLite file of the service (Bun's, Deno's, or the one behind local
 * D1): read every event in chain order and recompute each organization's chain (src/audit/chain.ts). The benchmarks
 * import it too, so that their "chain verified" is the same check as the command's and follows it when it changes.
 * It only reads.
 */
import { Database } from "bun:sqlite"
import { type StoredLink, type Verification, verifyChain } from "../../src/audit/chain.js"
import { type EventRow, SELECT_CHAIN, toStoredLink } from "../../src/layers/sql/rows.js"

export interface AuditFileCheck extends Verification {
  /** Every event of the file, in (organization, chain sequence) order. */
  readonly links: ReadonlyArray<StoredLink>
}

export const verifyAuditFile = async (filename: string): Promise<AuditFileCheck> => {
  const db = new Database(filename, { readonly: true })
  let rows: Array<EventRow>
  try {
    rows = db.query(SELECT_CHAIN).all() as Array<EventRow>
  } finally {
    db.close()
  }
  const links = rows.map(toStoredLink)
  return { ...(await verifyChain(links)), links }
}
