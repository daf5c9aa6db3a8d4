/**
 * The users feature's contract: create a user, the three commands on one, and two reads. Over 250 lines: each
 * command's answer carries its own example event, which the reference page shows.
 */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import * as Schema from "effect/Schema"
import * as App from "../../app/errors.js"
import * as Domain from "../../domain/errors.js"
import { UserEvent } from "../../domain/events.js"
import { PhoneNumberNotAllowed } from "../../domain/phone-policy-schema.js"
import * as Http from "../../http/errors.js"
import { JsonBody, STRICT_BODY } from "../../http/json-body.js"
import { withProblems } from "../../http/problems.js"
import { VerificationRateLimited } from "../../services/code-limits.js"
import * as Ports from "../../services/errors.js"
import { Authentication, QueryInteger, UserId } from "../common.js"
import { CreateUserGate, MarkPhoneNumberVerifiedGate, UpdatePhoneNumberGate } from "./Gates.js"

// The description sits on the string, where the reference shows it; the union only offers the examples.
const PhoneNumberInput = Schema.NullOr(
  Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64)).annotations({
    description: "1 to 64 characters in international form (+ or 00, then the country code); stored as E.164. " +
      "JSON null removes the number."
  })
).annotations({ examples: ["+14155552671", null] })

export const MarkPhoneNumberVerifiedBody = Schema.Struct({
  phoneNumber: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64)).annotations({
    description: "The number that was verified (e.g. the one the code was sent to); it must be the current number."
  })
}).annotations({ identifier: "MarkPhoneNumberVerifiedRequest", parseOptions: STRICT_BODY })

export const UpdatePhoneNumberBody = Schema.Struct({
  phoneNumber: PhoneNumberInput,
  verification: Schema.optional(Schema.Literal("none", "send-code", "return-code")).annotations({
    description: "none (the default): the number changes at once, unverified. send-code: the number changes only " +
      "once a code is confirmed (ConfirmPhoneNumberChange); the code goes to the organization's code-delivery " +
      "endpoint. return-code: the same, with the code in the answer (scope phone:code:return)."
  })
}).annotations({ identifier: "UpdatePhoneNumberRequest", parseOptions: STRICT_BODY })

export const CreateUserBody = Schema.Struct({
  id: Schema.optional(UserId.annotations({ examples: ["user_42"] })),
  phoneNumber: Schema.optional(PhoneNumberInput)
}).annotations({ identifier: "CreateUserRequest", parseOptions: STRICT_BODY })

export const UserResponse = Schema.Struct({
  success: Schema.Literal(true),
  id: Schema.String,
  version: Schema.Int.annotations({ description: "The user's version: 1 at creation, one more per event." }),
  phoneNumber: Schema.NullOr(Schema.String).annotations({
    description: "E.164 for the user itself or a service with users:pii:read; otherwise masked (****1234)."
  }),
  phoneNumberForm: Schema.Literal("raw", "masked"),
  phoneNumberVerified: Schema.Boolean,
  erased: Schema.Boolean,
  pendingPhoneNumberChange: Schema.optional(Schema.Struct({
    maskedPhoneNumber: Schema.String,
    expiresAt: Schema.String.annotations({ description: "ISO-8601" })
  })).annotations({ description: "A verified change waiting for its code; the current number stays until then." })
}).annotations({ identifier: "User" })

export const CommandResponse = Schema.Struct({
  success: Schema.Literal(true),
  aggregateId: Schema.String,
  version: Schema.Int.annotations({ description: "The user's version after the command (its ETag)." }),
  event: Schema.NullOr(UserEvent).annotations({ description: "null when nothing changed" })
}).annotations({ identifier: "CommandResponse" })

// Each command's answer shows its own event: generated from the union, every answer would show a UserCreated.
const answerExample = (version: number, type: UserEvent["type"], data: object) =>
  CommandResponse.annotations({
    examples: [
      Schema.decodeUnknownSync(CommandResponse)({
        success: true,
        aggregateId: "user_demo",
        version,
        event: {
          id: "0193a5b2-7c41-7d2e-9f3a-4b5c6d7e8f90",
          type,
          aggregateType: "User",
          aggregateId: "user_demo",
          version,
          occurredAt: "2026-01-15T10:30:00.000Z",
          data,
          metadata: {
            organizationId: "org_demo",
            actor: { type: "user", id: "user_demo" },
            requestId: "0193a5b2-7c40-7a1b-8c2d-3e4f5a6b7c8d"
          }
        }
      })
    ]
  })

