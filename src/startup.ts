// Runtime-neutral: a misconfigured production start is refused, never turned into local dev mode.
import { Config, type ConfigProvider, Redacted } from "effect"
import { relative } from "node:path"
import {
  checkpointInterval,
  ConfigError,
  handlerSettings,
  host,
  jwtConfig,
  port,
  providerOf,
  readConfig,
  reveal
} from "./config.js"
import { signUserToken } from "./dev/signing.js"
import { devJwtEnv, devSeedSql, type DevState, loadOrCreateDevState } from "./dev/state.js"
import type { JwtConfig } from "./layers/auth/jwt.js"
import { isLoopbackHost, startMode, unknownVariables } from "./start-mode.js"

export interface Startup {
  readonly port: number
  readonly hostname: string
  readonly devState: DevState | undefined
  readonly jwt: JwtConfig
  readonly seedSql: string | undefined
  readonly phoneFingerprintKey: string | undefined
  readonly idempotencyHashKey: string
  readonly verificationCodeKey: string | undefined
  /** Undefined: webhooks are off. */
  readonly webhookSecretKey: string | undefined
  readonly webhookAllowLoopback: boolean
  readonly webhookAllowedHosts: ReadonlyArray<string> | undefined
  readonly checkpointIntervalSeconds: number
}

export const startup = async (
  provider: ConfigProvider.ConfigProvider,
  variables: Iterable<string>,
  defaultPort: number,
  fail: (message: string) => never,
  warn: (message: string) => void
): Promise<Startup> => {
  const read = <A>(config: Config.Config<A>): A => {
    try {
      return readConfig(config, provider)
    } catch (error) {
      if (error instanceof ConfigError) return fail(error.message)
      throw error
    }
  }
  const server = read(Config.all({
    port: port(defaultPort),
    hostname: host,
    checkpointIntervalSeconds: checkpointInterval
  }))
  // Before the mode is decided: a misspelt JWKS_URL is the likeliest reason a start is refused.
  for (const { name, suggestion } of unknownVariables(variables)) {
    warn(`${name} is set, but users-api reads no such variable${suggestion ? ` (did you mean ${suggestion}?)` : ""}`)
  }
  const devState = read(startMode) === "dev" ? await loadOrCreateDevState() : undefined
  const jwt = devState !== undefined ? readConfig(jwtConfig, providerOf(devJwtEnv(devState))) : read(jwtConfig)
  const settings = read(handlerSettings(devState))
  return {
    ...server,
    devState,
    jwt,
    seedSql: devState !== undefined ? await devSeedSql(devState, new Date().toISOString()) : undefined,
    phoneFingerprintKey: reveal(settings.phoneFingerprintKey),
    idempotencyHashKey: Redacted.value(settings.idempotencyHashKey),
    verificationCodeKey: reveal(settings.verificationCodeKey),
    webhookSecretKey: reveal(settings.webhookSecretKey),
    webhookAllowLoopback: settings.webhookAllowLoopback,
    webhookAllowedHosts: settings.webhookAllowedHosts
  }
}

/** A wildcard address is not one to send requests to; the loopback reaches it from here. */
export const baseUrlOf = (hostname: string, port: number): string => {
  const reachable = hostname === "0.0.0.0" || hostname === "::" ? "127.0.0.1" : hostname
  return `http://${reachable.includes(":") ? `[${reachable}]` : reachable}:${port}`
}

export interface BannerInput {
  readonly runtime: "Bun" | "Deno"
  readonly baseUrl: string
  /** Off the loopback no secret is ever printed. */
  readonly hostname: string
  readonly devState: DevState | undefined
  readonly filename: string
  readonly cwd: string
  readonly credentialsCommand: string
}

export const banner = async (input: BannerInput): Promise<string> => {
  const listening = `users-api (${input.runtime}) listening on ${input.baseUrl}`
  const state = input.devState
  // A second guard besides startMode: no secret is printed off the loopback.
  if (state === undefined || !isLoopbackHost(input.hostname)) return listening
  const token = await signUserToken(state.signingKey, state.userId, state.organizationId, { expiresIn: "24h" })
  const shown = relative(input.cwd, input.filename).startsWith("..")
    ? input.filename
    : relative(input.cwd, input.filename)
  return [
    `${listening}  (local dev mode, database ${shown})`,
    `API reference: ${input.baseUrl}/docs  (OpenAPI document: ${input.baseUrl}/openapi.json)`,
    "",
    "Set the demo user's phone number:",
    "",
    `curl -sS -X POST ${input.baseUrl}/users/${state.userId}/UpdatePhoneNumber \\`,
    `  -H 'Authorization: Bearer ${token}' \\`,
    `  -H 'X-API-Key: ${state.apiKey}' \\`,
    "  -H 'Content-Type: application/json' \\",
    `  -d '{"phoneNumber":"+14155552671"}'`,
    "",
    `The token is valid for 24 hours. Fresh user and service tokens: ${input.credentialsCommand}`,
    ""
  ].join("\n")
}
