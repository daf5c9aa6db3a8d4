/**
 * The typed client runs on any runtime with a global fetch: test/client/smoke.ts under Bun and Deno, against the real
 * fetch handler served over HTTP on the loopback (node:http in front of an SQLite fixture).
 */
import { createServer, type Server } from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { BIN, localDevEnv, run } from "../support/processes.js"
import { makeSqliteFixture, type SqliteFixture } from "../support/sqlite-fixture.js"

let f: SqliteFixture
let server: Server
let baseUrl: string

beforeAll(async () => {
  f = await makeSqliteFixture()
  server = createServer((incoming, outgoing) => {
    const chunks: Array<Buffer> = []
    incoming.on("data", (chunk: Buffer) => chunks.push(chunk))
    incoming.on("end", async () => {
      const headers = new Headers()
      for (const [name, value] of Object.entries(incoming.headers)) {
        if (typeof value === "string") headers.set(name, value)
      }
      const body = chunks.length === 0 ? undefined : Buffer.concat(chunks)
      const answer = await f.fetch(
        new Request(`http://127.0.0.1${incoming.url}`, { method: incoming.method, headers, body })
      )
      outgoing.writeHead(answer.status, Object.fromEntries(answer.headers))
      outgoing.end(Buffer.from(await answer.arrayBuffer()))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  baseUrl = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
})

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve))
  await f.dispose()
})

const RUNTIMES = {
  bun: [BIN.bun, ["test/client/smoke.ts"]],
  deno: [BIN.deno, ["run", "--allow-net=127.0.0.1", "--allow-env", "--allow-read", "test/client/smoke.ts"]]
} as const

describe.each(Object.keys(RUNTIMES) as Array<keyof typeof RUNTIMES>)("the client under %s", (runtime) => {
  it("creates a user, sets a number, reads the events, decodes a Problem and verifies a webhook", async () => {
    const [command, args] = RUNTIMES[runtime]
    const output = await run(
      command,
      args,
      localDevEnv({
        SMOKE_URL: baseUrl,
        SMOKE_KEY: f.tenant.apiKey,
        SMOKE_TOKEN: await f.serviceToken(),
        SMOKE_USER: `smoke_${runtime}`,
        SMOKE_NUMBER: runtime === "bun" ? "+14155552671" : "+14155552672"
      }),
      60_000
    )
    const line = output.trim().split("\n").at(-1)!
    expect(JSON.parse(line)).toEqual({
      created: "UserCreated",
      version: 2,
      events: ["UserCreated", "UserPhoneNumberUpdated"],
      problem: { status: 422, code: "invalid-phone-number", requestIdHeader: true },
      signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
      verified: "msg_p5jXN8AQM9LWM0D4loKWxJek"
    })
  }, 90_000)
})
