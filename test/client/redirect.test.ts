/**
 * The typed client follows no redirect: fetch drops `Authorization` on a cross-origin redirect but not `X-API-Key`, so
 * a server on 127.0.0.1 answering 307/308 to another origin (a second server, another port) must not see the client
 * arrive there, with or without credentials, and the call fails as an HttpClientError (ResponseError).
 */
import { FetchHttpClient, HttpClientError } from "@effect/platform"
import { Effect, Either } from "effect"
import { createServer, type IncomingHttpHeaders } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeUsersClient, UsersClient } from "../../src/client.js"
import { type Receiver, startReceiver } from "../support/webhook-receiver.js"

describe("the typed client and a redirect to another origin", () => {
  let elsewhere: Receiver
  let redirecting: ReturnType<typeof createServer>
  let baseUrl: string
  const asked: Array<IncomingHttpHeaders> = []

  beforeAll(async () => {
    elsewhere = await startReceiver(() => ({ status: 200, body: "{}" }))
    redirecting = createServer((request, response) => {
      asked.push(request.headers)
      const status = request.method === "GET" ? 307 : 308
      response.writeHead(status, { location: `${elsewhere.url}${request.url?.slice(1) ?? ""}` }).end()
    })
    await new Promise<void>((resolve) => redirecting.listen(0, "127.0.0.1", resolve))
    baseUrl = `http://127.0.0.1:${(redirecting.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await elsewhere.close()
    await new Promise((resolve) => redirecting.close(resolve))
  })

  const options = () => ({ baseUrl, apiKey: "key_live_secret", token: "header.payload.signature" })

  it("does not follow it: the other origin sees nothing, the call fails with a ResponseError", async () => {
    const answers: ReadonlyArray<Either.Either<unknown, unknown>> = await Effect.runPromise(
      Effect.gen(function*() {
        const client = yield* UsersClient
        return [
          yield* Effect.either(client.users.getUser({ path: { id: "user_1" } })),
          yield* Effect.either(
            client.users.updatePhoneNumber({
              path: { id: "user_1" },
              payload: { phoneNumber: "+14155552671" },
              headers: {}
            })
          )
        ]
      }).pipe(Effect.provide(UsersClient.layer(options())))
    )
    expect(asked.map((headers) => headers["x-api-key"])).toEqual(["key_live_secret", "key_live_secret"])
    expect(elsewhere.received).toEqual([])
    for (const answer of answers) {
      expect(Either.isLeft(answer)).toBe(true)
      const error = Either.isLeft(answer) ? answer.left : undefined
      expect(error).toBeInstanceOf(HttpClientError.ResponseError)
      expect((error as HttpClientError.ResponseError).response.status).toBeOneOf([307, 308])
      expect((error as HttpClientError.ResponseError).description).toMatch(/redirect \(30[78]\) is not followed/)
    }
  })

  it("does not follow it even when the caller's fetch options say follow", async () => {
    const before = asked.length
    const answer = await Effect.runPromise(
      makeUsersClient(options()).pipe(
        Effect.flatMap((client) => client.health.health()),
        Effect.either,
        Effect.provideService(FetchHttpClient.RequestInit, { redirect: "follow" }),
        Effect.provide(FetchHttpClient.layer)
      )
    )
    expect(asked.length).toBe(before + 1)
    expect(elsewhere.received).toEqual([])
    expect(Either.isLeft(answer) && answer.left).toBeInstanceOf(HttpClientError.ResponseError)
  })
})
