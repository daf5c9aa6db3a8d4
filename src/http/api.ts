/**
 * The HTTP contract, declared once with HttpApi: routes, payloads, responses, errors and security.
 * The handlers (handlers.ts) implement it and the OpenAPI document is generated from it.
 */
import {
  HttpApi,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpApiMiddleware,
  HttpApiSchema,
  HttpApiSecurity,
  OpenApi
} from "@effect/platform"
import * as Schema from "effect/Schema"
import { PhoneFingerprints, UserEvent } from "../domain/events.js"
import { MAX_WEBHOOK_URL_LENGTH } from "../domain/webhook-url.js"
import { CurrentPrincipal } from "../services/auth.js"
import { WEBHOOK_EVENT_TYPES } from "../services/webhooks.js"
import { type Problem, problemsFor, type ProblemTag } from "./problems.js"

export const UserId = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9_-]{1,64}$/),
  Schema.annotations({ description: "1 to 64 characters of A-Z, a-z, 0-9, _ and -.", examples: ["user_42"] })
)

const PhoneNumberInput = Schema.NullOr(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64))).annotations({
  description: "International form (+ or 00, then the country code); stored as E.164. JSON null removes the number.",
  examples: ["+14155552671", null]
})

export const MarkPhoneNumberVerifiedBody = Schema.Struct({
  phoneNumber: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64)).annotations({
    description: "The number that was verified (e.g. the one the code was sent to); it must be the current number."
  })
}).annotations({ identifier: "MarkPhoneNumberVerifiedRequest" })

export const UpdatePhoneNumberBody = Schema.Struct({ phoneNumber: PhoneNumberInput }).annotations({
  identifier: "UpdatePhoneNumberRequest"
})

export const CreateUserBody = Schema.Struct({
  id: Schema.optional(UserId),
  phoneNumber: Schema.optional(PhoneNumberInput)
}).annotations({ identifier: "CreateUserRequest" })

export const UserResponse = Schema.Struct({
  success: Schema.Literal(true),
  id: Schema.String,
  version: Schema.Int,
  phoneNumber: Schema.NullOr(Schema.String).annotations({
    description: "E.164 for the user itself or a service with users:pii:read; otherwise masked (****1234)."
  }),
  phoneNumberForm: Schema.Literal("raw", "masked"),
  phoneNumberVerified: Schema.Boolean,
  erased: Schema.Boolean
}).annotations({ identifier: "User" })

const checkpointFields = {
  organizationId: Schema.String,
  sequence: Schema.Int.annotations({ description: "The checkpoint's number, 1, 2, 3… (0: there is none yet)." }),
  hash: Schema.String.annotations({
    description: "SHA-256 (hex) of the checkpoint, chained to every checkpoint before it; 64 zeros when none."
  }),
  prevHash: Schema.String.annotations({
    description: "The hash of the checkpoint before it (64 zeros for the first)."
  }),
  root: Schema.String.annotations({
    description: "Merkle root over the chain heads of the users its events touched (src/audit/checkpoint.ts)."
  }),
  upToEventSequence: Schema.Int.annotations({
    description: "The organization's event number up to which every event is sealed (the feed's sequence)."
  }),
  eventCount: Schema.Int.annotations({
    description: "How many events it sealed: the organization's events after upToEventSequence - eventCount."
  }),
  legacyUpToEventSequence: Schema.NullOr(Schema.Int).annotations({
    description: "Only on checkpoints sealed before per-organization numbers: the number their hash covers."
  })
}

export const AuditHeadResponse = Schema.Struct({
  success: Schema.Literal(true),
  ...checkpointFields,
  createdAt: Schema.NullOr(Schema.String).annotations({ description: "When it was made; null when there is none." })
}).annotations({ identifier: "AuditHead" })

export const AuditCheckpoint = Schema.Struct({ ...checkpointFields, createdAt: Schema.String }).annotations({
  identifier: "AuditCheckpoint"
})

export const CheckpointsResponse = Schema.Struct({
  success: Schema.Literal(true),
  organizationId: Schema.String,
  checkpoints: Schema.Array(AuditCheckpoint),
  nextAfterSequence: Schema.NullOr(Schema.Int).annotations({ description: "afterSequence of the next page, or null" })
}).annotations({ identifier: "AuditCheckpoints" })

