/**
 * Who may do what. A user acts only on itself; a service acts on its organization's users when its
 * token carries the scope. (The organization itself was checked when the caller was authenticated.)
 */
import { Effect } from "effect"
import type { Principal } from "../services/auth.js"
import { Forbidden } from "../services/errors.js"

export const Scopes = {
  read: "users:read",
  write: "users:write",
  erase: "users:erase",
  readPii: "users:pii:read",
  auditRead: "audit:read",
  webhooksWrite: "webhooks:write"
} as const

const missingScope = (scope: string) =>
  new Forbidden({ reason: "missing-scope", detail: `The service token lacks the scope ${scope}.` })

const notOwnUser = new Forbidden({
  reason: "not-own-user",
  detail: "A user token may act only on its own user."
})

const serviceOnly = (scope: string) =>
  new Forbidden({ reason: "missing-scope", detail: `Only a service token with ${scope} may do this.` })

const selfOrScope = (principal: Principal, userId: string, scope: string): Effect.Effect<void, Forbidden> =>
  principal.actor.type === "user"
    ? principal.actor.id === userId ? Effect.void : Effect.fail(notOwnUser)
    : principal.scopes.has(scope)
    ? Effect.void
    : Effect.fail(missingScope(scope))

const serviceWith = (principal: Principal, scope: string): Effect.Effect<void, Forbidden> =>
  principal.actor.type === "service" && principal.scopes.has(scope)
    ? Effect.void
    : Effect.fail(principal.actor.type === "user" ? serviceOnly(scope) : missingScope(scope))

/** A user on itself, or a service with `users:write`. */
export const authorizeWrite = (principal: Principal, userId: string) => selfOrScope(principal, userId, Scopes.write)

/** A user on itself, or a service with `users:read` or `users:write`. */
export const authorizeRead = (principal: Principal, userId: string): Effect.Effect<void, Forbidden> =>
  principal.actor.type === "service" && principal.scopes.has(Scopes.write)
    ? Effect.void
    : selfOrScope(principal, userId, Scopes.read)

/** Only a service with `users:write` creates users. */
export const authorizeCreate = (principal: Principal) => serviceWith(principal, Scopes.write)

/**
 * Only a service with `users:write` and `users:pii:read` marks a number verified: a user cannot vouch for itself, and
 * comparing the number named with the stored one is reading it (its answer would otherwise confirm a guess). Checked
 * before anything is read, so no answer to a caller without the scopes depends on the number it sent.
 */
export const authorizeVerify = (principal: Principal): Effect.Effect<void, Forbidden> =>
  Effect.zipRight(serviceWith(principal, Scopes.write), serviceWith(principal, Scopes.readPii))

/** The user itself, or a service with `users:erase`. */
export const authorizeErase = (principal: Principal, userId: string) => selfOrScope(principal, userId, Scopes.erase)

/** A service with `audit:read`. */
export const authorizeAuditRead = (principal: Principal) => serviceWith(principal, Scopes.auditRead)

/** A service with `webhooks:write`: every webhook route, reading ones included (they show where events go). */
export const authorizeWebhooks = (principal: Principal) => serviceWith(principal, Scopes.webhooksWrite)

const missingEventsScope = new Forbidden({
  reason: "missing-scope",
  detail: `The service token lacks the scope ${Scopes.auditRead}: a webhook receiver gets the organization's events, ` +
    `which only ${Scopes.auditRead} may read.`
})

/**
 * A service with `webhooks:write` and `audit:read`: what sends the organization's events to a receiver or shows
 * them (creating, rotating, re-sending, the deliveries) needs the scope the feed of the same events needs.
 */
export const authorizeWebhookEvents = (principal: Principal): Effect.Effect<void, Forbidden> =>
  Effect.zipRight(
    authorizeWebhooks(principal),
    principal.scopes.has(Scopes.auditRead) ? Effect.void : Effect.fail(missingEventsScope)
  )

/** The raw number: the user itself, or a service with `users:pii:read`. */
export const maySeeRawNumber = (principal: Principal, userId: string): boolean =>
  principal.actor.type === "user" ? principal.actor.id === userId : principal.scopes.has(Scopes.readPii)