export const PendingChangeResponse = Schema.Struct({
  success: Schema.Literal(true),
  aggregateId: Schema.String,
  version: Schema.Int.annotations({ description: "The user's version after the request (its ETag)." }),
  event: UserEvent.annotations({ description: "UserPhoneNumberChangeRequested, masked" }),
  pendingChange: Schema.Struct({
    id: Schema.String,
    maskedPhoneNumber: Schema.String,
    expiresAt: Schema.String.annotations({ description: "ISO-8601: ten minutes after the request" })
  }),
  verificationCode: Schema.optional(Schema.String.annotations({
    description: "return-code only: the six digits to send to the new number. Never stored, never shown again."
  }))
}).annotations({ identifier: "PendingChangeResponse" })

export const EventPageResponse = Schema.Struct({
  success: Schema.Literal(true),
  aggregateId: Schema.String,
  events: Schema.Array(UserEvent),
  nextAfterVersion: Schema.NullOr(Schema.Int.annotations({ description: "afterVersion of the next page" }))
    .annotations({ description: "afterVersion of the next page, or null" })
}).annotations({ identifier: "EventPage" })

const EventsQuery = Schema.Struct({
  afterVersion: Schema.optional(
    QueryInteger(0, Number.MAX_SAFE_INTEGER, "Only the events after this version (default 0: from the first).")
  ),
  limit: Schema.optional(QueryInteger(1, 100, "At most this many events (default 50)."))
})

const IDEMPOTENCY_KEY_RULES = "Optional, 1 to 255 printable ASCII characters (e.g. a UUID), chosen by the client per " +
  "request. Keys are the caller's own (per organization and token subject), and a request refused with 403 keeps " +
  "none. The first completed answer to a key is kept for 24 hours: the same request again " +
  "(method, path, caller, If-Match and body bytes) gets that answer again with Idempotent-Replayed: true and writes " +
  "nothing; the key with another request is a 422 idempotency-key-reused; while the first request runs, a 409 " +
  "idempotency-key-in-use. Answers of 5xx and 409 concurrent-update are not kept: retry with the same key."

/**
 * The optional Idempotency-Key of every command (src/http/idempotency.ts). Declared as any string so that the
 * framework never refuses it on its own: the handler checks it and answers 400 invalid-idempotency-key. No example: a
 * request copied from the reference would replay a fixed key (as If-Match would send a stale version, a 412).
 */
export const IdempotencyKeyHeaders = Schema.Struct({
  "idempotency-key": Schema.optional(
    Schema.String.annotations({
      description: IDEMPOTENCY_KEY_RULES,
      jsonSchema: {
        type: "string",
        minLength: 1,
        maxLength: 255,
        pattern: "^[\\x20-\\x7E]+$",
        description: IDEMPOTENCY_KEY_RULES
      }
    })
  )
})

const IF_MATCH_RULES = 'Optional: write only if the user is still at this version, e.g. "3" (the ETag of a read or ' +
  'of an answer; W/"3" and 3 are accepted too), else 412 version-mismatch and nothing is written; * accepts any ' +
  "version. Anything else is a 400 invalid-if-match."

/**
 * The headers of a command on an existing user: its Idempotency-Key and its optional If-Match. Declared so that a
 * typed client (src/client.ts) can send If-Match at all, and as any string, like the key, so that the framework never
 * refuses it on its own: its gate parses it (`parseIfMatch`, src/api/gate.ts) in its place in the order of checks.
 */
export const CommandHeaders = Schema.Struct({
  ...IdempotencyKeyHeaders.fields,
  "if-match": Schema.optional(
    Schema.String.annotations({
      description: IF_MATCH_RULES,
      jsonSchema: { type: "string", description: IF_MATCH_RULES }
    })
  )
})

/**
 * Every command can meet any of these: bad input, a missing or erased user, a lost race, a taken number, and an
 * Idempotency-Key in use or reused.
 */
const COMMAND_PROBLEMS = [
  Http.InvalidRequest,
  Domain.UserNotFound,
  Domain.UserAlreadyExists,
  Ports.VersionConflict,
  Ports.PhoneNumberInUse,
  Domain.VerificationRejected,
  Ports.IdempotencyKeyInUse,
  Domain.UserErased,
  App.PreconditionFailed,
  Http.PayloadTooLarge,
  Http.UnsupportedMediaType,
  Domain.InvalidPhoneNumber,
  Http.IdempotencyKeyReused,
  Ports.Forbidden,
  Ports.StoreUnavailable
]

/** A requested verified change can meet the organization's phone policy and its code delivery too. */
const VERIFICATION_PROBLEMS = [PhoneNumberNotAllowed, VerificationRateLimited, Ports.CodeDeliveryUnavailable]

const READ_PROBLEMS = [Http.InvalidRequest, Domain.UserNotFound, Ports.Forbidden, Ports.StoreUnavailable]

const IdPath = HttpApiSchema.param("id", UserId)