export const CommandResponse = Schema.Struct({
  success: Schema.Literal(true),
  aggregateId: Schema.String,
  version: Schema.Int,
  event: Schema.NullOr(UserEvent).annotations({ description: "null when nothing changed" })
}).annotations({ identifier: "CommandResponse" })

export const EventPageResponse = Schema.Struct({
  success: Schema.Literal(true),
  aggregateId: Schema.String,
  events: Schema.Array(UserEvent),
  nextAfterVersion: Schema.NullOr(Schema.Int).annotations({ description: "afterVersion of the next page, or null" })
}).annotations({ identifier: "EventPage" })

const EventsQuery = Schema.Struct({
  afterVersion: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(0, Number.MAX_SAFE_INTEGER))),
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 100)))
})

const Timestamp = Schema.String.annotations({ description: "ISO-8601" })

export const WebhookEventType = Schema.Literal(...WEBHOOK_EVENT_TYPES).annotations({
  identifier: "WebhookEventType",
  description: "A type of the User aggregate's events."
})

export const CreateWebhookBody = Schema.Struct({
  url: Schema.String.pipe(Schema.minLength(1)).annotations({
    description:
      `Where to POST the events: https (http only to the loopback in local development), at most ${MAX_WEBHOOK_URL_LENGTH} characters, no user name or password, no loopback, private, link-local or reserved address.`,
    examples: ["https://hooks.example.com/users-api"]
  }),
  eventTypes: Schema.Array(WebhookEventType).pipe(Schema.minItems(1), Schema.maxItems(WEBHOOK_EVENT_TYPES.length))
    .annotations({
      description: "The event types to send; duplicates count once.",
      examples: [["UserPhoneNumberUpdated"]]
    })
}).annotations({ identifier: "CreateWebhookRequest" })

export const Webhook = Schema.Struct({
  id: Schema.String,
  url: Schema.String,
  eventTypes: Schema.Array(WebhookEventType),
  status: Schema.Literal("active", "disabled"),
  disabledReason: Schema.NullOr(Schema.String).annotations({
    description: "Why it is disabled: receiver-gone (the receiver answered 410 Gone); null while active."
  }),
  disabledAt: Schema.NullOr(Timestamp),
  createdAt: Timestamp,
  previousSecretExpiresAt: Schema.NullOr(Timestamp).annotations({
    description: "After a rotation: until when the secrets it replaced still sign too (null otherwise)."
  })
}).annotations({ identifier: "Webhook" })

export const WebhookWithSecretResponse = Schema.Struct({
  success: Schema.Literal(true),
  webhook: Webhook,
  secret: Schema.String.annotations({
    description: "The signing secret (whsec_…), shown this once: keep it in the receiver's configuration. It is " +
      "not stored (it is derived again for every delivery) and no route shows it again."
  })
}).annotations({ identifier: "WebhookWithSecret" })

export const WebhookListResponse = Schema.Struct({
  success: Schema.Literal(true),
  webhooks: Schema.Array(Webhook)
}).annotations({ identifier: "WebhookList" })

export const DeliveryAttempt = Schema.Struct({
  attemptedAt: Timestamp,
  durationMs: Schema.Int,
  outcome: Schema.Literal("delivered", "http-error", "gone", "timeout", "network-error", "blocked-address"),
  httpStatus: Schema.NullOr(Schema.Int),
  responseExcerpt: Schema.NullOr(Schema.String).annotations({
    description: "At most 256 characters of the receiver's answer (or of the connection error)."
  })
}).annotations({ identifier: "DeliveryAttempt" })

export const Delivery = Schema.Struct({
  eventId: Schema.String.annotations({ description: "The event's id, and the webhook-id of every attempt." }),
  eventSequence: Schema.Int.annotations({ description: "The organization's own event number (the feed's sequence)." }),
  eventType: Schema.String,
  aggregateId: Schema.String,
  version: Schema.Int,
  status: Schema.Literal("pending", "delivered", "failed"),
  nextAttemptAt: Schema.NullOr(Timestamp),
  createdAt: Timestamp,
  completedAt: Schema.NullOr(Timestamp),
  attempts: Schema.Array(DeliveryAttempt)
}).annotations({ identifier: "Delivery" })

