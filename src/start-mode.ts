import { Config, Either, Option } from "effect"
import { JWT_VARIABLES } from "./config.js"
import { invalid, text } from "./read-config.js"

/** With any of them and no key set, a start is a production start gone wrong, never local dev mode. */
export const PRODUCTION_SETTINGS: ReadonlyArray<readonly [name: string, what: string]> = [
  ["JWT_ISSUER", "the iss of the identity provider's tokens"],
  ["JWT_AUDIENCE", "the aud its tokens carry for this API"]
]

const names = (list: ReadonlyArray<string>): string =>
  list.length <= 1 ? list.join("") : `${list.slice(0, -1).join(", ")} and ${list[list.length - 1]}`

export const isLoopbackHost = (host: string | undefined): boolean =>
  host === undefined || host === "" || host === "127.0.0.1" || host === "::1" || host.toLowerCase() === "localhost"

/** Local dev mode only with no key set, HOST the loopback and no production setting (docs/DECISIONS.md,
 * "Start modes and settings"). */
export const startMode: Config.Config<"dev" | "production"> = Config.all({
  keySet: Config.all([text("JWKS_URL"), text("JWKS")]).pipe(
    Config.map(([url, inline]) => Option.orElse(url, () => inline))
  ),
  host: text("HOST"),
  present: Config.all(PRODUCTION_SETTINGS.map(([name]) => text(name))).pipe(
    Config.map((values) => PRODUCTION_SETTINGS.filter((_, i) => Option.isSome(values[i]!)))
  )
}).pipe(Config.mapOrFail(({ host, keySet, present }) => {
  if (Option.isSome(keySet)) {
    const missing = PRODUCTION_SETTINGS.filter((setting) => !present.includes(setting))
    return missing.length === 0 ? Either.right("production" as const) : invalid(
      `a key set (JWKS_URL or JWKS) is configured, so this is a production start, and it needs ${
        missing.map(([name, what]) => `${name} (${what})`).join(" and ")
      }`
    )
  }
  const set = present.map(([name]) => name)
  if (set.length > 0) {
    return invalid(
      `${names(set)} ${set.length === 1 ? "is" : "are"} set, but neither JWKS_URL nor JWKS is: ` +
        "a production start needs the identity provider's key set, and local dev mode is never chosen when a " +
        `production setting is present. Set JWKS_URL (or unset ${names(set)} for local dev mode)`
    )
  }
  if (!isLoopbackHost(Option.getOrUndefined(host))) {
    return invalid(
      `HOST ${JSON.stringify(Option.getOrUndefined(host))} is not a loopback address, and neither JWKS_URL nor JWKS ` +
        "is set: local dev mode trusts a local signing key and prints a live API key and token, so it runs only on " +
        "127.0.0.1, ::1 or localhost. Set JWKS_URL, JWT_ISSUER and JWT_AUDIENCE for production, or leave HOST unset"
    )
  }
  return Either.right("dev" as const)
}))

/** For "did you mean" (Effect's Config has none). */
const distance = (a: string, b: string): number => {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const next = [i]
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    row = next
  }
  return row[b.length]!
}

export const unknownVariables = (present: Iterable<string>) =>
  [...present].filter((name) => /^(JWT|JWKS)/i.test(name) && !(JWT_VARIABLES as ReadonlyArray<string>).includes(name))
    .map((name): { readonly name: string; readonly suggestion?: string } => {
      const [best] = JWT_VARIABLES.map((known) => ({ known, d: distance(name.toUpperCase(), known) }))
        .sort((x, y) => x.d - y.d)
      return best !== undefined && best.d <= Math.max(2, Math.floor(best.known.length / 5))
        ? { name, suggestion: best.known }
        : { name }
    })
