/**
 * Who may do what. A user acts only on itself; a service acts on its organization's users when its
 * token carries the scope. (The organization itself was checked when the caller was authenticated.)
 */
import { Effect } from "effect"
import { Forbidden } from "./errors.js"
import type { Principal } from "../services/auth.js"

export const Scopes = {
  read: "users:read",
  write: "users:write"
} as const

const missingScope = (scope: string) =>
  new Forbidden({ reason: "missing-scope", detail: `The service token lacks the scope ${scope}.` })

const notOwnUser = new Forbidden({
  reason: "not-own-user",
  detail: "A user token may act only on its own user."
})

/** A user on itself, or a service with `users:write`. */
export const authorizeWrite = (principal: Principal, userId: string): Effect.Effect<void, Forbidden> =>
  principal.actor.type === "user"
    ? principal.actor.id === userId ? Effect.void : Effect.fail(notOwnUser)
    : principal.scopes.has(Scopes.write) ? Effect.void : Effect.fail(missingScope(Scopes.write))

/** A user on itself, or a service with `users:read` or `users:write`. */
export const authorizeRead = (principal: Principal, userId: string): Effect.Effect<void, Forbidden> =>
  principal.actor.type === "user"
    ? principal.actor.id === userId ? Effect.void : Effect.fail(notOwnUser)
    : principal.scopes.has(Scopes.read) || principal.scopes.has(Scopes.write)
    ? Effect.void
    : Effect.fail(missingScope(Scopes.read))

/** Only a service with `users:write` creates users. */
export const authorizeCreate = (principal: Principal): Effect.Effect<void, Forbidden> =>
  principal.actor.type === "service" && principal.scopes.has(Scopes.write)
    ? Effect.void
    : Effect.fail(
      principal.actor.type === "user"
        ? new Forbidden({ reason: "missing-scope", detail: "Only a service token with users:write creates users." })
        : missingScope(Scopes.write)
    )