export const DeliveryPageResponse = Schema.Struct({
  success: Schema.Literal(true),
  webhookId: Schema.String,
  deliveries: Schema.Array(Delivery),
  nextCursor: Schema.NullOr(Schema.String).annotations({ description: "after= of the next page, or null" })
}).annotations({ identifier: "DeliveryPage" })

export const DeliveryResponse = Schema.Struct({
  success: Schema.Literal(true),
  delivery: Delivery
}).annotations({ identifier: "DeliveryAnswer" })

const Cursor = Schema.String.annotations({
  description: "Opaque: the nextCursor of the previous page. Without it, from the start."
})

const DeliveriesQuery = Schema.Struct({
  status: Schema.optional(Schema.Literal("pending", "delivered", "failed")),
  after: Schema.optional(Cursor),
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 100)))
})

export const FeedEntry = Schema.Struct({
  sequence: Schema.Int.annotations({
    description: "The organization's own event number: 1, 2, 3… in commit order, without a gap."
  }),
  aggregateId: Schema.String,
  version: Schema.Int,
  prevHash: Schema.String.annotations({ description: "The hash of the user's previous event (64 zeros at 1)." }),
  hash: Schema.String.annotations({ description: "SHA-256 (hex) of prevHash and the canonical JSON of {event}." }),
  event: UserEvent,
  fingerprints: Schema.optional(PhoneFingerprints),
  redacted: Schema.optional(
    Schema.Literal(true).annotations({
      description: "An event written before fingerprint commitments whose fingerprints erasure removed: its hash " +
        "covers what it had, so it is linked, not recomputed."
    })
  )
}).annotations({ identifier: "FeedEntry" })

export const FeedResponse = Schema.Struct({
  success: Schema.Literal(true),
  organizationId: Schema.String,
  events: Schema.Array(FeedEntry),
  nextCursor: Schema.String.annotations({
    description: "after= of the next request: past this page's last event (the same cursor when it is empty)."
  }),
  hasMore: Schema.Boolean
}).annotations({ identifier: "OrganizationFeed" })

/** The feed's page size: default and maximum. */
export const FEED_DEFAULT_LIMIT = 100
export const FEED_MAX_LIMIT = 1_000

const FeedQuery = Schema.Struct({
  after: Schema.optional(Cursor),
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, FEED_MAX_LIMIT)))
})

/** The checkpoints' page size: default and maximum. */
export const CHECKPOINTS_DEFAULT_LIMIT = 100

const CheckpointsQuery = Schema.Struct({
  afterSequence: Schema.optional(
    Schema.NumberFromString.pipe(Schema.int(), Schema.between(0, Number.MAX_SAFE_INTEGER))
  ),
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, FEED_MAX_LIMIT)))
})

const IDEMPOTENCY_KEY_RULES = "Optional, 1 to 255 printable ASCII characters (e.g. a UUID), chosen by the client per " +
  "request. Keys are the caller's own (per organization and token subject), and a request refused with 403 keeps " +
  "none. The first completed answer to a key is kept for 24 hours: the same request again " +
  "(method, path, caller, If-Match and body bytes) gets that answer again with Idempotent-Replayed: true and writes " +
  "nothing; the key with another request is a 422 idempotency-key-reused; while the first request runs, a 409 " +
  "idempotency-key-in-use. Answers of 5xx and 409 concurrent-update are not kept: retry with the same key."

/**
 * The optional Idempotency-Key of every command (src/http/idempotency.ts). Declared as any string so that the
 * framework never refuses it on its own: the handler checks it and answers 400 invalid-idempotency-key.
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
        description: IDEMPOTENCY_KEY_RULES,
        examples: ["0f8fad5b-d9cb-469f-a165-70867728950e"]
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
 * refuses it on its own: the handler parses it (`parseIfMatch`) in its place in the order of checks.
 */
export const CommandHeaders = Schema.Struct({
  ...IdempotencyKeyHeaders.fields,
  "if-match": Schema.optional(
    Schema.String.annotations({
      description: IF_MATCH_RULES,
      jsonSchema: { type: "string", description: IF_MATCH_RULES, examples: ['"3"'] }
    })
  )
})

