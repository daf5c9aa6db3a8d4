// node:crypto (workerd: nodejs_compat) through process.getBuiltinModule, so no bundler resolves it. Synchronous:
// Web Crypto's thread hop cost more than the hash itself on every request.
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

export const hexOf = (bytes: Uint8Array): string => {
  let text = ""
  for (let i = 0; i < bytes.length; i++) text += HEX[bytes[i]!]
  return text
}

// The one-shot form costs about half of createHash for the short texts of every write (BENCHMARKS.md).
const oneShot = typeof nodeCrypto?.hash === "function" ? nodeCrypto.hash : undefined

export const sha256Hex = (value: string | Uint8Array): string =>
  oneShot !== undefined ? oneShot("sha256", value, "hex") : crypto().createHash("sha256").update(value).digest("hex")

export const hmacSha256 = (key: string | Uint8Array, value: string | Uint8Array): Buffer =>
  crypto().createHmac("sha256", key).update(value).digest()

export const hmacSha256Hex = (key: string | Uint8Array, value: string | Uint8Array): string =>
  crypto().createHmac("sha256", key).update(value).digest("hex")
