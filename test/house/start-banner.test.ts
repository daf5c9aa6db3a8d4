/**
 * The banner docs/START.md and README.md show is the one `npm start` prints: a Bun server on a fresh data dir, its
 * banner compared with each doc's first text block after the command, `…` standing for anything (token, key).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { BIN, localDevEnv, ROOT, ServerProcess } from "../support/processes.js"

/** `…` is anything; the rest is literal. */
const like = (text: string) =>
  new RegExp("^" + text.split("…").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("[\\s\\S]*") + "$")

/** The first ```text block after `marker` in `file`. */
const shown = (file: string, marker: string): string => {
  const text = readFileSync(join(ROOT, file), "utf8")
  const at = text.indexOf(marker)
  expect(at, `${file} has "${marker}"`).toBeGreaterThanOrEqual(0)
  return /```text\n([\s\S]*?)\n```/.exec(text.slice(at))![1]!
}

describe("the start banner in the docs", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "users-api-banner-"))
  let server: ServerProcess
  let printed: string

  beforeAll(async () => {
    server = ServerProcess.start(
      "bun src/bun.ts",
      BIN.bun,
      ["src/bun.ts"],
      localDevEnv({ USERS_API_DATA_DIR: dataDir, PORT: "0" })
    )
    await server.waitFor("the banner", 20_000, () => server.stdout.includes("npm run dev:credentials") || undefined)
    const port = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(server.stdout)![1]!
    // As `npm start` prints it: its default port and data dir.
    printed = server.stdout.slice(
      0,
      server.stdout.indexOf("npm run dev:credentials") + "npm run dev:credentials".length
    )
      .replaceAll(`127.0.0.1:${port}`, "127.0.0.1:8787")
      .replaceAll(`${dataDir}/`, "data/")
  }, 60_000)

  afterAll(async () => {
    await server?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it("docs/START.md shows it whole", () => {
    expect(printed).toMatch(like(shown("docs/START.md", "It prints:")))
  })

  it("README.md shows its beginning, up to the curl", () => {
    expect(printed).toMatch(like(`${shown("README.md", "prints a curl you can paste")}…`))
  })
})
