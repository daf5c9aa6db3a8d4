/**
 * docs/EXAMPLES.md's "Every route, from a shell", pasted into a shell against a fresh Bun server, as a newcomer would:
 * its first block (`eval "$(npm run -s dev:credentials -- --shell)"`) runs as written, then each example in order, each
 * answer compared with the one the page prints after it. In a printed answer `…` stands for anything; an HTTP
 * answer is its status line (exact), the headers shown (each must be among the answer's) and the body (its lines
 * joined, leading spaces dropped). The section must also hold an example of every route of the contract, and survive
 * being pasted twice.
 * Needs curl, as the examples do (`npm test`'s first step installs it where it is missing).
 */
import { HttpApi } from "@effect/platform"
import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { UsersApi } from "../../src/http/api.js"
import { DOCS_PATH } from "../../src/http/docs.js"
import { OPENAPI_PATH } from "../../src/http/routes.js"
import { BIN, localDevEnv, ROOT, ServerProcess } from "../support/processes.js"

const examplesPage = readFileSync(join(ROOT, "docs/EXAMPLES.md"), "utf8")
const start = examplesPage.indexOf("## Every route, from a shell")
const section = examplesPage.slice(start, examplesPage.indexOf("\n## ", start + 1))
const blocks = [...section.matchAll(/```(\w+)\n([\s\S]*?)\n```/g)].map(([, lang, text]) => ({ lang, text: text! }))
const [setup, ...rest] = blocks
const examples = Array.from(
  { length: rest.length / 2 },
  (_, i) => ({ command: rest[2 * i]!, answer: rest[2 * i + 1]! })
)

/** `…` is anything; the rest is literal. */
const like = (text: string) =>
  new RegExp("^" + text.split("…").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("[\\s\\S]*") + "$")

const joined = (lines: ReadonlyArray<string>) => lines.map((line) => line.trimStart()).join("")

const expectAnswer = (output: string, printed: string) => {
  const text = output.replace(/\r/g, "")
  if (!printed.startsWith("HTTP/")) return expect(text.trim()).toMatch(like(printed.trim()))
  const [head, ...body] = text.split("\n\n")
  const [statusLine, ...headers] = head!.split("\n")
  const [printedStatus, ...printedRest] = printed.split("\n")
  const blank = printedRest.indexOf("")
  const printedHeaders = printedRest.slice(0, blank)
  expect(statusLine).toBe(printedStatus)
  for (const header of printedHeaders) {
    expect(headers.map((h) => h.replace(/^[^:]+/, (name) => name.toLowerCase()))).toContain(
      header.replace(/^[^:]+/, (name) => name.toLowerCase())
    )
  }
  expect(body.join("\n\n").trim()).toMatch(like(joined(printedRest.slice(blank + 1))))
}

/** Every route: the contract's endpoints and the two documentation routes. */
const routes: Array<{ readonly method: string; readonly path: string }> = [
  { method: "GET", path: OPENAPI_PATH },
  { method: "GET", path: DOCS_PATH }
]
HttpApi.reflect(UsersApi, {
  onGroup: () => {},
  onEndpoint: ({ endpoint }) => void routes.push({ method: endpoint.method, path: endpoint.path })
})

describe("docs/EXAMPLES.md: every route, from a shell", () => {
  it("has the setup, then a command and its answer for every route of the contract", () => {
    expect(start).toBeGreaterThan(0)
    expect(setup).toEqual({ lang: "sh", text: `eval "$(npm run -s dev:credentials -- --shell)"` })
    expect(rest.length % 2).toBe(0)
    for (const { answer, command } of examples) expect([command.lang, answer.lang]).toEqual(["sh", "text"])
    for (const { method, path } of routes) {
      const url = new RegExp(
        `"\\$BASE_URL${path.replace(/:[A-Za-z]+/g, '[^/"?]+')}(\\?[^"]*)?"`
      )
      const covering = examples.filter(({ command }) =>
        url.test(command.text) && command.text.includes("-X POST") === (method === "POST")
      )
      expect(covering.length, `an example of ${method} ${path}`).toBeGreaterThanOrEqual(1)
    }
  })

  describe("pasted against a fresh `npm start`", () => {
    const dataDir = mkdtempSync(join(tmpdir(), "users-api-readme-"))
    let server: ServerProcess
    let shellEnv: NodeJS.ProcessEnv

    beforeAll(async () => {
      server = ServerProcess.start(
        "bun src/bun.ts",
        BIN.bun,
        ["src/bun.ts"],
        localDevEnv({ USERS_API_DATA_DIR: dataDir, PORT: "0" })
      )
      await server.waitFor("the banner", 20_000, () => server.stdout.includes("npm run dev:credentials") || undefined)
      const port = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(server.stdout)![1]
      // The page's own first line, then the environment it left behind.
      const { stdout } = await promisify(execFile)(
        "/bin/sh",
        ["-c", `${setup!.text}\nexec node -e 'process.stdout.write(JSON.stringify(process.env))'`],
        { cwd: ROOT, env: localDevEnv({ USERS_API_DATA_DIR: dataDir }), timeout: 30_000 }
      )
      const loaded = JSON.parse(stdout) as Record<string, string>
      expect(loaded.BASE_URL).toBe("http://127.0.0.1:8787")
      // The server listens on a free port rather than 8787, which a developer's own `npm start` may hold.
      shellEnv = { ...loaded, BASE_URL: `http://127.0.0.1:${port}` }
    }, 60_000)

    afterAll(async () => {
      await server?.stop()
      rmSync(dataDir, { recursive: true, force: true })
    })

    it.each(examples.map((example, i) => [i + 1, example.command.text.split("\n")[0], example] as const))(
      "example %i: %s",
      async (_, __, { answer, command }) => {
        const { stdout } = await promisify(execFile)("/bin/sh", ["-c", command.text], {
          cwd: ROOT,
          env: shellEnv,
          timeout: 30_000,
          maxBuffer: 16 * 1024 * 1024
        })
        expectAnswer(stdout, answer.text)
      }
    )

    it("survives being pasted a second time: no example fails or sends a malformed request", async () => {
      for (const { command } of examples) {
        const { stderr, stdout } = await promisify(execFile)("/bin/sh", ["-c", command.text], {
          cwd: ROOT,
          env: shellEnv,
          timeout: 30_000,
          maxBuffer: 16 * 1024 * 1024
        })
        expect(stderr, command.text).toBe("")
        expect(stdout, command.text).not.toMatch(/^HTTP\/1\.1 (400|5\d\d)/m)
      }
    }, 120_000)
  })
})
