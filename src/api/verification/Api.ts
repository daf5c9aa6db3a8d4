/** The verified phone number change's own routes: confirming a code, and where codes are delivered. */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import * as Schema from "effect/Schema"
import * as App from "../../app/errors.js"
import * as Domain from "../../domain/errors.js"
import { MAX_WEBHOOK_URL_LENGTH } from "../../domain/webhook-url.js"
import * as Http from "../../http/errors.js"
import { JsonBody, STRICT_BODY } from "../../http/json-body.js"
import { withProblems } from "../../http/problems.js"
import * as Ports from "../../services/errors.js"
import { Authentication, ORGANIZATION_PROBLEMS, OrganizationId, UserId } from "../common.js"
import { CommandHeaders, CommandResponse } from "../users/Api.js"
import { ConfirmPhoneNumberChangeGate, SetCodeDeliveryGate } from "./Gates.js"

export const ConfirmPhoneNumberChangeBody = Schema.Struct({
  code: Schema.String.pipe(Schema.pattern(/^[0-9]{6}$/)).annotations({
    description: "The six digits sent to the new number.",
    examples: ["123456"]
  })
}).annotations({ identifier: "ConfirmPhoneNumberChangeRequest", parseOptions: STRICT_BODY })

export const CodeDeliveryBody = Schema.Struct({
  url: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(MAX_WEBHOOK_URL_LENGTH)).annotations({
    description: "The organization's SMS gateway: https, public, with the URL rules of event webhooks.",
    examples: ["https://sms.example.com/users-api/codes"]
  })
}).annotations({ identifier: "CodeDeliveryRequest", parseOptions: STRICT_BODY })

export const CodeDeliveryResponse = Schema.Struct({
  success: Schema.Literal(true),
  url: Schema.String,
  secret: Schema.String.annotations({
    description: "whsec_…: the endpoint checks each delivery's Standard Webhooks signature with it. Derived, not " +
      "stored; the same for the organization until WEBHOOK_SECRET_KEY changes."
  })
}).annotations({ identifier: "CodeDelivery" })

const CONFIRM_PROBLEMS = [
  Http.InvalidRequest,
  Domain.UserNotFound,
  Domain.NoPendingChange,
  Ports.VersionConflict,
  Ports.PhoneNumberInUse,
  Ports.IdempotencyKeyInUse,
  Domain.UserErased,
  Domain.VerificationExpired,
  App.PreconditionFailed,
  Http.PayloadTooLarge,
  Http.UnsupportedMediaType,
  Domain.InvalidVerificationCode,
  Http.IdempotencyKeyReused,
  Ports.Forbidden,
  Ports.StoreUnavailable
]

const IdPath = HttpApiSchema.param("id", UserId)
const OrganizationPath = HttpApiSchema.param("organizationId", OrganizationId)

export class VerificationGroup extends HttpApiGroup.make("verification")
  .add(
    HttpApiEndpoint.post("confirmPhoneNumberChange")`/users/${IdPath}/ConfirmPhoneNumberChange`
      .setPayload(ConfirmPhoneNumberChangeBody)
      .setHeaders(CommandHeaders)
      .addSuccess(CommandResponse)
      .pipe(withProblems(...CONFIRM_PROBLEMS))
      .middleware(JsonBody)
      .middleware(ConfirmPhoneNumberChangeGate)
      .annotate(OpenApi.Summary, "Confirm a pending phone number change with its code (the user, or users:write)")
      .annotate(
        OpenApi.Description,
        "Applies the pending number with phoneNumberVerified true and appends UserPhoneNumberUpdated, atomically. " +
          "A number another user holds unverified is released from it in the same write (UserPhoneNumberReleased " +
          "in the holder's chain); a verified holder keeps it (409 phone-number-in-use). A wrong code is a 422 " +
          "invalid-verification-code with attemptsLeft; the fifth wrong code or an expired change is a 410 " +
          "verification-expired; no pending change, a 404 no-pending-change."
      )
  )
  .add(
    HttpApiEndpoint.put("setCodeDelivery")`/organizations/${OrganizationPath}/code-delivery`
      .setPayload(CodeDeliveryBody)
      .addSuccess(CodeDeliveryResponse)
      .pipe(
        withProblems(
          ...ORGANIZATION_PROBLEMS,
          App.InvalidWebhookUrl,
          Http.PayloadTooLarge,
          Http.UnsupportedMediaType,
          Ports.CodeDeliveryUnavailable
        )
      )
      .middleware(JsonBody)
      .middleware(SetCodeDeliveryGate)
      .annotate(OpenApi.Summary, "Set where verification codes are delivered (service token with webhooks:write)")
      .annotate(
        OpenApi.Description,
        "Codes of send-code changes are POSTed there, signed as event webhooks are (webhook-id: the pending " +
          "change's id), with {type: phone.verification-code, timestamp, data: {userId, phoneNumber, code, " +
          "expiresAt}}. The answer carries the signing secret."
      )
  )
  // On each endpoint above, before their own gate and JsonBody (src/api/users/Api.ts).
  .middlewareEndpoints(Authentication)
  .addError(Authentication.failure)
  .annotate(
    OpenApi.Description,
    "The verified change of a phone number: confirming its code, and the organization's endpoint that delivers codes."
  )
{}
