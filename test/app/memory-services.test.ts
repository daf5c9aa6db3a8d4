/**
 * The in-memory layer (src/layers/memory): one line gives a program every storage-backed service, Auth included, and
 * the Auth double holds the real Auth's rules: both credentials required, each known, one organization.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Redacted } from "effect"
import { createUser } from "../../src/app/create-user.js"
import { Auth, CurrentPrincipal, type Principal } from "../../src/services/auth.js"
import { makeMemoryStore, MemoryServices, putCredentials } from "../support/memory.js"

const service: Principal = {
  organizationId: "org_a",
  actor: { type: "service", id: "svc" },
  scopes: new Set(["users:write"])
}
const other: Principal = { organizationId: "org_b", actor: { type: "service", id: "svc_b" }, scopes: new Set() }

const credentials = (token: string, apiKey: string) => ({
  bearerToken: token === "" ? undefined : Redacted.make(token),
  apiKey: apiKey === "" ? undefined : Redacted.make(apiKey)
})

describe("MemoryServices", () => {
  it.effect("authenticates the registered pair and lets its program write to the store", () => {
    const store = makeMemoryStore()
    putCredentials(store, { token: "t_a", apiKey: "k_a" }, service)
    return Effect.gen(function*() {
      const principal = yield* Effect.flatMap(Auth, (auth) => auth.authenticate(credentials("t_a", "k_a")))
      expect(principal).toBe(service)
      const created = yield* createUser({ userId: "u1", phoneNumber: "+14155552671" }).pipe(
        Effect.provideService(CurrentPrincipal, principal)
      )
      expect(created.version).toBe(1)
      expect(store.events).toHaveLength(1)
      expect(store.events[0]?.data).toMatchObject({ maskedPhoneNumber: "****2671" })
    }).pipe(Effect.provide(MemoryServices(store)))
  })

  it.effect("refuses as the real Auth does: missing, unknown, or another organization's credentials", () =>
    Effect.gen(function*() {
      const store = makeMemoryStore()
      putCredentials(store, { token: "t_a", apiKey: "k_a" }, service)
      putCredentials(store, { token: "t_b", apiKey: "k_b" }, other)
      const { authenticate } = yield* Effect.provide(Auth, MemoryServices(store))
      const refusal = (token: string, apiKey: string) =>
        Effect.map(Effect.either(authenticate(credentials(token, apiKey))), (e) => Either.isLeft(e) && e.left)
      expect(yield* refusal("t_a", "")).toMatchObject({ _tag: "Unauthenticated", reason: "missing-api-key" })
      expect(yield* refusal("", "k_a")).toMatchObject({ _tag: "Unauthenticated", reason: "missing-token" })
      expect(yield* refusal("t_x", "k_a")).toMatchObject({ _tag: "Unauthenticated", reason: "invalid-token" })
      expect(yield* refusal("t_a", "k_x")).toMatchObject({ _tag: "Unauthenticated", reason: "invalid-api-key" })
      expect(yield* refusal("t_a", "k_b")).toMatchObject({ _tag: "Forbidden", reason: "organization-mismatch" })
    }))
})
