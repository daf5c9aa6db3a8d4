// Standard Webhooks (https://www.standardwebhooks.com), symmetric scheme. Sender and receiver (verify.ts) sign
// with the same function, so they cannot disagree on what is signed. Web Crypto only: runs wherever a client runs.

/** A bare base64 secret is accepted too, as the reference libraries do. */
export const SECRET_PREFIX = "whsec_"

export const MIN_SECRET_BYTES = 24
const SECRET_BYTES = 32

export const WEBHOOK_HEADERS = {
  id: "webhook-id",
  timestamp: "webhook-timestamp",
  signature: "webhook-signature"
} as const

export const secretBytes = (secret: string): Uint8Array<ArrayBuffer> => {
  if (typeof secret !== "string") throw new TypeError("A webhook secret is a string, whsec_<base64>.")
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret
  const bytes = fromBase64(encoded)
  if (bytes === undefined || bytes.length === 0) {
    throw new TypeError("A webhook secret is whsec_ and the base64 of at least one byte.")
  }
  return bytes
}

export const generateWebhookSecret = (): string =>
  SECRET_PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)))

const keys = new Map<string, Promise<CryptoKey>>()

const hmacKey = (secret: string): Promise<CryptoKey> => {
  let key = keys.get(secret)
  if (key === undefined) {
    const bytes = secretBytes(secret)
    key = crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"])
    // Bounded so that a stream of different secrets cannot grow it.
    if (keys.size >= 64) keys.clear()
    keys.set(secret, key)
  }
  return key
}

const encoder = new TextEncoder()

const signedContent = (id: string, timestamp: string, body: string | Uint8Array): Uint8Array<ArrayBuffer> => {
  const head = encoder.encode(`${id}.${timestamp}.`)
  const rest = typeof body === "string" ? encoder.encode(body) : body
  const content = new Uint8Array(head.length + rest.length)
  content.set(head)
  content.set(rest, head.length)
  return content
}

export const webhookHmac = async (
  secret: string,
  id: string,
  timestamp: string,
  body: string | Uint8Array
): Promise<Uint8Array> =>
  new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret), signedContent(id, timestamp, body)))

export const timestampOf = (timestamp: Date | number): string => {
  const seconds = timestamp instanceof Date ? Math.floor(timestamp.getTime() / 1000) : timestamp
  if (!Number.isSafeInteger(seconds) || seconds < 0) {
    throw new TypeError("A webhook timestamp is a Date or whole, non-negative Unix seconds.")
  }
  return String(seconds)
}

/** An id with a `.` could pass for another id and timestamp (the signed content is split on dots). */
const checkToSign = (secret: string, id: string) => {
  if (id === "" || /[\s.]/.test(id)) {
    throw new TypeError("A webhook id is a non-empty string without '.' or white space.")
  }
  if (secretBytes(secret).length < MIN_SECRET_BYTES) {
    throw new TypeError(`A webhook secret must have at least ${MIN_SECRET_BYTES} bytes.`)
  }
}

export const signWebhook = async (
  secret: string,
  id: string,
  timestamp: Date | number,
  body: string | Uint8Array
): Promise<string> => {
  checkToSign(secret, id)
  return `v1,${toBase64(await webhookHmac(secret, id, timestampOf(timestamp), body))}`
}

/** One signature per secret while a secret is rotated; a receiver accepts any valid one. */
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

export const toBase64 = (bytes: Uint8Array): string => {
  let binary = ""
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!)
  return btoa(binary)
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/

export const fromBase64 = (text: string): Uint8Array<ArrayBuffer> | undefined => {
  if (!BASE64.test(text)) return undefined
  const binary = atob(text)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}
