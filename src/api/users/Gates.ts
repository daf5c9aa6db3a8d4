/**
 * What each users command checks before its body is read (CONTRACT.md §4.1): the path id, who may act on whom, then
 * its headers' syntax. Each gate hands its handler the authorized program, so the rule runs once.
 */
import { HttpApiMiddleware } from "@effect/platform"
import { Context, type Effect } from "effect"
import * as Schema from "effect/Schema"
import type { authorizeCreateUser } from "../../app/create-user.js"
import type { authorizeMarkPhoneNumberVerified } from "../../app/personal-data.js"
import type { IfMatch } from "../../app/run-command.js"
import type { authorizeUpdatePhoneNumber } from "../../app/update-phone-number.js"
import * as Http from "../../http/errors.js"
import { problemsFor } from "../../http/problems.js"
import * as Ports from "../../services/errors.js"

const failure = Schema.Union(...problemsFor([Http.InvalidRequest, Ports.Forbidden]))

interface Gated<Run> {
  readonly run: Run
  readonly ifMatch: IfMatch | undefined
  readonly idempotencyKey: string | undefined
}

export class CreateUserGated extends Context.Tag("users-api/CreateUserGated")<
  CreateUserGated,
  Omit<Gated<Effect.Effect.Success<typeof authorizeCreateUser>>, "ifMatch">
>() {}

export class CreateUserGate extends HttpApiMiddleware.Tag<CreateUserGate>()("CreateUserGate", {
  provides: CreateUserGated,
  failure
}) {}

export class UpdatePhoneNumberGated extends Context.Tag("users-api/UpdatePhoneNumberGated")<
  UpdatePhoneNumberGated,
  Gated<Effect.Effect.Success<ReturnType<typeof authorizeUpdatePhoneNumber>>>
>() {}

export class UpdatePhoneNumberGate extends HttpApiMiddleware.Tag<UpdatePhoneNumberGate>()("UpdatePhoneNumberGate", {
  provides: UpdatePhoneNumberGated,
  failure
}) {}

export class MarkPhoneNumberVerifiedGated extends Context.Tag("users-api/MarkPhoneNumberVerifiedGated")<
  MarkPhoneNumberVerifiedGated,
  Gated<Effect.Effect.Success<typeof authorizeMarkPhoneNumberVerified>>
>() {}

export class MarkPhoneNumberVerifiedGate
  extends HttpApiMiddleware.Tag<MarkPhoneNumberVerifiedGate>()("MarkPhoneNumberVerifiedGate", {
    provides: MarkPhoneNumberVerifiedGated,
    failure
  })
{}
