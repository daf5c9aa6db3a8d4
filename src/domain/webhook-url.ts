/**
 * Which URLs a webhook may be sent to, and which network addresses a delivery may reach: the rules against
 * server-side request forgery (a subscription is a request our server makes to a URL a caller chose). Pure: the
 * creation of a subscription checks the URL (src/app/webhooks.ts), and on Bun and Deno each delivery checks the
 * addresses its host resolves to (src/layers/webhooks/transport.ts), against a DNS answer that changed since.
 *
 * Outside local development: https only, no credentials in the URL, no fragment, at most 2 KiB, and no host that
 * names this machine or a private network: a literal loopback, private (RFC 1918, CGNAT), link-local (the cloud
 * metadata address 169.254.169.254 among them), unique-local or otherwise reserved address, `localhost` and its
 * subdomains, a cloud metadata name, or a name without a dot (which a resolver completes with its search domains).
 * In local development (`allowLoopback`): http is accepted too, to the loopback only, and private addresses are.
 */

/** Longer URLs are refused: 2 KiB, as the issue asks and as browsers and proxies reliably carry. */
export const MAX_WEBHOOK_URL_LENGTH = 2048

export interface WebhookUrlRules {
  /** Local development: http:// to the loopback, and private addresses, are accepted. */
  readonly allowLoopback: boolean
}

export type WebhookUrlRefusal =
  | "too-long"
  | "not-a-url"
  | "not-https"
  | "credentials"
  | "fragment"
  | "private-address"
  | "local-name"

export type WebhookUrlCheck =
  | { readonly ok: true; readonly url: string }
  | { readonly ok: false; readonly refusal: WebhookUrlRefusal }

/** What each refusal says to the caller; none quotes the URL. */
export const WEBHOOK_URL_REFUSALS: Readonly<Record<WebhookUrlRefusal, string>> = {
  "too-long": `The webhook URL is longer than ${MAX_WEBHOOK_URL_LENGTH} characters.`,
  "not-a-url": "The webhook URL is not an absolute URL.",
  "not-https": "The webhook URL must use https (http is accepted only to the loopback in local development).",
  credentials: "The webhook URL must not carry a user name or password.",
  fragment: "The webhook URL must not have a #fragment.",
  "private-address": "The webhook URL names a loopback, private, link-local or reserved address.",
  "local-name": "The webhook URL names this machine or an internal host (localhost, a metadata name, no dot)."
}

// Names that reach the machine itself or a cloud's metadata service whatever DNS says.
const LOCAL_NAMES = /^(localhost|metadata|metadata\.google\.internal|instance-data)$|\.localhost$/

const ipv4Bytes = (host: string): ReadonlyArray<number> | undefined => {
  const parts = host.split(".")
  if (parts.length !== 4) return undefined
  const bytes = parts.map((part) => (/^\d{1,3}$/.test(part) ? Number(part) : Number.NaN))
  return bytes.every((b) => b >= 0 && b <= 255) ? bytes : undefined
}

/** An IPv6 address (no brackets, no zone) as 8 groups of 16 bits, an embedded IPv4 tail included. */
const ipv6Groups = (host: string): ReadonlyArray<number> | undefined => {
  let text = host.toLowerCase()
  if (!/^[0-9a-f:.]+$/.test(text) || !text.includes(":")) return undefined
  const tail = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text)
  let tailGroups: Array<number> = []
  if (tail !== null) {
    const bytes = ipv4Bytes(tail[1]!)
    if (bytes === undefined) return undefined
    tailGroups = [bytes[0]! * 256 + bytes[1]!, bytes[2]! * 256 + bytes[3]!]
    text = text.slice(0, -tail[1]!.length) + "0:0"
  }
  const halves = text.split("::")
  if (halves.length > 2) return undefined
  const parse = (
    half: string
  ) => (half === "" ? [] : half.split(":").map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16) : Number.NaN)))
  const head = parse(halves[0]!)
  const rest = halves.length === 2 ? parse(halves[1]!) : []
  const missing = 8 - head.length - rest.length
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined
  const groups = [...head, ...Array<number>(halves.length === 2 ? missing : 0).fill(0), ...rest]
  if (groups.some(Number.isNaN)) return undefined
  if (tail !== null) groups.splice(6, 2, ...tailGroups)
  return groups
}

const inV4 = (b: ReadonlyArray<number>, [net, bits]: readonly [ReadonlyArray<number>, number]) => {
  const value = (bytes: ReadonlyArray<number>) =>
    ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0
  return ((value(b) & mask) >>> 0) === ((value(net) & mask) >>> 0)
}