export class UsersGroup extends HttpApiGroup.make("users")
  .add(
    HttpApiEndpoint.post("createUser", "/users")
      .setPayload(CreateUserBody)
      .setHeaders(IdempotencyKeyHeaders)
      .addSuccess(
        answerExample(1, "UserCreated", { maskedPhoneNumber: "****2671" }).annotations(
          HttpApiSchema.annotations({ status: 201 })
        )
      )
      .pipe(withProblems(...COMMAND_PROBLEMS))
      .middleware(JsonBody)
      .middleware(CreateUserGate)
      .annotate(OpenApi.Summary, "Create a user (service token with users:write); an existing id is a 409")
      .annotate(
        OpenApi.Description,
        "Creates the user at version 1 and appends a UserCreated event with the number's masked form (201). An id " +
          "that exists already is a 409 user-already-exists whatever number is sent, and an erased one a 410 " +
          "user-erased, so that the answer never tells whether a guessed number is the stored one. To retry a " +
          "create safely, send an Idempotency-Key: the retry gets the first answer again (the 201 with its event)."
      )
  )
  .add(
    HttpApiEndpoint.post("updatePhoneNumber")`/users/${IdPath}/UpdatePhoneNumber`
      .setPayload(UpdatePhoneNumberBody)
      .setHeaders(CommandHeaders)
      .addSuccess(
        answerExample(2, "UserPhoneNumberUpdated", {
          maskedPhoneNumber: "****2671",
          previousMaskedPhoneNumber: null,
          phoneNumberVerified: false
        })
      )
      .addSuccess(PendingChangeResponse.annotations(HttpApiSchema.annotations({ status: 202 })))
      .pipe(withProblems(...COMMAND_PROBLEMS, ...VERIFICATION_PROBLEMS))
      .middleware(JsonBody)
      .middleware(UpdatePhoneNumberGate)
      .annotate(OpenApi.Summary, "Set or remove a user's phone number")
      .annotate(
        OpenApi.Description,
        "Stores the number in E.164 and appends a UserPhoneNumberUpdated event with its masked form, atomically. " +
          'Optional `If-Match: "3"` (the version you read; 412 on mismatch). `event` is null when nothing changed.'
      )
  )
  .add(
    HttpApiEndpoint.post("markPhoneNumberVerified")`/users/${IdPath}/MarkPhoneNumberVerified`
      .setPayload(MarkPhoneNumberVerifiedBody)
      .setHeaders(CommandHeaders)
      .addSuccess(answerExample(3, "UserPhoneNumberVerified", { maskedPhoneNumber: "****2671" }))
      .pipe(withProblems(...COMMAND_PROBLEMS))
      .middleware(JsonBody)
      .middleware(MarkPhoneNumberVerifiedGate)
      .annotate(OpenApi.Summary, "Mark the current number verified (service token with users:write and users:pii:read)")
      .annotate(
        OpenApi.Description,
        "Name the number that was checked (e.g. the one the code was sent to): it is marked verified only while " +
          "it is still the stored one (else 409 phone-number-mismatch). Comparing it with the stored number is " +
          "reading the number, so users:pii:read is needed as well as users:write; without either the answer is 403 " +
          "missing-scope before anything is read."
      )
  )
  .add(
    HttpApiEndpoint.post("erasePersonalData")`/users/${IdPath}/ErasePersonalData`
      .setHeaders(CommandHeaders)
      .addSuccess(answerExample(4, "UserPersonalDataErased", { erasedFields: ["phoneNumber"] }))
      .pipe(withProblems(...COMMAND_PROBLEMS))
      .annotate(OpenApi.Summary, "Erase the user's personal data (the user, or a service with users:erase)")
      .annotate(
        OpenApi.Description,
        "Deletes every raw PII value of the user and appends UserPersonalDataErased. The audit trail keeps its " +
          "masked events and still verifies. Erasing again answers event null; later personal data is refused (410)."
      )
  )
  .add(
    HttpApiEndpoint.get("getUser")`/users/${IdPath}`
      .addSuccess(UserResponse)
      .pipe(withProblems(...READ_PROBLEMS))
      .annotate(OpenApi.Summary, "Read a user; the raw number only for the user itself or users:pii:read")
  )
  .add(
    HttpApiEndpoint.get("listEvents")`/users/${IdPath}/events`
      .setUrlParams(EventsQuery)
      .addSuccess(EventPageResponse)
      .pipe(withProblems(...READ_PROBLEMS))
      .annotate(OpenApi.Summary, "A user's audit trail, masked, oldest first")
  )
  // On each endpoint above (so it stays after the last `.add`), to run before their own middleware (a gate, then
  // JsonBody); its errors stay the group's, as the OpenAPI document had them.
  .middlewareEndpoints(Authentication)
  .addError(Authentication.failure)
  .annotate(
    OpenApi.Description,
    "Users and their phone numbers: create a user, set, verify or erase the number, read the user and its events."
  )
{}
