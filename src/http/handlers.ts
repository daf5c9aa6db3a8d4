/**
 * Handlers: HTTP in, application program, HTTP out. Failures stay in the error channel for edge.ts.
 * Commands (the POSTs) are authorized first, then run under their Idempotency-Key, if the request has one
 * (idempotency.ts): a refused request neither reads its body nor claims its key.
 */
import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Effect, Schema } from "effect"
import { authorizeCreateUser, createUser } from "../app/create-user.js"
import { InvalidRequest } from "../app/errors.js"
import {
  authorizeErasePersonalData,
  authorizeMarkPhoneNumberVerified,
  erasePersonalData,
  markPhoneNumberVerified
} from "../app/personal-data.js"
import { readEvents } from "../app/read-events.js"
import { readAuditHead, readUser } from "../app/read-user.js"
import type { CommandResult, IfMatch } from "../app/run-command.js"
import { authorizeUpdatePhoneNumber, updatePhoneNumber } from "../app/update-phone-number.js"
import { UserRepo } from "../services/user-repo.js"
import {
  AuditHeadResponse,
  CommandResponse,
  CreateUserBody,
  EventPageResponse,
  MarkPhoneNumberVerifiedBody,
  UpdatePhoneNumberBody,
  UserResponse,
  UsersApi
} from "./api.js"
import { decodeJsonBody } from "./body.js"
import { idempotent } from "./idempotency.js"

const encodeCommand = Schema.encodeSync(CommandResponse)
const encodePage = Schema.encodeSync(EventPageResponse)
const encodeUser = Schema.encodeSync(UserResponse)
const encodeHead = Schema.encodeSync(AuditHeadResponse)

const etag = (version: number) => `"${version}"`

const commandResponse = (result: CommandResult, status: 200 | 201) =>
  HttpServerResponse.unsafeJson(encodeCommand({ success: true, ...result }), {
    status,
    headers: { etag: etag(result.version) }
  })

/** `If-Match: "3"` (or W/"3", or 3) pins version 3; `*` accepts any; anything else is a 400. */
export const parseIfMatch = (header: string | undefined): Effect.Effect<IfMatch | undefined, InvalidRequest> => {
  if (header === undefined) return Effect.succeed(undefined)
  const value = header.trim()
  if (value === "*") return Effect.succeed({ _tag: "Any" })
  const match = /^(?:W\/)?"?([1-9][0-9]{0,14})"?$/.exec(value)
  return match === null
    ? Effect.fail(
      new InvalidRequest({ code: "invalid-if-match", detail: 'If-Match must be a version in quotes, e.g. "3".' })
    )
    : Effect.succeed({ _tag: "Version", version: Number(match[1]) })
}

export const UsersLive = HttpApiBuilder.group(UsersApi, "users", (handlers) =>
  handlers
    .handleRaw("createUser", ({ request }) =>
      Effect.zipRight(
        authorizeCreateUser,
        idempotent(request, (bytes, actsOn) =>
          Effect.gen(function*() {
            const body = yield* decodeJsonBody(bytes, CreateUserBody)
            if (body.id !== undefined) actsOn(body.id)
            const result = yield* createUser({ userId: body.id, phoneNumber: body.phoneNumber })
            actsOn(result.aggregateId)
            // A create either creates (201) or fails: an existing id is a 409 whatever the number (issue 9).
            return commandResponse(result, 201)
          }))
      ))
    .handleRaw("updatePhoneNumber", ({ path, request }) =>
      Effect.gen(function*() {
        yield* authorizeUpdatePhoneNumber(path.id)
        const ifMatch = yield* parseIfMatch(request.headers["if-match"])
        return yield* idempotent(request, (bytes) =>
          Effect.gen(function*() {
            const body = yield* decodeJsonBody(bytes, UpdatePhoneNumberBody)
            const result = yield* updatePhoneNumber({ userId: path.id, phoneNumber: body.phoneNumber, ifMatch })
            return commandResponse(result, 200)
          }), { readsBody: true, userId: path.id })
      }))
    .handleRaw("markPhoneNumberVerified", ({ path, request }) =>
      Effect.gen(function*() {
        yield* authorizeMarkPhoneNumberVerified
        const ifMatch = yield* parseIfMatch(request.headers["if-match"])
        return yield* idempotent(request, (bytes) =>
          Effect.gen(function*() {
            const body = yield* decodeJsonBody(bytes, MarkPhoneNumberVerifiedBody)
            const result = yield* markPhoneNumberVerified({ userId: path.id, phoneNumber: body.phoneNumber, ifMatch })
            return commandResponse(result, 200)
          }), { readsBody: true, userId: path.id })
      }))
    .handleRaw("erasePersonalData", ({ path, request }) =>
      Effect.gen(function*() {
        yield* authorizeErasePersonalData(path.id)
        const ifMatch = yield* parseIfMatch(request.headers["if-match"])
        return yield* idempotent(
          request,
          () => Effect.map(erasePersonalData({ userId: path.id, ifMatch }), (result) => commandResponse(result, 200)),
          { readsBody: false, userId: path.id }
        )
      }))
    .handleRaw("getUser", ({ path }) =>
      readUser(path.id).pipe(
        Effect.map((user) =>
          HttpServerResponse.unsafeJson(encodeUser({ success: true, ...user }), {
            headers: { etag: etag(user.version) }
          })
        )
      ))
    .handleRaw("listEvents", ({ path, urlParams }) =>
      readEvents({ userId: path.id, afterVersion: urlParams.afterVersion ?? 0, limit: urlParams.limit ?? 50 }).pipe(
        Effect.map((page) =>
          HttpServerResponse.unsafeJson(encodePage({ success: true, ...page }))
        )
      )))

export const AuditLive = HttpApiBuilder.group(
  UsersApi,
  "audit",
  (handlers) =>
    handlers.handleRaw("auditHead", ({ path }) =>
      readAuditHead(path.organizationId).pipe(
        Effect.map((head) => HttpServerResponse.unsafeJson(encodeHead({ success: true, ...head })))
      ))
)

export const HealthLive = HttpApiBuilder.group(
  UsersApi,
  "health",
  (handlers) =>
    handlers.handle(
      "health",
      () => Effect.flatMap(UserRepo, (repo) => repo.ping).pipe(Effect.as({ status: "ok" as const }))
    )
)
