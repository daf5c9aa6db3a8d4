/**
 * A consumer of the published package, in plain JavaScript (type-checked with checkJs): run by package.test.ts
 * from a project that installed only the tarball and effect, under Node, Bun and Deno.
 */
import { Effect } from "effect"
import * as Schema from "effect/Schema"
import {
  CommandResponse,
  HttpClient,
  HttpClientRequest,
  Problem,
  UpdatePhoneNumberBody,
  UsersClient,
  verifyWebhook
} from "users-api/client"

/** @param {string} name */
const env = (name) => {
  /** @type {any} */
  const global = globalThis
  const value = global.process?.env?.[name] ?? global.Deno?.env.get(name)
  if (typeof value !== "string") throw new Error(`${name} is not set`)
  return value
}

const program = Effect.gen(function*() {
  const { users } = yield* UsersClient
  const { aggregateId: id } = yield* users.createUser({ payload: {}, headers: {} })
  const updated = yield* users.updatePhoneNumber({
    path: { id },
    payload: { phoneNumber: env("CONSUMER_NUMBER") },
    headers: { "if-match": '"1"' }
  })
  const problem = yield* users.updatePhoneNumber({ path: { id }, payload: { phoneNumber: "12" }, headers: {} }).pipe(
    Effect.as(undefined),
    Effect.catchTag(
      "Problem",
      (p) => Effect.succeed({ status: p.status, code: p.code, requestId: p.requestId, isProblem: p instanceof Problem })
    )
  )
  // The package's schemas, read by this project's own effect: one effect at run time, so they are its schemas.
  const schemas = {
    answer: Schema.is(CommandResponse)(updated),
    body: Schema.decodeUnknownEither(UpdatePhoneNumberBody)({ phoneNumber: 12 })._tag
  }
  return { version: updated.version, masked: updated.event?.data, problem, schemas }
}).pipe(
  Effect.provide(
    UsersClient.layer({
      baseUrl: env("CONSUMER_URL"),
      apiKey: env("CONSUMER_KEY"),
      token: env("CONSUMER_TOKEN"),
      // The package's own HttpClient modules, enough to change the client with only effect installed.
      transformClient: HttpClient.mapRequest(HttpClientRequest.setHeader("x-request-id", "consumer-request-1"))
    })
  )
)

// The official Standard Webhooks test vector.
const verified = await verifyWebhook(
  "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  {
    "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "webhook-timestamp": "1614265330",
    "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
  },
  '{"test": 2432232314}',
  { now: 1614265330_000 }
)

globalThis.console.log(JSON.stringify({ ...(await Effect.runPromise(program)), verified: verified.id }))
