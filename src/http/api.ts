/**
 * The HTTP contract, assembled from its features (src/api/*): routes, payloads, responses, errors and security.
 * The OpenAPI document is generated from it.
 */
import { HttpApi, OpenApi } from "@effect/platform"
import { AuditGroup } from "../api/audit/Api.js"
import { HealthGroup } from "../api/health/Api.js"
import { UsersGroup } from "../api/users/Api.js"
import { WebhooksGroup } from "../api/webhooks/Api.js"
import { InvalidRequest } from "./errors.js"
import { problemsFor } from "./problems.js"

/**
 * Two corrections to the generated document: separate security entries mean "either" in OpenAPI, but both
 * credentials are required together; and every error is answered as application/problem+json (edge.ts),
 * including the framework's own path/query decoding errors.
 */
const finishDocument = (spec: Record<string, any>): Record<string, any> => {
  spec.components ??= {}
  spec.components.schemas ??= {}
  delete spec.components.schemas.HttpApiDecodeError
  delete spec.components.schemas.Issue
  delete spec.components.schemas.PropertyKey
  for (const path of Object.values<Record<string, any>>(spec.paths ?? {})) {
    for (const operation of Object.values<Record<string, any>>(path)) {
      if (Array.isArray(operation.security) && operation.security.length > 1) {
        operation.security = [Object.assign({}, ...operation.security)]
      }
      for (const [status, response] of Object.entries<Record<string, any>>(operation.responses ?? {})) {
        if (Number(status) >= 400) {
          response.content = { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } }
        }
      }
    }
  }
  return spec
}

/**
 * HttpApi declares its own HttpApiDecodeError at 400 on every endpoint, a body this server never sends: the edge
 * answers a path or query that does not decode as a 400 problem (problemOfCause in problems.ts). Declaring that problem
 * for the whole API lets a typed client decode a 400 from any endpoint, /healthz included, which declares no 400 itself.
 */
const [FrameworkDecodeProblem] = problemsFor([InvalidRequest])

export class UsersApi extends HttpApi.make("users-api")
  .add(UsersGroup)
  .add(AuditGroup)
  .add(WebhooksGroup)
  .add(HealthGroup)
  .addError(FrameworkDecodeProblem!)
  .annotate(OpenApi.Title, "users-api")
  .annotate(OpenApi.Version, "0.1.0")
  .annotate(
    OpenApi.Description,
    "The User service of an identity platform. Phone numbers never leave the users row unmasked."
  )
  .annotate(OpenApi.Transform, finishDocument)
{}
