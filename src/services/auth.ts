/**
 * Auth: turns a request's credentials (bearer JWT + organization API key) into a Principal.
 */
import { Context, type Effect, type Redacted } from "effect"
import type { Actor } from "../domain/events.js"
import type { Forbidden, IdentityProviderUnavailable, StoreUnavailable, Unauthenticated } from "./errors.js"

export interface Principal {
  /** The organization of the API key; every read and write is scoped to it. */
  readonly organizationId: string
  readonly actor: Actor
  /** Scopes of a service token; empty for a user token. */
  readonly scopes: ReadonlySet<string>
}

export interface Credentials {
  readonly bearerToken: Redacted.Redacted<string> | undefined
  readonly apiKey: Redacted.Redacted<string> | undefined
}

export class Auth extends Context.Tag("users-api/Auth")<
  Auth,
  {
    readonly authenticate: (
      credentials: Credentials
    ) => Effect.Effect<Principal, Unauthenticated | Forbidden | StoreUnavailable | IdentityProviderUnavailable>
  }
>() {}

/** The authenticated caller of the current request, provided by the HTTP authentication middleware. */
export class CurrentPrincipal extends Context.Tag("users-api/CurrentPrincipal")<CurrentPrincipal, Principal>() {}
