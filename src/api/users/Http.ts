/**
 * The users feature's handlers. A command with a body is checked by its gate (./Gates.ts: path id, who may act, header
 * syntax), then JsonBody reads the body (src/http/json-body.ts) and HttpApiBuilder decodes the payload; the handler
 * runs the authorized program under its Idempotency-Key, if any (src/http/idempotency.ts).
 */
import { HttpApiBuilder, HttpApp, HttpServerResponse } from "@effect/platform"
import { Effect, Layer } from "effect"
import { authorizeCreateUser } from "../../app/create-user.js"
import { authorizeErasePersonalData, authorizeMarkPhoneNumberVerified } from "../../app/personal-data.js"
import { readEvents } from "../../app/read-events.js"
import { readUser } from "../../app/read-user.js"
import { authorizeUpdatePhoneNumber } from "../../app/update-phone-number.js"
import { UsersApi } from "../../http/api.js"
import { afterAuthentication } from "../../http/authentication.js"
import { idempotent } from "../../http/idempotency.js"
import { JsonBodyLive } from "../../http/json-body.js"
import { answered } from "../../http/problems.js"
import { UserId } from "../common.js"
import { commandHeaders, idempotentCommand, pathParam, withHeaders, withKey } from "../gate.js"
import {
  CreateUserGate,
  CreateUserGated,
  MarkPhoneNumberVerifiedGate,
  MarkPhoneNumberVerifiedGated,
  UpdatePhoneNumberGate,
  UpdatePhoneNumberGated
} from "./Gates.js"

const etag = (version: number) => `"${version}"`

/** Each body command's gate, then JsonBody: HttpApiBuilder runs both before it decodes the payload. */
const Gates = Layer.mergeAll(
  Layer.succeed(CreateUserGate, afterAuthentication(answered(Effect.flatMap(authorizeCreateUser, withKey)))),
  Layer.succeed(
    UpdatePhoneNumberGate,
    afterAuthentication(
      answered(
        Effect.flatMap(pathParam("id", UserId), (id) => Effect.flatMap(authorizeUpdatePhoneNumber(id), withHeaders))
      )
    )
  ),
  Layer.succeed(
    MarkPhoneNumberVerifiedGate,
    afterAuthentication(
      answered(Effect.zipRight(pathParam("id", UserId), Effect.flatMap(authorizeMarkPhoneNumberVerified, withHeaders)))
    )
  ),
  JsonBodyLive
)

const Handlers = HttpApiBuilder.group(UsersApi, "users", (handlers) =>
  handlers
    .handle("createUser", ({ payload, request }) =>
      answered(Effect.flatMap(CreateUserGated, ({ idempotencyKey, run: create }) =>
        idempotent(request, idempotencyKey, (actsOn) => {
          if (payload.id !== undefined) {
            actsOn(payload.id)
          }
          // A create either creates (201) or fails: an existing id is a 409 whatever the number.
          return Effect.tap(create({ userId: payload.id, phoneNumber: payload.phoneNumber }), (result) => {
            actsOn(result.aggregateId)
          })
        }, { status: 201 }))))
    .handle("updatePhoneNumber", ({ path, payload, request }) =>
      answered(idempotentCommand(UpdatePhoneNumberGated, request, path.id, (update, ifMatch) =>
        update({ phoneNumber: payload.phoneNumber, verification: payload.verification, ifMatch }))))
    .handle("markPhoneNumberVerified", ({ path, payload, request }) =>
      answered(idempotentCommand(MarkPhoneNumberVerifiedGated, request, path.id, (mark, ifMatch) =>
        mark({ userId: path.id, phoneNumber: payload.phoneNumber, ifMatch }))))
    .handle("erasePersonalData", ({ path, request }) =>
      answered(Effect.flatMap(authorizeErasePersonalData(path.id), (erase) =>
        Effect.flatMap(commandHeaders(request), ({ idempotencyKey, ifMatch }) =>
          idempotent(request, idempotencyKey, () =>
            erase(ifMatch), { status: 200, userId: path.id })))))
    .handle("getUser", ({ path }) =>
      answered(Effect.flatMap(readUser(path.id), (user) =>
        Effect.as(
          HttpApp.appendPreResponseHandler((_, response) =>
            Effect.succeed(HttpServerResponse.setHeader(response, "etag", etag(user.version)))
          ),
          { success: true as const, ...user }
        ))))
    .handle("listEvents", ({ path, urlParams }) =>
      answered(Effect.map(
        readEvents({ userId: path.id, afterVersion: urlParams.afterVersion ?? 0, limit: urlParams.limit ?? 50 }),
        (page) => ({ success: true as const, ...page })
      ))))

export const UsersHandlers = Layer.provide(Handlers, Gates)
