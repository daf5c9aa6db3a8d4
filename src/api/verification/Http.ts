/**
 * The verification feature's handlers: each command is checked by its gate (./Gates.ts: path id, who may act, header
 * syntax) before JsonBody reads the body and HttpApiBuilder decodes it, as the users commands are.
 */
import { HttpApiBuilder, HttpApp, HttpServerResponse } from "@effect/platform"
import { Effect, Layer } from "effect"
import { authorizeSetCodeDelivery } from "../../app/code-delivery.js"
import { authorizeConfirmPhoneNumberChange } from "../../app/confirm-phone-number-change.js"
import { UsersApi } from "../../http/api.js"
import { afterAuthentication } from "../../http/authentication.js"
import { JsonBodyLive } from "../../http/json-body.js"
import { answered } from "../../http/problems.js"
import { OrganizationId, UserId } from "../common.js"
import { idempotentCommand, pathParam, withHeaders } from "../gate.js"
import {
  ConfirmPhoneNumberChangeGate,
  ConfirmPhoneNumberChangeGated,
  SetCodeDeliveryGate,
  SetCodeDeliveryGated
} from "./Gates.js"

const confirmGate = Effect.flatMap(
  pathParam("id", UserId),
  (id) => Effect.flatMap(authorizeConfirmPhoneNumberChange(id), withHeaders)
)

const Gates = Layer.mergeAll(
  Layer.succeed(ConfirmPhoneNumberChangeGate, afterAuthentication(answered(confirmGate))),
  Layer.succeed(
    SetCodeDeliveryGate,
    afterAuthentication(answered(Effect.flatMap(pathParam("organizationId", OrganizationId), authorizeSetCodeDelivery)))
  ),
  JsonBodyLive
)

// The signing secret is in the answer: no cache may keep it.
const noStore = HttpApp.appendPreResponseHandler((_, response) =>
  Effect.succeed(HttpServerResponse.setHeader(response, "cache-control", "no-store"))
)

const Handlers = HttpApiBuilder.group(UsersApi, "verification", (handlers) =>
  handlers
    .handle("confirmPhoneNumberChange", ({ path, payload, request }) =>
      answered(idempotentCommand(ConfirmPhoneNumberChangeGated, request, path.id, (confirm, ifMatch) =>
        confirm({ code: payload.code, ifMatch }))))
    .handle("setCodeDelivery", ({ payload }) =>
      answered(Effect.map(
        Effect.zipLeft(
          Effect.flatMap(SetCodeDeliveryGated, (set) =>
            set(payload.url)),
          noStore
        ),
        (view) => ({ success: true as const, ...view })
      ))))

export const VerificationHandlers = Layer.provide(Handlers, Gates)
