/** The health check's handler. */
import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { UsersApi } from "../../http/api.js"
import { answered } from "../../http/problems.js"
import { UserRepo } from "../../services/user-repo.js"

export const HealthHandlers = HttpApiBuilder.group(
  UsersApi,
  "health",
  (handlers) =>
    handlers.handleRaw("health", () =>
      answered(Effect.flatMap(UserRepo, (repo) => repo.ping)).pipe(
        Effect.as(HttpServerResponse.unsafeJson({ status: "ok" }))
      ))
)
