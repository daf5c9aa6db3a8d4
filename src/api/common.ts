// What the features' contracts share: the id rule, the page cursor, and the Authentication middleware.
import { HttpApiMiddleware, HttpApiSecurity, OpenApi } from "@effect/platform"
import * as Schema from "effect/Schema"
import * as App from "../app/errors.js"
import * as Http from "../http/errors.js"
import { problemsFor } from "../http/problems.js"
import { CurrentPrincipal } from "../services/auth.js"
import * as Ports from "../services/errors.js"

const Id = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9_-]{1,64}$/),
  Schema.annotations({ description: "1 to 64 characters of A-Z, a-z, 0-9, _ and -." })
)

/** Its example is the demo user of `npm start`, so that the reference's "Test Request" works locally as it stands. */
export const UserId = Id.annotations({ examples: ["user_demo"] })

/** The organization of the API key; its example is the demo organization of `npm start`. */
export const OrganizationId = Id.annotations({ examples: ["org_demo"] })

/** A webhook's or an event's id, as the answers give them. */
export const ResourceId = Id

/** A whole number in the query (sent as text): its bounds and meaning, as the reference shows them. */
export const QueryInteger = (minimum: number, maximum: number, description: string) =>
  Schema.NumberFromString.pipe(
    Schema.int(),
    Schema.between(minimum, maximum),
    Schema.annotations({ jsonSchema: { type: "integer", minimum, maximum, description } })
  )

export const Cursor = Schema.String.annotations({
  description: "Opaque: the nextCursor of the previous page. Without it, from the start."
})

export const Timestamp = Schema.String.annotations({ description: "ISO-8601" })

export const ApiKeyHeader = HttpApiSecurity.apiKey({ key: "X-API-Key", in: "header" }).pipe(
  HttpApiSecurity.annotate(OpenApi.Description, "Your organization's API key.")
)

export const BearerJwt = HttpApiSecurity.bearer.pipe(
  HttpApiSecurity.annotate(
    OpenApi.Description,
    "A JWT naming the organization (org_id): a user's (sub = user id) or a service's (token_use \"service\", scope)."
  ),
  HttpApiSecurity.annotate(OpenApi.Format, "JWT")
)

// Both credentials on every call. HttpApi tries the schemes as alternatives: bearer first checks the JWT and the
// key together; apiKey, tried only after a refusal, repeats it (src/http/authentication.ts).
export class Authentication extends HttpApiMiddleware.Tag<Authentication>()("Authentication", {
  provides: CurrentPrincipal,
  failure: Schema.Union(
    ...problemsFor([Ports.Unauthenticated, Ports.Forbidden, Ports.StoreUnavailable, Ports.IdentityProviderUnavailable])
  ),
  security: { bearer: BearerJwt, apiKey: ApiKeyHeader }
}) {}

/** What every read of an organization's data can meet. */
export const ORGANIZATION_PROBLEMS = [
  Http.InvalidRequest,
  App.OrganizationNotFound,
  Ports.Forbidden,
  Ports.StoreUnavailable
]