/** Adds the problems of `tags` (src/http/problems.ts, one schema per status) to an endpoint's errors. */
const withProblems = (...tags: ReadonlyArray<ProblemTag>) =>
<E extends HttpApiEndpoint.HttpApiEndpoint.Any>(
  endpoint: E
): HttpApiEndpoint.HttpApiEndpoint.AddError<E, Problem, never> =>
  problemsFor(tags).reduce((e: any, schema) => e.addError(schema), endpoint)

/**
 * Every command can meet any of these: bad input, a missing or erased user, a lost race, a taken number, and an
 * Idempotency-Key in use or reused.
 */
const COMMAND_PROBLEMS: ReadonlyArray<ProblemTag> = [
  "InvalidRequest",
  "UserNotFound",
  "UserAlreadyExists",
  "VersionConflict",
  "PhoneNumberInUse",
  "VerificationRejected",
  "IdempotencyKeyInUse",
  "UserErased",
  "PreconditionFailed",
  "PayloadTooLarge",
  "UnsupportedMediaType",
  "InvalidPhoneNumber",
  "IdempotencyKeyReused",
  "Forbidden",
  "StoreUnavailable"
]

export const ApiKeyHeader = HttpApiSecurity.apiKey({ key: "X-API-Key", in: "header" }).pipe(
  HttpApiSecurity.annotate(OpenApi.Description, "Your organization's API key.")
)

export const BearerJwt = HttpApiSecurity.bearer.pipe(
  HttpApiSecurity.annotate(
    OpenApi.Description,
    "A JWT naming the organization (org_id): a user's (sub = user id) or a service's (token_use \"service\", scope)."
  ),
  HttpApiSecurity.annotate(OpenApi.Format, "JWT")
)

/**
 * Both credentials are required on every call. HttpApi tries security schemes in order as alternatives: the bearer
 * entry, first, checks the JWT and the key together, and the API-key entry, tried only when it refused, never
 * succeeds alone (it refuses with the bearer entry's answer). Bearer first, so that an accepted request decodes
 * one scheme, not two.
 */
export class Authentication extends HttpApiMiddleware.Tag<Authentication>()("Authentication", {
  provides: CurrentPrincipal,
  failure: Schema.Union(
    ...problemsFor(["Unauthenticated", "Forbidden", "StoreUnavailable", "IdentityProviderUnavailable"])
  ),
  security: { bearer: BearerJwt, apiKey: ApiKeyHeader }
}) {}

const IdPath = HttpApiSchema.param("id", UserId)

export class UsersGroup extends HttpApiGroup.make("users")
  .add(
    HttpApiEndpoint.post("createUser", "/users")
      .setPayload(CreateUserBody)
      .setHeaders(IdempotencyKeyHeaders)
      .addSuccess(CommandResponse.annotations(HttpApiSchema.annotations({ status: 201 })))
      .pipe(withProblems(...COMMAND_PROBLEMS))
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
      .addSuccess(CommandResponse)
      .pipe(withProblems(...COMMAND_PROBLEMS))
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
      .addSuccess(CommandResponse)
      .pipe(withProblems(...COMMAND_PROBLEMS))
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
      .addSuccess(CommandResponse)
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
      .pipe(withProblems("InvalidRequest", "UserNotFound", "Forbidden", "StoreUnavailable"))
      .annotate(OpenApi.Summary, "Read a user; the raw number only for the user itself or users:pii:read")
  )
  .add(
    HttpApiEndpoint.get("listEvents")`/users/${IdPath}/events`
      .setUrlParams(EventsQuery)
      .addSuccess(EventPageResponse)
      .pipe(withProblems("InvalidRequest", "UserNotFound", "Forbidden", "StoreUnavailable"))
      .annotate(OpenApi.Summary, "A user's audit trail, masked, oldest first")
  )
  .middleware(Authentication)
{}

