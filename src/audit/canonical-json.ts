/**
 * What the audit chain hashes, in a module of its own: the genesis link and canonical JSON. No imports, so the
 * consumer's check of the feed (feed.ts, exported by the typed client) uses the very same text as the server's chain
 * (chain.ts) without loading the server's hashing.
 */

export const GENESIS_HASH = "0".repeat(64)

// Printable ASCII but `"` and `\`: the characters JSON.stringify writes as they are, so such a string's JSON is the
// string in quotes. The ids, types, times and masked numbers of an event all are; quoting them here skips a
// JSON.stringify call per key and value (about a third of this function's time on a write, BENCHMARKS.md).
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/

const quote = (text: string): string => PLAIN.test(text) ? `"${text}"` : JSON.stringify(text)

/** JSON with object keys sorted at every level and no whitespace: one text per value. */
export const canonicalJson = (value: unknown): string => {
  if (typeof value === "string") return quote(value)
  if (value === null || typeof value !== "object") return JSON.stringify(value)
  if (Array.isArray(value)) {
    let text = "["
    // An undefined item adds nothing, as Array.prototype.join leaves it (the texts already hashed keep verifying).
    for (let i = 0; i < value.length; i++) text += (i === 0 ? "" : ",") + (canonicalJson(value[i]) ?? "")
    return text + "]"
  }
  // One string built in a loop: this runs on every write.
  const record = value as Record<string, unknown>
  const keys = Object.keys(record).sort()
  let text = "{"
  let first = true
  for (const key of keys) {
    const field = record[key]
    if (field === undefined) continue
    text += (first ? "" : ",") + quote(key) + ":" + canonicalJson(field)
    first = false
  }
  return text + "}"
}
