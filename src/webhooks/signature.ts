/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com), symmetric scheme: the signature of a webhook is
 * `v1,` and the base64 of HMAC-SHA-256 under the secret's bytes of `${webhook-id}.${webhook-timestamp}.${body}`, sent
 * in `webhook-signature` beside `webhook-id` and `webhook-timestamp` (Unix seconds). A secret is `whsec_` and the
 * base64 of its bytes. The sender signs here (`signWebhook`, `webhookHeaders`); a receiver verifies with
 * `verifyWebhook` (verify.ts, beside this), which computes the signature with the same function, so sender and
 * receiver cannot disagree on what is signed.
 *
 * Web Crypto only (`crypto.subtle`, `atob`, `btoa`), so it runs wherever a client runs: Node 20+, Bun, Deno,
 * Workers and browsers. Asynchronous, as Web Crypto is.
 */

/** The prefix of a symmetric secret; a bare base64 secret is accepted too, as the reference libraries do. */
export const SECRET_PREFIX = "whsec_"

/** What Standard Webhooks asks of a symmetric secret, and what `generateWebhookSecret` makes. */
export const MIN_SECRET_BYTES = 24
const SECRET_BYTES = 32

export const WEBHOOK_HEADERS = {
  id: "webhook-id",
  timestamp: "webhook-timestamp",
  signature: "webhook-signature"
} as const

/** The bytes of a `whsec_<base64>` secret (or of a bare base64 one); an empty or malformed secret throws. */
export const secretBytes = (secret: string): Uint8Array<ArrayBuffer> => {
  if (typeof secret !== "string") throw new TypeError("A webhook secret is a string, whsec_<base64>.")
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret
  const bytes = fromBase64(encoded)
  if (bytes === undefined || bytes.length === 0) {
    throw new TypeError("A webhook secret is whsec_ and the base64 of at least one byte.")
  }
  return bytes
}

/** A fresh secret for an endpoint: 32 random bytes, as `whsec_<base64>`. */
export const generateWebhookSecret = (): string =>
  SECRET_PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)))

const keys = new Map<string, Promise<CryptoKey>>()

/** The secret as a Web Crypto HMAC key, imported once per secret (a receiver verifies with the same few secrets). */
const hmacKey = (secret: string): Promise<CryptoKey> => {
  let key = keys.get(secret)
  if (key === undefined) {
    const bytes = secretBytes(secret)
    key = crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"])
    // A handful of secrets per process; bound it anyway so that a stream of different secrets cannot grow it.
    if (keys.size >= 64) keys.clear()
    keys.set(secret, key)
  }
  return key
}

const encoder = new TextEncoder()

/** The bytes that are signed: `${id}.${timestamp}.` and the body's exact bytes (a string as UTF-8). */
const signedContent = (id: string, timestamp: string, body: string | Uint8Array): Uint8Array<ArrayBuffer> => {
  const head = encoder.encode(`${id}.${timestamp}.`)
  const rest = typeof body === "string" ? encoder.encode(body) : body
  const content = new Uint8Array(head.length + rest.length)
  content.set(head)
  content.set(rest, head.length)
  return content
}

/** The raw HMAC-SHA-256 of a webhook; verify.ts compares it with what a request carries. */
export const webhookHmac = async (
  secret: string,
  id: string,
  timestamp: string,
  body: string | Uint8Array
): Promise<Uint8Array> =>
  new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret), signedContent(id, timestamp, body)))

/** A timestamp as the header carries it: whole Unix seconds. */
export const timestampOf = (timestamp: Date | number): string => {
  const seconds = timestamp instanceof Date ? Math.floor(timestamp.getTime() / 1000) : timestamp
  if (!Number.isSafeInteger(seconds) || seconds < 0) {
    throw new TypeError("A webhook timestamp is a Date or whole, non-negative Unix seconds.")
  }
  return String(seconds)
}

/**
 * The sender's checks on what it signs: the id must not contain `.` (the spec's rule: the signed content is split on
 * dots, so an id with one could pass for another id and timestamp), and a secret must have at least 24 bytes.
 */
const checkToSign = (secret: string, id: string) => {
  if (id === "" || /[\s.]/.test(id)) {
    throw new TypeError("A webhook id is a non-empty string without '.' or white space.")
  }
  if (secretBytes(secret).length < MIN_SECRET_BYTES) {
    throw new TypeError(`A webhook secret must have at least ${MIN_SECRET_BYTES} bytes.`)
  }
}

/**
 * The `webhook-signature` value of a webhook under one secret: `v1,<base64 HMAC-SHA256>`. `timestamp` is a Date or
 * Unix seconds; `body` the exact bytes that will be sent (a string is sent as UTF-8).
 */
export const signWebhook = async (
  secret: string,
  id: string,
  timestamp: Date | number,
  body: string | Uint8Array
): Promise<string> => {
  checkToSign(secret, id)
  return `v1,${toBase64(await webhookHmac(secret, id, timestampOf(timestamp), body))}`
}

/**
 * The three headers of a webhook. With several secrets (the new one and the one it replaces, while an endpoint's
 * secret is rotated) the signature header carries one signature per secret, space-separated; a receiver accepts the
 * webhook when any of them is valid under its secret.
 */
export const webhookHeaders = async (
  secrets: string | ReadonlyArray<string>,
  id: string,
  timestamp: Date | number,
  body: string | Uint8Array
): Promise<Record<(typeof WEBHOOK_HEADERS)[keyof typeof WEBHOOK_HEADERS], string>> => {
  const all = typeof secrets === "string" ? [secrets] : secrets
  if (all.length === 0) throw new TypeError("At least one webhook secret is needed.")
  const signatures = await Promise.all(all.map((secret) => signWebhook(secret, id, timestamp, body)))
  return {
    [WEBHOOK_HEADERS.id]: id,
    [WEBHOOK_HEADERS.timestamp]: timestampOf(timestamp),
    [WEBHOOK_HEADERS.signature]: signatures.join(" ")
  }
}

/** Standard base64 (with padding), as the signatures and secrets are written. */
export const toBase64 = (bytes: Uint8Array): string => {
  let binary = ""
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!)
  return btoa(binary)
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/

/** Standard base64 (padding optional) as bytes; undefined when it is not base64. */
export const fromBase64 = (text: string): Uint8Array<ArrayBuffer> | undefined => {
  if (!BASE64.test(text)) return undefined
  const binary = atob(text)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}