export class AuditGroup extends HttpApiGroup.make("audit")
  .add(
    HttpApiEndpoint.get("auditHead")`/organizations/${HttpApiSchema.param("organizationId", UserId)}/audit/head`
      .addSuccess(AuditHeadResponse)
      .pipe(withProblems("InvalidRequest", "OrganizationNotFound", "Forbidden", "StoreUnavailable"))
      .annotate(OpenApi.Summary, "The organization's latest audit checkpoint, sealing every event so far (audit:read)")
      .annotate(
        OpenApi.Description,
        "Seals the events written since the previous checkpoint, if any, and answers the latest one. Keep " +
          "(sequence, hash) pairs: every later checkpoint must still chain back to them, and npm run audit:verify " +
          "recomputes every user's chain, every checkpoint's root and every link."
      )
  )
  .add(
    HttpApiEndpoint.get("auditCheckpoints")`/organizations/${
      HttpApiSchema.param("organizationId", UserId)
    }/audit/checkpoints`
      .setUrlParams(CheckpointsQuery)
      .addSuccess(CheckpointsResponse)
      .pipe(withProblems("InvalidRequest", "OrganizationNotFound", "Forbidden", "StoreUnavailable"))
      .annotate(OpenApi.Summary, "The organization's audit checkpoints after a number, oldest first (audit:read)")
      .annotate(
        OpenApi.Description,
        `Pages of at most limit checkpoints (1 to ${FEED_MAX_LIMIT}, default ${CHECKPOINTS_DEFAULT_LIMIT}). With ` +
          "afterSequence the number of a head kept earlier, they are what links it to the latest head: verifyFeed " +
          "recomputes each one's hash and link, and checks the kept head is still in the chain."
      )
  )
  .add(
    HttpApiEndpoint.get("organizationEvents")`/organizations/${HttpApiSchema.param("organizationId", UserId)}/events`
      .setUrlParams(FeedQuery)
      .addSuccess(FeedResponse)
      .pipe(withProblems("InvalidRequest", "OrganizationNotFound", "Forbidden", "StoreUnavailable"))
      .annotate(
        OpenApi.Summary,
        "Every event of the organization in commit order, with its chain position (audit:read)"
      )
      .annotate(
        OpenApi.Description,
        `Pages of at most limit events (1 to ${FEED_MAX_LIMIT}, default ${FEED_DEFAULT_LIMIT}) after the cursor, each ` +
          "with the organization's own event number and its user's chain link (prevHash, hash), masked as " +
          "everywhere. A consumer that was down catches up from its last nextCursor, and can check what it received " +
          "against the audit head: the typed client's verifyFeed recomputes every link and the head's count and " +
          "Merkle root."
      )
  )
  .middleware(Authentication)
{}

const OrganizationPath = HttpApiSchema.param("organizationId", UserId)
const WebhookIdPath = HttpApiSchema.param("webhookId", UserId)

const WEBHOOK_PROBLEMS: ReadonlyArray<ProblemTag> = [
  "InvalidRequest",
  "OrganizationNotFound",
  "WebhookNotFound",
  "Forbidden",
  "StoreUnavailable"
]

