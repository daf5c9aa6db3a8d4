/** What confirmPhoneNumberChange and setCodeDelivery check before their body is read: the path id and who may act. */
import { HttpApiMiddleware } from "@effect/platform"
import { Context, type Effect } from "effect"
import * as Schema from "effect/Schema"
import type { authorizeSetCodeDelivery } from "../../app/code-delivery.js"
import type { authorizeConfirmPhoneNumberChange } from "../../app/confirm-phone-number-change.js"
import * as App from "../../app/errors.js"
import type { IfMatch } from "../../app/run-command.js"
import * as Http from "../../http/errors.js"
import { problemsFor } from "../../http/problems.js"
import * as Ports from "../../services/errors.js"

const failure = Schema.Union(...problemsFor([Http.InvalidRequest, Ports.Forbidden, App.OrganizationNotFound]))

export class ConfirmPhoneNumberChangeGated extends Context.Tag("users-api/ConfirmPhoneNumberChangeGated")<
  ConfirmPhoneNumberChangeGated,
  {
    readonly run: Effect.Effect.Success<ReturnType<typeof authorizeConfirmPhoneNumberChange>>
    readonly ifMatch: IfMatch | undefined
    readonly idempotencyKey: string | undefined
  }
>() {}

export class ConfirmPhoneNumberChangeGate
  extends HttpApiMiddleware.Tag<ConfirmPhoneNumberChangeGate>()("ConfirmPhoneNumberChangeGate", {
    provides: ConfirmPhoneNumberChangeGated,
    failure
  })
{}

export class SetCodeDeliveryGated extends Context.Tag("users-api/SetCodeDeliveryGated")<
  SetCodeDeliveryGated,
  Effect.Effect.Success<ReturnType<typeof authorizeSetCodeDelivery>>
>() {}

export class SetCodeDeliveryGate extends HttpApiMiddleware.Tag<SetCodeDeliveryGate>()("SetCodeDeliveryGate", {
  provides: SetCodeDeliveryGated,
  failure
}) {}
