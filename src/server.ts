// A server on an SQLite file (bun.ts, deno.ts). On SIGINT or SIGTERM in-flight requests get at most 5 s.
import { type ConfigProvider, Layer } from "effect"
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { CheckpointerLive } from "./app/checkpoints.js"
import { makeWakeSignal, type RelayOptions, WebhookRelayLive } from "./app/webhook-relay.js"
import { webhookSecretDeriver } from "./app/webhook-secrets.js"
import { DATA_DIR } from "./dev/state.js"
import { makeFetchHandler, type Services } from "./fetch-handler.js"
import { DocsInline } from "./http/docs-inline.js"
import type { JwtConfig } from "./layers/auth/jwt.js"
import { DEV_CODES_FILE, devCodeSender } from "./layers/code-sender-dev.js"
import { messageOf } from "./layers/sql/driver.js"
import type { PrepareOptions } from "./layers/sql/migrate.js"
import { FetchWebhookTransport } from "./layers/webhooks/transport.js"
import { banner, baseUrlOf, startup } from "./startup.js"

export interface ServerRuntime {
  readonly name: "Bun" | "Deno"
  readonly config: ConfigProvider.ConfigProvider
  /** When the runtime may list them, for the warning about unknown ones. */
  readonly variables: ReadonlyArray<string>
  readonly cwd: string
  readonly defaultPort: number
  readonly database: string
  readonly services: (filename: string, jwt: JwtConfig, options: PrepareOptions) => Layer.Layer<Services, unknown>
  readonly listen: (
    fetch: (request: Request) => Promise<Response>,
    at: { readonly port: number; readonly hostname: string }
  ) => { readonly port: number; readonly stop: () => Promise<void>; readonly kill: () => Promise<void> }
  readonly onSignal: (signal: "SIGINT" | "SIGTERM", stop: () => void) => void
  readonly exit: (code: number) => never
  readonly credentialsCommand: string
  readonly notice?: string
  readonly webhookRelay?: Omit<RelayOptions, "deriveSecret"> & { readonly pollIntervalMs?: number }
}

const storageFailure = (error: unknown): string => {
  const code = (error as { code?: unknown } | null)?.code
  const message = messageOf(error).split("\n")[0] || String(error)
  return typeof code === "string" && /^SQLITE_/.test(code) ? `${message} (${code})` : message
}

export const runServer = async (runtime: ServerRuntime): Promise<void> => {
  const fail = (message: string): never => {
    console.error(`users-api: ${message}`)
    return runtime.exit(1)
  }
  const warn = (message: string) => console.error(`users-api: warning: ${message}`)
  if (runtime.notice !== undefined) warn(runtime.notice)
  const config = await startup(runtime.config, runtime.variables, runtime.defaultPort, fail, warn)
  const interval = config.checkpointIntervalSeconds
  mkdirSync(DATA_DIR, { recursive: true })
  const filename = join(DATA_DIR, runtime.database)
  const wake = makeWakeSignal()
  const services = (() => {
    try {
      return runtime.services(filename, config.jwt, config.seedSql !== undefined ? { seedSql: config.seedSql } : {})
    } catch (error) {
      // The disk or the file, not a bug: one line, not a stack trace.
      return fail(`cannot ready the database ${filename}: ${storageFailure(error)}`)
    }
  })()
  const handler = makeFetchHandler(
    services,
    {
      phoneFingerprintKey: config.phoneFingerprintKey,
      idempotencyHashKey: config.idempotencyHashKey,
      webhooks: {
        secretKey: config.webhookSecretKey,
        allowLoopback: config.webhookAllowLoopback,
        allowedHosts: config.webhookAllowedHosts,
        onWrite: wake.wake
      },
      verification: {
        codeKey: config.verificationCodeKey,
        // Local dev mode prints the codes of an organization without a code-delivery endpoint on the console.
        ...(config.devState !== undefined ? { devSink: devCodeSender(join(DATA_DIR, DEV_CODES_FILE)) } : {}),
        checkAddresses: !config.webhookAllowLoopback
      },
      docs: DocsInline
    }
  )
  let server: ReturnType<ServerRuntime["listen"]>
  try {
    server = runtime.listen(handler.fetch, { port: config.port, hostname: config.hostname })
  } catch (error) {
    const code = (error as { code?: unknown }).code
    const why = code === "EADDRINUSE" || /in use/i.test(String(error))
      ? "it is in use; set PORT to another one"
      : error instanceof Error
      ? error.message
      : String(error)
    return fail(`cannot listen on ${config.hostname}:${config.port}: ${why}`)
  }
  if (config.webhookSecretKey === undefined) {
    warn("WEBHOOK_SECRET_KEY is not set: webhooks are off (their routes answer 503 webhooks-not-configured)")
  }
  const relay = config.webhookSecretKey === undefined ? Layer.empty : WebhookRelayLive({
    ...runtime.webhookRelay,
    deriveSecret: webhookSecretDeriver(config.webhookSecretKey),
    signal: wake
  }).pipe(Layer.provide(FetchWebhookTransport({
    // Outside local development the host is resolved too (DNS rebinding).
    checkAddresses: !config.webhookAllowLoopback,
    urlRules: { allowLoopback: config.webhookAllowLoopback, allowedHosts: config.webhookAllowedHosts }
  })))
  handler.run(Layer.launch(Layer.merge(CheckpointerLive(`${interval} seconds`), relay)))
  console.log(
    await banner({
      runtime: runtime.name,
      baseUrl: baseUrlOf(config.hostname, server.port),
      hostname: config.hostname,
      devState: config.devState,
      filename,
      cwd: runtime.cwd,
      credentialsCommand: runtime.credentialsCommand
    })
  )
  let stopping = false
  const stop = (signal: string) => async () => {
    if (stopping) return
    stopping = true
    console.log(`users-api: ${signal}, stopping`)
    await Promise.race([server.stop(), new Promise((resolve) => setTimeout(resolve, 5_000)).then(server.kill)])
    await handler.dispose()
    runtime.exit(0)
  }
  runtime.onSignal("SIGINT", () => void stop("SIGINT")())
  runtime.onSignal("SIGTERM", () => void stop("SIGTERM")())
}
