/**
 * The users feature's handlers. A command with a body is checked by its gate (./Gates.ts: path id, who may act, header
 * syntax), then JsonBody reads the body (src/http/json-body.ts) and HttpApiBuilder decodes the payload; the handler
 * runs the authorized program under its Idempotency-Key, if any (src/http/idempotency.ts).
 */
import { HttpApiBuilder, HttpApp, HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Layer } from "effect"
import * as Schema from "effect/Schema"
import { authorizeCreateUser } from "../../app/create-user.js"
import { authorizeErasePersonalData, authorizeMarkPhoneNumberVerified } from "../../app/personal-data.js"
import { readEvents } from "../../app/read-events.js"
import { readUser } from "../../app/read-user.js"
import type { IfMatch } from "../../app/run-command.js"
import { authorizeUpdatePhoneNumber } from "../../app/update-phone-number.js"
import { UsersApi } from "../../http/api.js"
import { afterAuthentication } from "../../http/authentication.js"
import { InvalidRequest } from "../../http/errors.js"
import { IDEMPOTENCY_KEY_HEADER, idempotent, parseIdempotencyKey } from "../../http/idempotency.js"
import { JsonBodyLive } from "../../http/json-body.js"
import { answered, invalidParameter } from "../../http/problems.js"
import { UserId } from "../common.js"
import {
  CreateUserGate,
  CreateUserGated,
  MarkPhoneNumberVerifiedGate,
  MarkPhoneNumberVerifiedGated,
  UpdatePhoneNumberGate,
  UpdatePhoneNumberGated
} from "./Gates.js"

const etag = (version: number) => `"${version}"`

const invalidIfMatch = Effect.fail(
  new InvalidRequest({ code: "invalid-if-match", detail: 'If-Match must be a version in quotes, e.g. "3".' })
)

/** `If-Match: "3"` (or W/"3", or 3) pins version 3; `*` accepts any; anything else is a 400. */
export const parseIfMatch = (header: string | undefined): Effect.Effect<IfMatch | undefined, InvalidRequest> => {
  if (header === undefined) return Effect.succeed(undefined)
  const value = header.trim()
  if (value === "*") return Effect.succeed({ _tag: "Any" })
  const match = /^(?:W\/)?"?([1-9][0-9]{0,14})"?$/.exec(value)
  return match === null ? invalidIfMatch : Effect.succeed({ _tag: "Version", version: Number(match[1]) })
}

const commandHeaders = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.flatMap(parseIfMatch(request.headers["if-match"]), (ifMatch) =>
    Effect.map(
      parseIdempotencyKey(request.headers[IDEMPOTENCY_KEY_HEADER]),
      (idempotencyKey) => ({ ifMatch, idempotencyKey })
    ))

const decodeUserId = Schema.decodeUnknown(UserId)

// The path id as HttpApiBuilder will decode it, so that a bad id is its 400 before who may act is asked.
const pathUserId = Effect.flatMap(
  HttpRouter.RouteContext,
  ({ params }) => Effect.mapError(decodeUserId(params.id), () => invalidParameter("id"))
)

const withHeaders = <Run>(run: Run) =>
  Effect.flatMap(
    HttpServerRequest.HttpServerRequest,
    (request) => Effect.map(commandHeaders(request), (headers) => ({ run, ...headers }))
  )

const withKey = <Run>(run: Run) =>
  Effect.flatMap(
    HttpServerRequest.HttpServerRequest,
    (request) =>
      Effect.map(parseIdempotencyKey(request.headers[IDEMPOTENCY_KEY_HEADER]), (idempotencyKey) => ({
        run,
        idempotencyKey
      }))
  )

/** Each body command's gate, then JsonBody: HttpApiBuilder runs both before it decodes the payload. */
const Gates = Layer.mergeAll(
  Layer.succeed(CreateUserGate, afterAuthentication(answered(Effect.flatMap(authorizeCreateUser, withKey)))),
  Layer.succeed(
    UpdatePhoneNumberGate,
    afterAuthentication(
      answered(Effect.flatMap(pathUserId, (id) => Effect.flatMap(authorizeUpdatePhoneNumber(id), withHeaders)))
    )
  ),
  Layer.succeed(
    MarkPhoneNumberVerifiedGate,
    afterAuthentication(
      answered(Effect.zipRight(pathUserId, Effect.flatMap(authorizeMarkPhoneNumberVerified, withHeaders)))
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
      answered(Effect.flatMap(UpdatePhoneNumberGated, ({ idempotencyKey, ifMatch, run: update }) =>
        idempotent(
          request,
          idempotencyKey,
          () =>
            update({ phoneNumber: payload.phoneNumber, verification: payload.verification, ifMatch }),
          { status: 200, userId: path.id }
        ))))
    .handle("markPhoneNumberVerified", ({ path, payload, request }) =>
      answered(Effect.flatMap(MarkPhoneNumberVerifiedGated, ({ idempotencyKey, ifMatch, run: mark }) =>
        idempotent(
          request,
          idempotencyKey,
          () =>
            mark({ userId: path.id, phoneNumber: payload.phoneNumber, ifMatch }),
          { status: 200, userId: path.id }
        ))))
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