// Not globally routable (IANA special-purpose registry): this network, private, CGNAT, loopback, link-local (the
// metadata address), protocol assignments, documentation, benchmarking, multicast, reserved and broadcast.
const V4_NOT_PUBLIC: ReadonlyArray<readonly [ReadonlyArray<number>, number]> = [
  [[0, 0, 0, 0], 8],
  [[10, 0, 0, 0], 8],
  [[100, 64, 0, 0], 10],
  [[127, 0, 0, 0], 8],
  [[169, 254, 0, 0], 16],
  [[172, 16, 0, 0], 12],
  [[192, 0, 0, 0], 24],
  [[192, 0, 2, 0], 24],
  [[192, 88, 99, 0], 24],
  [[192, 168, 0, 0], 16],
  [[198, 18, 0, 0], 15],
  [[198, 51, 100, 0], 24],
  [[203, 0, 113, 0], 24],
  [[224, 0, 0, 0], 4],
  [[240, 0, 0, 0], 4]
]

const v4IsPublic = (bytes: ReadonlyArray<number>) => !V4_NOT_PUBLIC.some((range) => inV4(bytes, range))

const v6IsPublic = (g: ReadonlyArray<number>): boolean => {
  const v4Tail = [g[6]! >> 8, g[6]! & 255, g[7]! >> 8, g[7]! & 255]
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0)
  if (zeros(0, 8)) return false // ::
  if (zeros(0, 7) && g[7] === 1) return false // ::1
  if (zeros(0, 5) && g[5] === 0xffff) return v4IsPublic(v4Tail) // ::ffff:a.b.c.d, IPv4-mapped
  if (zeros(0, 6)) return v4IsPublic(v4Tail) // ::a.b.c.d, the deprecated IPv4-compatible form
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return v4IsPublic(v4Tail) // 64:ff9b::/96, NAT64
  if ((g[0]! & 0xfe00) === 0xfc00) return false // fc00::/7, unique local (fd00:ec2::254, AWS metadata, among them)
  if ((g[0]! & 0xffc0) === 0xfe80) return false // fe80::/10, link-local
  if ((g[0]! & 0xff00) === 0xff00) return false // ff00::/8, multicast
  if (g[0] === 0x2001 && g[1] === 0x0db8) return false // 2001:db8::/32, documentation
  if (g[0] === 0x0100 && zeros(1, 4)) return false // 100::/64, discard
  if (g[0] === 0x2002) return v4IsPublic([g[1]! >> 8, g[1]! & 255, g[2]! >> 8, g[2]! & 255]) // 6to4
  return true
}

/**
 * Whether `address` (an IPv4 or IPv6 literal, as a DNS lookup or a URL host gives it; brackets allowed) is one a
 * webhook may reach outside local development: globally routable. undefined when it is not an IP address.
 */
export const isPublicAddress = (address: string): boolean | undefined => {
  const bare = address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address
  const v4 = ipv4Bytes(bare)
  if (v4 !== undefined) return v4IsPublic(v4)
  const v6 = ipv6Groups(bare.replace(/%.*$/, ""))
  return v6 === undefined ? undefined : v6IsPublic(v6)
}

/** 127.0.0.0/8, ::1 (and ::ffff:127.x), or `localhost`: this machine. */
export const isLoopbackHost = (host: string): boolean => {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host
  if (bare === "localhost") return true
  const v4 = ipv4Bytes(bare)
  if (v4 !== undefined) return v4[0] === 127
  const v6 = ipv6Groups(bare)
  if (v6 === undefined) return false
  if (v6.slice(0, 7).every((x) => x === 0) && v6[7] === 1) return true
  return v6.slice(0, 5).every((x) => x === 0) && v6[5] === 0xffff && v6[6]! >> 8 === 127
}

/**
 * The URL a subscription may be created with, normalized as the WHATWG URL parser writes it (so `0x7f000001` is
 * seen as 127.0.0.1 and `[::ffff:7f00:1]` as the loopback), or why not.
 */
export const checkWebhookUrl = (text: string, rules: WebhookUrlRules): WebhookUrlCheck => {
  const refuse = (refusal: WebhookUrlRefusal): WebhookUrlCheck => ({ ok: false, refusal })
  if (text.length > MAX_WEBHOOK_URL_LENGTH) return refuse("too-long")
  if (!URL.canParse(text)) return refuse("not-a-url")
  const url = new URL(text)
  if (url.protocol !== "https:" && url.protocol !== "http:") return refuse("not-https")
  if (url.username !== "" || url.password !== "") return refuse("credentials")
  if (url.hash !== "" || text.includes("#")) return refuse("fragment")
  const host = url.hostname.toLowerCase()
  if (url.protocol === "http:" && !(rules.allowLoopback && isLoopbackHost(host))) return refuse("not-https")
  if (!rules.allowLoopback) {
    const publicAddress = isPublicAddress(host)
    if (publicAddress === false) return refuse("private-address")
    if (publicAddress === undefined && (LOCAL_NAMES.test(host.replace(/\.$/, "")) || !host.includes("."))) {
      return refuse("local-name")
    }
  }
  return url.href.length > MAX_WEBHOOK_URL_LENGTH ? refuse("too-long") : { ok: true, url: url.href }
}
