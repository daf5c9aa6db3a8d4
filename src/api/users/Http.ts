/**
 * The users feature's handlers. Commands are authorized first, then run under their Idempotency-Key, if any
 * (src/http/idempotency.ts). Those with a body use `handleRaw`: HttpApi would decode it before authorization, unbounded,
 * and answer malformed JSON with a 500 (`Effect.orDie(request.json)`); body.ts reads it after, with the endpoint's schema.
 */
import { HttpApiBuilder, HttpApp, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { authorizeCreateUser } from "../../app/create-user.js"
import { authorizeErasePersonalData, authorizeMarkPhoneNumberVerified } from "../../app/personal-data.js"
import { readEvents } from "../../app/read-events.js"
import { readUser } from "../../app/read-user.js"
import type { IfMatch } from "../../app/run-command.js"
import { authorizeUpdatePhoneNumber } from "../../app/update-phone-number.js"
import { UsersApi } from "../../http/api.js"
import { jsonBodyDecoder } from "../../http/body.js"
import { InvalidRequest } from "../../http/errors.js"
import { idempotent } from "../../http/idempotency.js"
import { answered } from "../../http/problems.js"
import { CreateUserBody, MarkPhoneNumberVerifiedBody, UpdatePhoneNumberBody } from "./Api.js"

const decodeCreate = jsonBodyDecoder(CreateUserBody)
const decodeUpdate = jsonBodyDecoder(UpdatePhoneNumberBody)
const decodeVerify = jsonBodyDecoder(MarkPhoneNumberVerifiedBody)

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

export const UsersHandlers = HttpApiBuilder.group(UsersApi, "users", (handlers) =>
  handlers
    .handleRaw("createUser", ({ request }) =>
      answered(Effect.flatMap(authorizeCreateUser, (create) =>
        idempotent(request, (bytes, actsOn) =>
          Effect.flatMap(decodeCreate(bytes), (body) => {
            if (body.id !== undefined) {
              actsOn(body.id)
            }
            // A create either creates (201) or fails: an existing id is a 409 whatever the number.
            return Effect.tap(create({ userId: body.id, phoneNumber: body.phoneNumber }), (result) => {
              actsOn(result.aggregateId)
            })
          }), { status: 201, readsBody: true }))))
    .handleRaw("updatePhoneNumber", ({ path, request }) =>
      answered(Effect.flatMap(authorizeUpdatePhoneNumber(path.id), (update) =>
        Effect.flatMap(parseIfMatch(request.headers["if-match"]), (ifMatch) =>
          idempotent(
            request,
            (bytes) =>
              Effect.flatMap(decodeUpdate(bytes), (body) =>
                update({ phoneNumber: body.phoneNumber, verification: body.verification, ifMatch })),
            { status: 200, readsBody: true, userId: path.id }
          )))))
    .handleRaw("markPhoneNumberVerified", ({ path, request }) =>
      answered(Effect.flatMap(authorizeMarkPhoneNumberVerified, (mark) =>
        Effect.flatMap(parseIfMatch(request.headers["if-match"]), (ifMatch) =>
          idempotent(
            request,
            (bytes) =>
              Effect.flatMap(
                decodeVerify(bytes),
                (body) =>
                  mark({ userId: path.id, phoneNumber: body.phoneNumber, ifMatch })
              ),
            { status: 200, readsBody: true, userId: path.id }
          )))))
    .handle("erasePersonalData", ({ path, request }) =>
      answered(Effect.flatMap(authorizeErasePersonalData(path.id), (erase) =>
        Effect.flatMap(parseIfMatch(request.headers["if-match"]), (ifMatch) =>
          idempotent(request, () =>
            erase(ifMatch), { status: 200, readsBody: false, userId: path.id })))))
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
