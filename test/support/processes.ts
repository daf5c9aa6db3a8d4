/**
 * Child processes for tests that run the real servers (conformance, the Bun and Deno entries, the soak): each in its own process group (so a wrapper and what it
 * starts die together), its output kept, waits bounded in time, and a stop that always ends in SIGKILL.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { QUIET_WRANGLER_ENV } from "../../scripts/lib/local-wrangler.js"
export { freePort } from "../../scripts/lib/free-port.js"

export const ROOT = process.cwd()
export const BIN = {
  bun: `${ROOT}/node_modules/.bin/bun`,
  deno: `${ROOT}/node_modules/.bin/deno`,
  wrangler: `${ROOT}/node_modules/.bin/wrangler`
} as const

/**
 * The environment of the calling shell, minus what would switch a server out of local dev mode or off the loopback
 * (every JWT* and JWKS* variable: a production setting alone now makes a start refuse).
 */
export const localDevEnv = (extra: Record<string, string>): NodeJS.ProcessEnv => {
  const { HOST: _host, PORT: _port, USERS_API_DATA_DIR: _dir, ...rest } = process.env
  const inherited = Object.fromEntries(Object.entries(rest).filter(([name]) => !/^(JWT|JWKS)/i.test(name)))
  return { ...inherited, NO_COLOR: "1", ...QUIET_WRANGLER_ENV, ...extra }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export interface ExitStatus {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export class ServerProcess {
  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    private readonly exited: Promise<ExitStatus>,
    private readonly log: { text: string; stdout: string }
  ) {}

  static start(name: string, command: string, args: ReadonlyArray<string>, env: NodeJS.ProcessEnv): ServerProcess {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true })
    const log = { text: "", stdout: "" }
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      log.text += chunk
      log.stdout += chunk
    })
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (log.text += chunk))
    const exited = new Promise<ExitStatus>((resolve) => {
      child.once("exit", (code, signal) => resolve({ code, signal }))
      child.once("error", (error) => {
        log.text += `\n[spawn failed: ${error.message}]`
        resolve({ code: null, signal: null })
      })
    })
    return new ServerProcess(name, child, exited, log)
  }

  /** Everything it printed so far, stdout and stderr interleaved. */
  get output(): string {
    return this.log.text
  }

  /** What it printed on stdout alone. */
  get stdout(): string {
    return this.log.stdout
  }

  /** How the process ended, once it has. */
  get exit(): Promise<ExitStatus> {
    return this.exited
  }

  /** Sends `signal` to the process itself (not its group), as a supervisor stopping it would. */
  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal)
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && this.child.pid !== undefined
  }

  /** Polls `ready` until it returns a value; fails when the process dies or the deadline passes. */
  async waitFor<A>(what: string, withinMs: number, ready: () => A | undefined | Promise<A | undefined>): Promise<A> {
    const deadline = Date.now() + withinMs
    for (;;) {
      const value = await ready()
      if (value !== undefined) return value
      if (!this.running) throw new Error(`${this.name} exited before ${what}:\n${this.output.slice(-4000)}`)
      if (Date.now() > deadline) {
        throw new Error(`${this.name}: no ${what} after ${withinMs} ms:\n${this.output.slice(-4000)}`)
      }
      await sleep(100)
    }
  }

  /** Waits until GET /healthz answers 200. */
  waitHealthy(baseUrl: string, withinMs: number): Promise<true> {
    return this.waitFor(`200 from ${baseUrl}/healthz`, withinMs, async () => {
      const answer = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined)
      if (answer === undefined) return undefined
      await answer.arrayBuffer().catch(() => undefined)
      return answer.status === 200 ? true : undefined
    })
  }

  /** SIGTERM to the whole group, then SIGKILL if it has not gone within `graceMs`. Safe to call twice. */
  async stop(graceMs = 5_000): Promise<void> {
    const pid = this.child.pid
    if (pid === undefined) return
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-pid, signal)
      } catch {
        // The group is gone already.
      }
    }
    if (this.running) {
      signalGroup("SIGTERM")
      await Promise.race([this.exited, sleep(graceMs)])
    }
    // Whatever the leader did, nothing it started may outlive the test (wrangler's workerd, deno task's deno run).
    signalGroup("SIGKILL")
    await Promise.race([this.exited, sleep(2_000)])
  }
}

/** Runs a command to completion (bounded), failing with its output when it exits non-zero. */
export const run = (command: string, args: ReadonlyArray<string>, env: NodeJS.ProcessEnv, withinMs: number) =>
  new Promise<string>((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true })
    let output = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk))
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL")
      } catch {
        // Gone already.
      }
      reject(new Error(`${command} ${args.join(" ")}: no result after ${withinMs} ms:\n${output}`))
    }, withinMs)
    child.once("error", (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.once("exit", (code) => {
      clearTimeout(timer)
      if (code === 0) resolve(output)
      else reject(new Error(`${command} ${args.join(" ")} exited with ${code}:\n${output}`))
    })
  })
