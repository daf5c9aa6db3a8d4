// No imports, so the typed client's feed check (feed.ts) hashes the very same text as the server's chain.

export const GENESIS_HASH = "0".repeat(64)

// Printable ASCII but `"` and `\`: its JSON is the string in quotes. Skipping JSON.stringify for these is
// about a third of this function's time on a write (BENCHMARKS.md).
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/

const quote = (text: string): string => PLAIN.test(text) ? `"${text}"` : JSON.stringify(text)

/** Keys sorted at every level, no whitespace: one text per value. */
export const canonicalJson = (value: unknown): string => {
  if (typeof value === "string") return quote(value)
  if (value === null || typeof value !== "object") return JSON.stringify(value)
  if (Array.isArray(value)) {
    let text = "["
    // As Array.prototype.join does, so texts already hashed keep verifying.
    for (let i = 0; i < value.length; i++) text += (i === 0 ? "" : ",") + (canonicalJson(value[i]) ?? "")
    return text + "]"
  }
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
