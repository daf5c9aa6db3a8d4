/**
 * The typed client's verified change against the real fetch handler: the 202 decoded as the pending change with its
 * code, the code delivery's secret, a wrong code's Problem with attemptsLeft, and the confirm.
 */
import { FetchHttpClient } from "@effect/platform"
import { Effect, Either, Layer } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeUsersClient, Problem } from "../../src/client.js"
import { makeSqliteFixture, type SqliteFixture } from "../support/sqlite-fixture.js"

let f: SqliteFixture
let token: string

beforeAll(async () => {
  f = await makeSqliteFixture()
  token = await f.serviceToken("users:read users:write webhooks:write phone:code:return")
})
afterAll(() => f.dispose())

const withClient = <A, E>(
  use: (client: Effect.Effect.Success<ReturnType<typeof makeUsersClient>>) => Effect.Effect<A, E>
) =>
  Effect.runPromise(
    Effect.flatMap(makeUsersClient({ baseUrl: "http://127.0.0.1", token, apiKey: f.tenant.apiKey }), use).pipe(
      Effect.provide(
        FetchHttpClient.layer.pipe(
          Layer.provide(Layer.succeed(
            FetchHttpClient.Fetch,
            ((input: RequestInfo | URL, init?: RequestInit) => f.fetch(new Request(input, init))) as typeof fetch
          ))
        )
      )
    )
  )

describe("the client's verified change", () => {
  it("requests (202 with the code), refuses a wrong code with attemptsLeft, confirms, and sets the endpoint", async () => {
    const answers = await withClient((client) =>
      Effect.gen(function*() {
        yield* client.users.createUser({ payload: { id: "v_1", phoneNumber: "+14155550142" }, headers: {} })
        const requested = yield* client.users.updatePhoneNumber({
          path: { id: "v_1" },
          payload: { phoneNumber: "+14155550143", verification: "return-code" },
          headers: {}
        })
        const code = "verificationCode" in requested ? requested.verificationCode! : ""
        const wrong = yield* Effect.either(client.verification.confirmPhoneNumberChange({
          path: { id: "v_1" },
          payload: { code: code === "000000" ? "000001" : "000000" },
          headers: {}
        }))
        const confirmed = yield* client.verification.confirmPhoneNumberChange({
          path: { id: "v_1" },
          payload: { code },
          headers: {}
        })
        const endpoint = yield* client.verification.setCodeDelivery({
          path: { organizationId: f.tenant.organizationId },
          payload: { url: "http://127.0.0.1:9/sms" }
        })
        return { requested, wrong, confirmed, endpoint }
      })
    )
    expect(answers.requested).toMatchObject({
      version: 2,
      event: { type: "UserPhoneNumberChangeRequested" },
      pendingChange: { maskedPhoneNumber: "****0143" }
    })
    expect(Either.isLeft(answers.wrong) && answers.wrong.left).toBeInstanceOf(Problem)
    expect(Either.isLeft(answers.wrong) && (answers.wrong.left as Problem).attemptsLeft).toBe(4)
    expect(answers.confirmed.event).toMatchObject({ type: "UserPhoneNumberUpdated", version: 3 })
    expect(answers.endpoint.secret).toMatch(/^whsec_/)
  })
})
