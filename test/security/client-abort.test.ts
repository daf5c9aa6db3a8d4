/**
 * Issue 9: an upload the client abandons (it sends part of the body, then closes the connection) is the client's
 * doing, not a failure of ours: it is logged as 499 client-closed-request at level info, never as a 500
 * internal-error at level error, and nothing is written. Against the real Bun and Deno entries, with a raw socket
 * that sends the headers and part of a body, then destroys itself.
 */
import { clientAbortFiberId } from "@effect/platform/HttpServerError"
import { Cause, FiberId } from "effect"
import { mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { connect } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { keepsAnswer } from "../../src/http/idempotency.js"
import { problemOfCause } from "../../src/http/problems.js"
import { BIN, localDevEnv, ROOT, ServerProcess, sleep } from "../support/processes.js"

const ENTRIES = {
  bun: { command: BIN.bun, args: ["src/bun.ts"], under: tmpdir() },
  deno: { command: BIN.deno, args: ["task", "start"], under: join(ROOT, "data") }
} as const

/** Sends `head` and `partial` of a request, waits, then drops the connection without reading an answer. */
const abandon = (port: number, head: string, partial: string) =>
  new Promise<void>((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.write(head + partial)
      setTimeout(() => {
        socket.destroy()
        resolve()
      }, 300)
    })
    socket.on("error", reject)
  })

for (const entry of ["bun", "deno"] as const) {
  describe(`${entry}: a client that closes the connection mid-upload`, () => {
    let server: ServerProcess
    let dir: string
    let port: number
    let token: string
    let apiKey: string

    beforeAll(async () => {
      mkdirSync(ENTRIES[entry].under, { recursive: true })
      dir = mkdtempSync(join(ENTRIES[entry].under, "users-api-abort-"))
      const { args, command } = ENTRIES[entry]
      server = ServerProcess.start(entry, command, args, localDevEnv({ USERS_API_DATA_DIR: dir, PORT: "0" }))
      await server.waitFor("the banner", 30_000, () => server.stdout.includes("dev:credentials") || undefined)
      port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(server.stdout)?.[1])
      await server.waitHealthy(`http://127.0.0.1:${port}`, 30_000)
      token = /Authorization: Bearer ([\w.-]+)/.exec(server.stdout)![1]!
      apiKey = /X-API-Key: (uak_[\w-]+)/.exec(server.stdout)![1]!
    }, 60_000)
    afterAll(async () => {
      await server?.stop()
      rmSync(dir, { recursive: true, force: true })
    })

    /** The request log line of `requestId`, once the server has written it. */
    const logLine = (requestId: string) =>
      server.waitFor(`the log line of ${requestId}`, 10_000, () => {
        const line = server.output.split("\n").find((l) =>
          l.includes(`"requestId":"${requestId}"`) && l.includes('"msg":"request"')
        )
        return line === undefined ? undefined : JSON.parse(line) as Record<string, unknown>
      })

    const headers = (requestId: string, framing: string) =>
      [
        "POST /users/user_demo/UpdatePhoneNumber HTTP/1.1",
        `Host: 127.0.0.1:${port}`,
        `Authorization: Bearer ${token}`,
        `X-API-Key: ${apiKey}`,
        "Content-Type: application/json",
        `X-Request-Id: ${requestId}`,
        framing,
        "",
        ""
      ].join("\r\n")

    for (
      const [name, framing, partial] of [
        ["a chunked body cut off after its first chunk", "Transfer-Encoding: chunked", '10\r\n{"phoneNumber":"\r\n'],
        ["a body shorter than its Content-Length", "Content-Length: 40", '{"phoneNumber":"+1415'],
        ["no body at all after the headers", "Content-Length: 40", ""]
      ] as const
    ) {
      it(`${name}: logged 499 client-closed-request at level info, no 500, nothing written`, async () => {
        const requestId = `abort-${entry}-${Math.random().toString(36).slice(2, 10)}`
        await abandon(port, headers(requestId, framing), partial)
        const line = await logLine(requestId)
        expect(line).toMatchObject({
          level: "info",
          status: 499,
          code: "client-closed-request",
          route: "/users/:id/UpdatePhoneNumber"
        })
        // Give a stray error line a moment to appear, then look for one.
        await sleep(200)
        const mine = server.output.split("\n").filter((l) => l.includes(requestId))
        expect(mine.join("\n")).not.toMatch(/"level":"error"|internal-error|"status":500/)
        const user = await fetch(`http://127.0.0.1:${port}/users/user_demo`, {
          headers: { authorization: `Bearer ${token}`, "x-api-key": apiKey }
        })
        expect(await user.json()).toMatchObject({ version: 1, phoneNumber: null })
      })
    }

    it("never logged a 500 or an unexpected failure", () => {
      expect(server.output).not.toMatch(/"status":500|unexpected failure/)
    })
  })
}

describe("how a client abort is told apart", () => {
  it("only an interruption by the client (platform's clientAbortFiberId) is a 499; it is never kept for a key", () => {
    const described = problemOfCause(Cause.interrupt(clientAbortFiberId), "r")
    expect(described).toMatchObject({ status: 499, code: "client-closed-request" })
    expect(keepsAnswer(described.status, described.code)).toBe(false)
    // Any other interruption stays what it was: unexpected.
    expect(problemOfCause(Cause.interrupt(FiberId.make(1, 0)), "r")).toMatchObject({
      status: 500,
      code: "internal-error"
    })
  })
})
