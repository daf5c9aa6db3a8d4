/**
 * `src/worker-env.d.ts` is what `npm run types:worker` generates (docs/DECISIONS.md, "House rules"). The command is
 * read from package.json, so the test and the script cannot drift, and run in a scratch directory holding only its
 * inputs (wrangler.toml, the env files it names, src/, and what its [build] runs): a developer's .dev.vars or .wrangler/ state cannot change the
 * outcome, and the checked-in file is never touched. `wrangler types --check` would be the natural tool, but in
 * wrangler 4.72 it regenerates without `--env-file` and so reports these types out of date whatever they hold.
 * No network: the banner (and with it wrangler's update check) and telemetry are off.
 */
import { execFile } from "node:child_process"
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { afterAll, describe, expect, it } from "vitest"
import { BIN, ROOT } from "../support/processes.js"

const script: string = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts["types:worker"]

/** The script's words; it has no quoting, so splitting on spaces is exact (checked). */
const words = script.trim().split(/\s+/)

/** The values of a flag that may repeat (`--env-file a --env-file b`). */
const valuesOf = (flag: string) => words.flatMap((word, i) => (word === flag ? [words[i + 1]!] : []))

describe("npm run types:worker", () => {
  const scratch = mkdtempSync(join(tmpdir(), "users-api-worker-env-"))
  afterAll(() => rmSync(scratch, { recursive: true, force: true }))

  it("is a plain `wrangler types <file>.d.ts …` command", () => {
    expect(script).not.toMatch(/["'`$&|;<>\\]/)
    expect(words.slice(0, 2)).toEqual(["wrangler", "types"])
    expect(words[2]).toMatch(/^src\/.+\.d\.ts$/)
  })

  it("generates exactly the checked-in file (else: run npm run types:worker and commit it)", async () => {
    const output = words[2]!
    const config = [...valuesOf("--config"), ...valuesOf("-c")][0] ?? "wrangler.toml"
    for (const input of [config, ...valuesOf("--env-file")]) cpSync(join(ROOT, input), join(scratch, input))
    // The entry module the config names lives in src/; the generated file refers to it by a relative path.
    cpSync(join(ROOT, "src"), join(scratch, "src"), { recursive: true })
    // wrangler types runs the config's [build] first (npm run build:docs), and leaves the entry out if it fails.
    for (const input of ["package.json", "scripts/build-docs.ts"]) cpSync(join(ROOT, input), join(scratch, input))
    symlinkSync(join(ROOT, "node_modules"), join(scratch, "node_modules"))
    rmSync(join(scratch, output))
    await promisify(execFile)(BIN.wrangler, words.slice(1), {
      cwd: scratch,
      env: {
        PATH: process.env.PATH,
        HOME: scratch,
        WRANGLER_HIDE_BANNER: "true",
        WRANGLER_SEND_METRICS: "false",
        WRANGLER_LOG_PATH: join(scratch, "logs"),
        NO_COLOR: "1"
      },
      timeout: 60_000
    })
    const generated = readFileSync(join(scratch, output), "utf8")
    const checkedIn = readFileSync(join(ROOT, output), "utf8")
    expect(checkedIn, `${output} is stale: run npm run types:worker and commit the result`).toBe(generated)
  })
})
