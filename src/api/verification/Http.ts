/**
 * The verification feature's handlers: each command is checked by its gate (./Gates.ts: path id, who may act, header
 * syntax) before JsonBody reads the body and HttpApiBuilder decodes it, as the users commands are.
 */
import { HttpApiBuilder, HttpApp, HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Layer } from "effect"
import * as Schema from "effect/Schema"
import { authorizeSetCodeDelivery } from "../../app/code-delivery.js"
import { authorizeConfirmPhoneNumberChange } from "../../app/confirm-phone-number-change.js"
import { UsersApi } from "../../http/api.js"
import { afterAuthentication } from "../../http/authentication.js"
import { IDEMPOTENCY_KEY_HEADER, idempotent, parseIdempotencyKey } from "../../http/idempotency.js"
import { JsonBodyLive } from "../../http/json-body.js"
import { answered, invalidParameter } from "../../http/problems.js"
import { OrganizationId, UserId } from "../common.js"
import { parseIfMatch } from "../users/Http.js"
import {
  ConfirmPhoneNumberChangeGate,
  ConfirmPhoneNumberChangeGated,
  SetCodeDeliveryGate,
  SetCodeDeliveryGated
} from "./Gates.js"

const pathParam = <A>(name: string, schema: Schema.Schema<A, string>) => {
  const decode = Schema.decodeUnknown(schema)
  return Effect.flatMap(
    HttpRouter.RouteContext,
    ({ params }) => Effect.mapError(decode(params[name]), () => invalidParameter(name))
  )
}

const confirmGate = Effect.flatMap(
  pathParam("id", UserId),
  (id) =>
    Effect.flatMap(
      authorizeConfirmPhoneNumberChange(id),
      (run) =>
        Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
          Effect.flatMap(parseIfMatch(request.headers["if-match"]), (ifMatch) =>
            Effect.map(
              parseIdempotencyKey(request.headers[IDEMPOTENCY_KEY_HEADER]),
              (idempotencyKey) => ({ run, ifMatch, idempotencyKey })
            )))
    )
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
      answered(Effect.flatMap(ConfirmPhoneNumberChangeGated, ({ idempotencyKey, ifMatch, run: confirm }) =>
        idempotent(
          request,
          idempotencyKey,
          () =>
            confirm({ code: payload.code, ifMatch }),
          { status: 200, userId: path.id }
        ))))
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
