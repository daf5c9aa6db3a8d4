import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { UsersApi } from "../../http/api.js"
import { answered } from "../../http/problems.js"
import { UserRepo } from "../../services/user-repo.js"

export const HealthHandlers = HttpApiBuilder.group(
  UsersApi,
  "health",
  (handlers) =>
    handlers.handle(
      "health",
      () => answered(Effect.flatMap(UserRepo, (repo) => repo.ping)).pipe(Effect.as({ status: "ok" as const }))
    )
)
