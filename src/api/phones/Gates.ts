/** What putPhonePolicy and lookupUsers check before their body is read: the path's organization and who may act. */
import { HttpApiMiddleware } from "@effect/platform"
import { Context, type Effect } from "effect"
import * as Schema from "effect/Schema"
import * as App from "../../app/errors.js"
import type { authorizeLookupUsers } from "../../app/lookup-users.js"
import type { authorizePutPhonePolicy } from "../../app/phone-policy.js"
import * as Http from "../../http/errors.js"
import { problemsFor } from "../../http/problems.js"
import * as Ports from "../../services/errors.js"

const failure = Schema.Union(...problemsFor([Http.InvalidRequest, Ports.Forbidden, App.OrganizationNotFound]))

export class PutPhonePolicyGated extends Context.Tag("users-api/PutPhonePolicyGated")<
  PutPhonePolicyGated,
  Effect.Effect.Success<ReturnType<typeof authorizePutPhonePolicy>>
>() {}

export class PutPhonePolicyGate extends HttpApiMiddleware.Tag<PutPhonePolicyGate>()("PutPhonePolicyGate", {
  provides: PutPhonePolicyGated,
  failure
}) {}

export class LookupUsersGated extends Context.Tag("users-api/LookupUsersGated")<
  LookupUsersGated,
  Effect.Effect.Success<typeof authorizeLookupUsers>
>() {}

export class LookupUsersGate extends HttpApiMiddleware.Tag<LookupUsersGate>()("LookupUsersGate", {
  provides: LookupUsersGated,
  failure
}) {}
