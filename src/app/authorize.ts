/** A user acts only on itself; a service on its organization's users when its token carries the scope. */
import { Effect } from "effect"
import type { Principal } from "../services/auth.js"
import { Forbidden } from "../services/errors.js"

export const Scopes = {
  read: "users:read",
  write: "users:write",
  erase: "users:erase",
  readPii: "users:pii:read",
  auditRead: "audit:read",
  webhooksWrite: "webhooks:write",
  codeReturn: "phone:code:return",
  policyWrite: "policy:write",
  lookup: "users:lookup"
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

export const authorizeWrite = (principal: Principal, userId: string) => selfOrScope(principal, userId, Scopes.write)

export const authorizeRead = (principal: Principal, userId: string): Effect.Effect<void, Forbidden> =>
  principal.actor.type === "service" && principal.scopes.has(Scopes.write)
    ? Effect.void
    : selfOrScope(principal, userId, Scopes.read)

export const authorizeCreate = (principal: Principal) => serviceWith(principal, Scopes.write)

/**
 * A user cannot vouch for itself, and comparing the number named with the stored one is reading it. Checked before
 * anything is read, so no answer to a caller without the scopes depends on the number it sent.
 */
export const authorizeVerify = (principal: Principal): Effect.Effect<void, Forbidden> =>
  Effect.zipRight(serviceWith(principal, Scopes.write), serviceWith(principal, Scopes.readPii))

export const authorizeErase = (principal: Principal, userId: string) => selfOrScope(principal, userId, Scopes.erase)

export const authorizeAuditRead = (principal: Principal) => serviceWith(principal, Scopes.auditRead)

export const authorizePolicyWrite = (principal: Principal) => serviceWith(principal, Scopes.policyWrite)

/** A service finding users by number: never a user, whose token could then probe who holds a number. */
export const authorizeLookup = (principal: Principal) => serviceWith(principal, Scopes.lookup)

/** Reading routes too: they show where events go. */
export const authorizeWebhooks = (principal: Principal) => serviceWith(principal, Scopes.webhooksWrite)

const missingEventsScope = new Forbidden({
  reason: "missing-scope",
  detail: `The service token lacks the scope ${Scopes.auditRead}: a webhook receiver gets the organization's events, ` +
    `which only ${Scopes.auditRead} may read.`
})

/** The feed of the same events needs audit:read. */
export const authorizeWebhookEvents = (principal: Principal): Effect.Effect<void, Forbidden> =>
  Effect.zipRight(
    authorizeWebhooks(principal),
    principal.scopes.has(Scopes.auditRead) ? Effect.void : Effect.fail(missingEventsScope)
  )

export const maySeeRawNumber = (principal: Principal, userId: string): boolean =>
  principal.actor.type === "user" ? principal.actor.id === userId : principal.scopes.has(Scopes.readPii)
