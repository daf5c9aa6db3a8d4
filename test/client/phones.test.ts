/** The typed client's phones calls against the real fetch handler: the policy, a lookup and its record, and a 422. */
import { FetchHttpClient } from "@effect/platform"
import { Effect, Either, Layer } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeUsersClient, PhonePolicy, Problem } from "../../src/client.js"
import { makeSqliteFixture, type SqliteFixture } from "../support/sqlite-fixture.js"

let f: SqliteFixture
let token: string

beforeAll(async () => {
  f = await makeSqliteFixture()
  token = await f.serviceToken("users:write users:lookup policy:write audit:read")
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

describe("the client's phones calls", () => {
  it("puts and reads the policy, looks users up and reads the record, each decoded to its schema", async () => {
    const organizationId = f.tenant.organizationId
    const answers = await withClient((client) =>
      Effect.gen(function*() {
        yield* client.users.createUser({ payload: { id: "c_1", phoneNumber: "+14155550142" }, headers: {} })
        const put = yield* client.phones.putPhonePolicy({
          path: { organizationId },
          payload: PhonePolicy.make({ allowedRegions: ["US"] })
        })
        const got = yield* client.phones.getPhonePolicy({ path: { organizationId } })
        const found = yield* client.phones.lookupUsers({ payload: { phoneNumbers: ["+1 415 555 0142"] } })
        const lookups = yield* client.phones.listPhoneLookups({ path: { organizationId }, urlParams: {} })
        const refused = yield* Effect.either(client.phones.lookupUsers({ payload: { phoneNumbers: ["0142"] } }))
        return { put, got, found, lookups, refused }
      })
    )
    expect(answers.put.policy).toBeInstanceOf(PhonePolicy)
    expect(answers.got.policy.allowedRegions).toEqual(["US"])
    expect(answers.found.matches).toEqual([
      { phoneNumber: "+1 415 555 0142", userId: "c_1", maskedPhoneNumber: "****0142", phoneNumberVerified: false }
    ])
    expect(answers.lookups.lookups).toMatchObject([{ sequence: 1, numbersCount: 1, matchesCount: 1 }])
    expect(Either.isLeft(answers.refused) && answers.refused.left).toBeInstanceOf(Problem)
    expect(Either.isLeft(answers.refused) && (answers.refused.left as Problem).code).toBe("invalid-phone-number")
  })
})
