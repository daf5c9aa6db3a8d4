import { HttpApi, OpenApi } from "@effect/platform"
import { AuditGroup } from "../api/audit/Api.js"
import { HealthGroup } from "../api/health/Api.js"
import { PhonesGroup } from "../api/phones/Api.js"
import { UsersGroup } from "../api/users/Api.js"
import { VerificationGroup } from "../api/verification/Api.js"
import { WebhooksGroup } from "../api/webhooks/Api.js"
import { InvalidRequest } from "./errors.js"
import { problemsFor } from "./problems.js"

// OpenAPI reads separate security entries as "either", but both are required; every error is problem+json.
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

// Declared API-wide so the client decodes the edge's 400 for a bad path or query from any endpoint.
const [FrameworkDecodeProblem] = problemsFor([InvalidRequest])

export class UsersApi extends HttpApi.make("users-api")
  .add(UsersGroup)
  .add(AuditGroup)
  .add(WebhooksGroup)
  .add(HealthGroup)
  .add(PhonesGroup)
  .add(VerificationGroup)
  .addError(FrameworkDecodeProblem!)
  .annotate(OpenApi.Title, "users-api")
  .annotate(OpenApi.Version, "0.1.0")
  .annotate(
    OpenApi.Description,
    "The User service of an identity platform. Phone numbers never leave the users row unmasked."
  )
  .annotate(OpenApi.Transform, finishDocument)
{}
