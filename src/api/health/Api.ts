/** The health check: the store answers. No credentials. */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import * as Schema from "effect/Schema"
import { withProblems } from "../../http/problems.js"
import * as Ports from "../../services/errors.js"

export class HealthGroup extends HttpApiGroup.make("health")
  .add(
    HttpApiEndpoint.get("health", "/healthz")
      .addSuccess(Schema.Struct({ status: Schema.Literal("ok") }))
      .pipe(withProblems(Ports.StoreUnavailable))
      .annotate(OpenApi.Summary, "The service answers and its store too (no credentials)")
  )
  .annotate(OpenApi.Description, "For load balancers and uptime checks: 200 while the store answers, else 503.")
{}
