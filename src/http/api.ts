import { HttpApi, OpenApi } from "@effect/platform"
import { AuditGroup } from "../api/audit/Api.js"
import { HealthGroup } from "../api/health/Api.js"
import { PhonesGroup } from "../api/phones/Api.js"
import { UsersGroup } from "../api/users/Api.js"
import { VerificationGroup } from "../api/verification/Api.js"
import { WebhooksGroup } from "../api/webhooks/Api.js"
import { InvalidRequest } from "./errors.js"
import { problemsFor } from "./problems.js"

// What annotations cannot say: both security schemes are required together (separate entries read as "either"), and
// HttpApi's own 400 (HttpApiDecodeError, with its Issue and PropertyKey), which the server never sends, gives way to
// the Problem of every error.
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

/** Where `npm start` serves (src/bun.ts's default port). */
export const LOCAL_SERVER_URL = "http://127.0.0.1:8787"

// First the server the document came from, so that the reference's "Test Request" goes where the page was served.
const SERVERS: ReadonlyArray<OpenApi.OpenAPISpecServer> = [
  { url: "/", description: "The server this document came from" },
  { url: LOCAL_SERVER_URL, description: "Local development: npm start" },
  {
    url: "https://{host}",
    description: "Production: your deployment (docs/PRODUCTION.md)",
    variables: { host: { default: "users.example.com", description: "The host name the service is deployed at" } }
  }
]

// Private code, no licence granted; OpenAPI 3.1's SPDX `identifier` is missing from the platform's type.
const LICENSE = { name: "Proprietary", identifier: "LicenseRef-Proprietary" } as OpenApi.OpenAPISpecLicense

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
  .annotate(OpenApi.Servers, SERVERS)
  .annotate(OpenApi.License, LICENSE)
  .annotate(OpenApi.Transform, finishDocument)
{}