export class WebhooksGroup extends HttpApiGroup.make("webhooks")
  .add(
    HttpApiEndpoint.post("createWebhook")`/organizations/${OrganizationPath}/webhooks`
      .setPayload(CreateWebhookBody)
      .addSuccess(WebhookWithSecretResponse.annotations(HttpApiSchema.annotations({ status: 201 })))
      .pipe(withProblems(
        ...WEBHOOK_PROBLEMS,
        "InvalidWebhookUrl",
        "WebhookLimitReached",
        "PayloadTooLarge",
        "UnsupportedMediaType",
        "WebhooksNotConfigured"
      ))
      .annotate(OpenApi.Summary, "Subscribe a URL to the events (webhooks:write, audit:read); the secret once")
      .annotate(
        OpenApi.Description,
        "From the organization's next event on, each event of the types named is POSTed to the URL, signed as " +
          "Standard Webhooks specifies (webhook-id is the event id), at least once and, per user, in version order. " +
          "The answer carries the signing secret, which no route shows again; earlier events are the feed's " +
          "(GET /organizations/{id}/events). Takes no Idempotency-Key: a kept answer would keep the secret."
      )
  )
  .add(
    HttpApiEndpoint.get("listWebhooks")`/organizations/${OrganizationPath}/webhooks`
      .addSuccess(WebhookListResponse)
      .pipe(withProblems(...WEBHOOK_PROBLEMS))
      .annotate(OpenApi.Summary, "The organization's subscriptions, never their secrets (webhooks:write)")
  )
  .add(
    HttpApiEndpoint.del("deleteWebhook")`/organizations/${OrganizationPath}/webhooks/${WebhookIdPath}`
      .addSuccess(HttpApiSchema.NoContent)
      .pipe(withProblems(...WEBHOOK_PROBLEMS))
      .annotate(OpenApi.Summary, "Delete a subscription and its deliveries; nothing more is sent to it (204)")
  )
  .add(
    HttpApiEndpoint.post(
      "rotateWebhookSecret"
    )`/organizations/${OrganizationPath}/webhooks/${WebhookIdPath}/rotate-secret`
      .addSuccess(WebhookWithSecretResponse)
      .pipe(withProblems(...WEBHOOK_PROBLEMS, "WebhooksNotConfigured"))
      .annotate(OpenApi.Summary, "A new signing secret, shown once; the old one keeps signing too for 24 hours")
  )
  .add(
    HttpApiEndpoint.get("listDeliveries")`/organizations/${OrganizationPath}/webhooks/${WebhookIdPath}/deliveries`
      .setUrlParams(DeliveriesQuery)
      .addSuccess(DeliveryPageResponse)
      .pipe(withProblems(...WEBHOOK_PROBLEMS))
      .annotate(OpenApi.Summary, "A subscription's deliveries with every attempt, oldest event first (?status=failed)")
  )
  .add(
    HttpApiEndpoint.post("resendDelivery")`/organizations/${OrganizationPath}/webhooks/${WebhookIdPath}/deliveries/${
      HttpApiSchema.param("eventId", UserId)
    }/resend`
      .addSuccess(DeliveryResponse)
      .pipe(withProblems(...WEBHOOK_PROBLEMS, "DeliveryNotFound", "DeliveryPending", "WebhookDisabled"))
      .annotate(OpenApi.Summary, "Send a delivered or failed delivery again, now, with a fresh day of retries")
  )
  .middleware(Authentication)
{}

export class HealthGroup extends HttpApiGroup.make("health")
  .add(
    HttpApiEndpoint.get("health", "/healthz")
      .addSuccess(Schema.Struct({ status: Schema.Literal("ok") }))
      .pipe(withProblems("StoreUnavailable"))
  )
{}

/**
 * Two corrections to the generated document: separate security entries mean "either" in OpenAPI, but both
 * credentials are required together; and every error is answered as application/problem+json (edge.ts),
 * including the framework's own path/query decoding errors.
 */
const finishDocument = (spec: Record<string, any>): Record<string, any> => {
  spec.components ??= {}
  spec.components.schemas ??= {}
  delete spec.components.schemas.HttpApiDecodeError
  delete spec.components.schemas.Issue
  delete spec.components.schemas.PropertyKey
  for (const path of Object.values<Record<string, any>>(spec.paths ?? {})) {
    for (const operation of Object.values<Record<string, any>>(path)) {
      if (Array.isArray(operation.security) && operation.security.length > 1) {
        operation.security = [Object.assign({}, ...operation.security)]
      }
      for (const [status, response] of Object.entries<Record<string, any>>(operation.responses ?? {})) {
        if (Number(status) >= 400) {
          response.content = { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } }
        }
      }
    }
  }
  return spec
}

/**
 * HttpApi declares its own HttpApiDecodeError at 400 on every endpoint, a body this server never sends: the edge
 * answers a path or query that does not decode as a 400 problem (problemOfCause in problems.ts). Declaring that problem
 * for the whole API lets a typed client decode a 400 from any endpoint, /healthz included, which declares no 400 itself.
 */
const [FrameworkDecodeProblem] = problemsFor(["InvalidRequest"])

export class UsersApi extends HttpApi.make("users-api")
  .add(UsersGroup)
  .add(AuditGroup)
  .add(WebhooksGroup)
  .add(HealthGroup)
  .addError(FrameworkDecodeProblem!)
  .annotate(OpenApi.Title, "users-api")
  .annotate(OpenApi.Version, "0.1.0")
  .annotate(
    OpenApi.Description,
    "The User service of an identity platform. Phone numbers never leave the users row unmasked."
  )
  .annotate(OpenApi.Transform, finishDocument)
{}
