/**
 * SHA-256 (and its keyed form, HMAC-SHA-256) as lowercase hex, the same in every runtime: node:crypto computes it at
 * once where the runtime has it (Bun, Deno, Node; looked up, not imported, so Workers bundles stay free of it), Web
 * Crypto elsewhere (Workers), whose digest hops to a worker thread and back, costing more than the hash itself.
 */
import { Effect } from "effect"
import type * as NodeCrypto from "node:crypto"

const nodeCrypto = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
  ?.getBuiltinModule?.("node:crypto") as typeof NodeCrypto | undefined

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"))

/** Bytes as lowercase hex, two digits each. */
export const hexOf = (bytes: Uint8Array): string => {
  let text = ""
  for (let i = 0; i < bytes.length; i++) text += HEX[bytes[i]!]
  return text
}

/** The hash at once where node:crypto exists, else undefined (Workers). Strings are hashed as UTF-8. */
export const sha256HexSync = (value: string | Uint8Array): string | undefined =>
  nodeCrypto?.createHash("sha256").update(value).digest("hex")

export const sha256Hex = async (value: string | Uint8Array<ArrayBuffer>): Promise<string> => {
  const now = sha256HexSync(value)
  if (now !== undefined) return now
  const bytes = typeof value === "string" ? new TextEncoder().encode(value) : value
  return hexOf(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)))
}

/** sha256Hex as an Effect, without a promise where the hash is computed at once. */
export const sha256HexEffect = (value: string | Uint8Array<ArrayBuffer>): Effect.Effect<string> => {
  const now = sha256HexSync(value)
  return now !== undefined ? Effect.succeed(now) : Effect.promise(() => sha256Hex(value))
}

/** HMAC-SHA-256 under `key` at once where node:crypto exists, else undefined (Workers). */
export const hmacSha256HexSync = (key: string, value: Uint8Array): string | undefined =>
  nodeCrypto?.createHmac("sha256", key).update(value).digest("hex")

/** HMAC-SHA-256 (hex) under `key` as an Effect; on Web Crypto the key is imported once, on first use. */
export const makeHmacSha256Hex = (key: string): (value: Uint8Array<ArrayBuffer>) => Effect.Effect<string> => {
  let imported: Promise<CryptoKey> | undefined
  const webKey = () =>
    imported ??= crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(key),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"]
    )
  return (value) => {
    const now = hmacSha256HexSync(key, value)
    return now !== undefined
      ? Effect.succeed(now)
      : Effect.promise(async () => hexOf(new Uint8Array(await crypto.subtle.sign("HMAC", await webKey(), value))))
  }
}
