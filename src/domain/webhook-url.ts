// Server-side request forgery rules (docs/DECISIONS.md, "Webhook URLs"); checked on subscription and on
// every delivery.
import { isLoopbackHost, isPublicAddress } from "./ip-address.js"

export { isLoopbackHost, isPublicAddress } from "./ip-address.js"

/** What browsers and proxies reliably carry. */
export const MAX_WEBHOOK_URL_LENGTH = 2048

export interface WebhookUrlRules {
  readonly allowLoopback: boolean
  /** undefined: any public host. */
  readonly allowedHosts?: ReadonlyArray<string> | undefined
}

export type WebhookUrlRefusal =
  | "too-long"
  | "not-a-url"
  | "not-https"
  | "credentials"
  | "fragment"
  | "private-address"
  | "local-name"
  | "host-not-allowed"

export type WebhookUrlCheck =
  | { readonly ok: true; readonly url: string }
  | { readonly ok: false; readonly refusal: WebhookUrlRefusal }

/** None quotes the URL. */
export const WEBHOOK_URL_REFUSALS: Readonly<Record<WebhookUrlRefusal, string>> = {
  "too-long": `The webhook URL is longer than ${MAX_WEBHOOK_URL_LENGTH} characters.`,
  "not-a-url": "The webhook URL is not an absolute URL.",
  "not-https": "The webhook URL must use https (http is accepted only to the loopback in local development).",
  credentials: "The webhook URL must not carry a user name or password.",
  fragment: "The webhook URL must not have a #fragment.",
  "private-address": "The webhook URL names a loopback, private, link-local or reserved address.",
  "local-name": "The webhook URL names this machine or an internal host (localhost, a local suffix, no dot).",
  "host-not-allowed": "The webhook URL's host is not one of the receivers this deployment sends to."
}

// Names only a local resolver answers.
const LOCAL_SUFFIXES = [
  ...["localhost", "local", "localdomain", "internal", "intranet", "lan", "home", "corp", "private", "svc"],
  ...["arpa", "invalid", "test", "example", "onion", "alt"]
]
const LOCAL_NAMES = new RegExp(`^(metadata|instance-data)$|(^|\\.)(${LOCAL_SUFFIXES.join("|")})$`)

export const normalizeHost = (hostname: string): string => hostname.toLowerCase().replace(/\.+$/, "")

/** `host`, `.suffix` or `*.suffix`; undefined when the entry is no host. */
export const allowedHostEntry = (entry: string): string | undefined => {
  const suffix = /^\*?\./.test(entry)
  const name = entry.replace(/^\*?\./, "")
  if (!/^([^/\\?#@:%\s[\]]+|\[[0-9a-f:.]+\])$/i.test(name) || !URL.canParse(`https://${name}/`)) return undefined
  const host = normalizeHost(new URL(`https://${name}/`).hostname)
  return host === "" || host.includes("..") ? undefined : suffix ? `.${host}` : host
}

const allowed = (host: string, entries: ReadonlyArray<string>) =>
  entries.some((entry) => entry.startsWith(".") ? host.endsWith(entry) : host === entry)

/** The host is judged without its trailing dot; the URL keeps it, so no search domain completes it. */
export const checkWebhookUrl = (text: string, rules: WebhookUrlRules): WebhookUrlCheck => {
  const refuse = (refusal: WebhookUrlRefusal): WebhookUrlCheck => ({ ok: false, refusal })
  if (text.length > MAX_WEBHOOK_URL_LENGTH) return refuse("too-long")
  if (!URL.canParse(text)) return refuse("not-a-url")
  const url = new URL(text)
  if (url.protocol !== "https:" && url.protocol !== "http:") return refuse("not-https")
  if (url.username !== "" || url.password !== "") return refuse("credentials")
  if (url.hash !== "" || text.includes("#")) return refuse("fragment")
  const host = normalizeHost(url.hostname)
  if (host === "" || host.includes("..")) return refuse("not-a-url")
  if (url.protocol === "http:" && !(rules.allowLoopback && isLoopbackHost(host))) return refuse("not-https")
  if (!rules.allowLoopback) {
    const publicAddress = isPublicAddress(host)
    if (publicAddress === false) return refuse("private-address")
    if (publicAddress === undefined && (LOCAL_NAMES.test(host) || !host.includes("."))) return refuse("local-name")
  }
  if (rules.allowedHosts !== undefined && !allowed(host, rules.allowedHosts)) return refuse("host-not-allowed")
  return url.href.length > MAX_WEBHOOK_URL_LENGTH ? refuse("too-long") : { ok: true, url: url.href }
}
