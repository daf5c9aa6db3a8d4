/**
 * SHA-256 and HMAC-SHA-256 as lowercase hex, computed at once by node:crypto in every runtime this service runs on:
 * Bun, Deno and Node have it, and workerd has it with the `nodejs_compat` flag (wrangler.toml). It is looked up
 * with `process.getBuiltinModule` rather than imported, so no bundler has to resolve it. Synchronous on purpose:
 * Web Crypto's digest hops to another thread and back, which cost more than the hash itself on every request.
 */
import type * as NodeCrypto from "node:crypto"

const nodeCrypto = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
  ?.getBuiltinModule?.("node:crypto") as typeof NodeCrypto | undefined

const crypto = (): typeof NodeCrypto => {
  if (nodeCrypto === undefined) {
    throw new Error("node:crypto is not available: on Cloudflare Workers, enable the nodejs_compat flag")
  }
  return nodeCrypto
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"))

/** Bytes as lowercase hex, two digits each. */
export const hexOf = (bytes: Uint8Array): string => {
  let text = ""
  for (let i = 0; i < bytes.length; i++) text += HEX[bytes[i]!]
  return text
}

// The one-shot form (Node 20.12+, Bun, Deno) skips the Hash object: about half the cost of createHash for the short
// texts hashed on every write (BENCHMARKS.md). Where a runtime lacks it, createHash.
const oneShot = typeof nodeCrypto?.hash === "function" ? nodeCrypto.hash : undefined

/** Strings are hashed as UTF-8. */
export const sha256Hex = (value: string | Uint8Array): string =>
  oneShot !== undefined ? oneShot("sha256", value, "hex") : crypto().createHash("sha256").update(value).digest("hex")

export const hmacSha256 = (key: string | Uint8Array, value: string | Uint8Array): Buffer =>
  crypto().createHmac("sha256", key).update(value).digest()

export const hmacSha256Hex = (key: string | Uint8Array, value: string | Uint8Array): string =>
  crypto().createHmac("sha256", key).update(value).digest("hex")
