/**
 * The typed client and the webhook verifier as a program of another runtime uses them (run by runtimes.test.ts under
 * Bun and Deno, over their own global fetch and Web Crypto): create a user, set a number, read the events, meet a
 * Problem, verify the official Standard Webhooks vector. Prints one JSON line.
 */
import { Effect } from "effect"
import { signWebhook, UsersClient, verifyWebhook } from "../../src/client.js"

const env = (name: string): string => {
  const value = (globalThis as any).process?.env?.[name] ?? (globalThis as any).Deno?.env.get(name)
  if (typeof value !== "string") throw new Error(`${name} is not set`)
  return value
}

const program = Effect.gen(function*() {
  const client = yield* UsersClient
  const id = env("SMOKE_USER")
  const created = yield* client.users.createUser({ payload: { id }, headers: {} })
  const updated = yield* client.users.updatePhoneNumber({
    path: { id },
    payload: { phoneNumber: env("SMOKE_NUMBER") },
    headers: { "if-match": `"${created.version}"` }
  })
  const page = yield* client.users.listEvents({ path: { id }, urlParams: {} })
  const problem = yield* client.users.updatePhoneNumber({ path: { id }, payload: { phoneNumber: "12" }, headers: {} })
    .pipe(
      Effect.map(() => undefined),
      Effect.catchTag(
        "Problem",
        (p) =>
          Effect.succeed({
            status: p.status,
            code: p.code,
            requestIdHeader: p.headers?.["x-request-id"] === p.requestId
          })
      )
    )
  return { created: created.event?.type, version: updated.version, events: page.events.map((e) => e.type), problem }
}).pipe(
  Effect.provide(UsersClient.layer({ baseUrl: env("SMOKE_URL"), apiKey: env("SMOKE_KEY"), token: env("SMOKE_TOKEN") }))
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
const body = '{"test": 2432232314}'
const signature = await signWebhook(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
const verified = await verifyWebhook(
  secret,
  {
    "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "webhook-timestamp": "1614265330",
    "webhook-signature": signature
  },
  body,
  { now: 1614265330_000 }
)

console.log(JSON.stringify({ ...(await Effect.runPromise(program)), signature, verified: verified.id }))
