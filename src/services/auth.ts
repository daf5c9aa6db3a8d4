import { Context, type Effect, type Redacted } from "effect"
import type { Actor } from "../domain/events.js"
import type { Forbidden, IdentityProviderUnavailable, StoreUnavailable, Unauthenticated } from "./errors.js"

export interface Principal {
  readonly organizationId: string
  readonly actor: Actor
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

export class CurrentPrincipal extends Context.Tag("users-api/CurrentPrincipal")<CurrentPrincipal, Principal>() {}
