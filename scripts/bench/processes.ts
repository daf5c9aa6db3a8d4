/**
 * The processes a benchmark starts: each in its own process group (so wrangler's workerd goes with it), output
 * to a log file, stopped by group id when the measurement ends or the bench fails. Nothing else is touched.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { closeSync, openSync, readdirSync, readFileSync } from "node:fs"
export { freePort } from "../lib/free-port.js"

export interface Started {
  readonly name: string
  readonly child: ChildProcess
  readonly log: string
  readonly stop: () => Promise<void>
}

const running = new Set<Started>()

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => child.once("exit", () => resolve()))

const killGroup = (pid: number, signal: NodeJS.Signals) => {
  try {
    process.kill(-pid, signal)
  } catch {
    // Already gone.
  }
}

export const start = (
  name: string,
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly env: NodeJS.ProcessEnv; readonly log: string }
): Started => {
  const fd = openSync(options.log, "a")
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ["ignore", fd, fd] })
  closeSync(fd)
  const started: Started = {
    name,
    child,
    log: options.log,
    stop: async () => {
      running.delete(started)
      if (child.pid === undefined) return
      killGroup(child.pid, "SIGTERM")
      const done = await Promise.race([exited(child).then(() => true), Bun.sleep(5_000).then(() => false)])
      if (!done) killGroup(child.pid, "SIGKILL")
      // workerd can outlive wrangler for a moment; the group kill reaches it either way.
      killGroup(child.pid, "SIGKILL")
      await exited(child)
    }
  }
  running.add(started)
  return started
}

/** Stops everything still running (on error, SIGINT, or exit). */
export const stopAll = async () => {
  await Promise.all([...running].map((started) => started.stop()))
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    void stopAll().finally(() => process.exit(130))
  })
}
process.on("exit", () => {
  for (const started of running) if (started.child.pid !== undefined) killGroup(started.child.pid, "SIGKILL")
})

const tail = (file: string) => {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-30).join("\n")
  } catch {
    return ""
  }
}

/**
 * Runs a command to its end, in its own group as `start` does (so a workerd it spawns goes with it): at most
 * `timeoutMs`, then the group is killed. Throws with the tail of its log unless it exited with 0.
 */
export const runToEnd = async (
  name: string,
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly env: NodeJS.ProcessEnv; readonly log: string; readonly timeoutMs: number }
): Promise<void> => {
  const started = start(name, command, args, options)
  const finished = await Promise.race([
    exited(started.child).then(() => true),
    Bun.sleep(options.timeoutMs).then(() => false)
  ])
  await started.stop()
  if (!finished) throw new Error(`${name} did not finish within ${options.timeoutMs} ms:\n${tail(started.log)}`)
  if (started.child.exitCode !== 0) {
    throw new Error(`${name} exited with ${started.child.exitCode ?? started.child.signalCode}:\n${tail(started.log)}`)
  }
}

/** Polls `url` until it answers `expected` (default 200); fails when the process dies or time runs out. */
export const waitUntilReady = async (started: Started, url: string, timeoutMs = 60_000, expected = 200) => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (started.child.exitCode !== null) throw new Error(`${started.name} exited early:\n${tail(started.log)}`)
    try {
      const response = await fetch(url)
      await response.arrayBuffer()
      if (response.status === expected) return
    } catch {
      // Not listening yet.
    }
    await Bun.sleep(100)
  }
  throw new Error(`${started.name} not ready after ${timeoutMs} ms:\n${tail(started.log)}`)
}

/** Resident set size of a process and all its descendants, in MiB (Linux /proc). */
const treeRssMb = (pid: number): number => {
  const children = new Map<number, Array<number>>()
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8")
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
      const list = children.get(ppid) ?? []
      list.push(Number(entry))
      children.set(ppid, list)
    } catch {
      // Exited while we looked.
    }
  }
  let kib = 0
  const pending = [pid]
  while (pending.length > 0) {
    const current = pending.pop()!
    try {
      const status = readFileSync(`/proc/${current}/status`, "utf8")
      kib += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
    } catch {
      // Exited while we looked.
    }
    pending.push(...(children.get(current) ?? []))
  }
  return kib / 1024
}

/** Samples the tree's RSS every 250 ms until stopped; returns the peak. */
export const sampleRss = (pid: number) => {
  let peak = treeRssMb(pid)
  const timer = setInterval(() => (peak = Math.max(peak, treeRssMb(pid))), 250)
  return () => {
    clearInterval(timer)
    return Math.max(peak, treeRssMb(pid))
  }
}
