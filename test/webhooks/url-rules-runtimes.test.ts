/**
 * The URL and address table judged by Bun and Deno themselves (Node runs it in url-rules.test.ts, workerd in
 * test/workers/url-rules-on-workers.test.ts): each runtime's URL parser and IDNA must agree with it.
 */
import { execFile } from "node:child_process"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"
import { BIN, ROOT } from "../support/processes.js"

const run = promisify(execFile)
const SCRIPT = "test/webhooks/support/url-table.ts"

describe("the URL and address table on every runtime", () => {
  it.each(
    [
      ["Bun", BIN.bun, [SCRIPT]],
      ["Deno", BIN.deno, ["run", "--no-prompt", SCRIPT]]
    ] as const
  )("%s judges every case as the table says", async (_, command, args) => {
    const { stdout } = await run(command, [...args], { cwd: ROOT, timeout: 60_000 })
    const result = JSON.parse(stdout.trim().split("\n").at(-1)!)
    expect(result.cases).toBeGreaterThan(100)
    expect(result.wrong).toEqual([])
  })
})
