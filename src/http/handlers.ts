/**
 * The contract's handlers: HTTP in, an application program, HTTP out. Every failure a program can meet becomes its
 * problem here, once (problems.ts); what is left for the edge is the framework's own (a bad path) and defects.
 * Commands (the POSTs) are authorized first, then run under their Idempotency-Key, if the request has one
 * (idempotency.ts): a refused request neither reads its body nor claims its key. They read their body raw
 * (`handleRaw`), because the key's hash covers its bytes, and decode it with their endpoint's own payload schema.
 */
import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { readAuditCheckpoints, readAuditHead } from "../app/audit-head.js"
import { authorizeCreateUser, createUser } from "../app/create-user.js"
import { readFeed } from "../app/organization-feed.js"
import {
  authorizeErasePersonalData,
  authorizeMarkPhoneNumberVerified,
  erasePersonalData,
  markPhoneNumberVerified
} from "../app/personal-data.js"
import { readEvents } from "../app/read-events.js"
import { readUser } from "../app/read-user.js"
import type { IfMatch } from "../app/run-command.js"
import { authorizeUpdatePhoneNumber, updatePhoneNumber } from "../app/update-phone-number.js"
import {
  authorizeWebhookRoutes,
  createWebhook,
  deleteWebhook,
  listDeliveries,
  listWebhooks,
  resendDelivery,
  rotateWebhookSecret
} from "../app/webhooks.js"
import { UserRepo } from "../services/user-repo.js"
import type { Delivery } from "../services/webhooks.js"
import {
  CHECKPOINTS_DEFAULT_LIMIT,
  CreateUserBody,
  CreateWebhookBody,
  FEED_DEFAULT_LIMIT,
  MarkPhoneNumberVerifiedBody,
  UpdatePhoneNumberBody,
  UsersApi
} from "./api.js"
import { jsonBodyDecoder, readJsonBytes } from "./body.js"
import { decodeCursor, encodeCursor } from "./cursor.js"
import { InvalidRequest } from "./errors.js"
import { idempotent } from "./idempotency.js"
import { failAsProblem, isKnownError, type KnownError, type Problem } from "./problems.js"

/** A program's typed failures as their problems. */
const answered = <A, E extends KnownError, R>(program: Effect.Effect<A, E, R>): Effect.Effect<A, Problem, R> =>
  Effect.catchIf(program, isKnownError, failAsProblem) as Effect.Effect<A, Problem, R>

// The schemas the endpoints declare with setPayload (api.ts), made into decoders once.
const decodeCreate = jsonBodyDecoder(CreateUserBody)
const decodeUpdate = jsonBodyDecoder(UpdatePhoneNumberBody)
const decodeVerify = jsonBodyDecoder(MarkPhoneNumberVerifiedBody)
const decodeCreateWebhook = jsonBodyDecoder(CreateWebhookBody)

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
      answered(Effect.zipRight(
        authorizeCreateUser,
        idempotent(request, (bytes, actsOn) =>
          Effect.flatMap(decodeCreate(bytes), (body) => {
            if (body.id !== undefined) actsOn(body.id)
            // A create either creates (201) or fails: an existing id is a 409 whatever the number (issue 9).
            return Effect.tap(createUser({ userId: body.id, phoneNumber: body.phoneNumber }), (result) => {
              actsOn(result.aggregateId)
            })
          }), { status: 201, readsBody: true })
      )))
    .handleRaw("updatePhoneNumber", ({ path, request }) =>
      answered(
        authorizeUpdatePhoneNumber(path.id).pipe(
          Effect.zipRight(parseIfMatch(request.headers["if-match"])),
          Effect.flatMap((ifMatch) =>
            idempotent(request, (bytes) =>
              Effect.flatMap(
                decodeUpdate(bytes),
                (body) => updatePhoneNumber({ userId: path.id, phoneNumber: body.phoneNumber, ifMatch })
              ), {
              status: 200,
              readsBody: true,
              userId: path.id
            })
          )
        )
      ))
    .handleRaw("markPhoneNumberVerified", ({ path, request }) =>
      answered(
        authorizeMarkPhoneNumberVerified.pipe(
          Effect.zipRight(parseIfMatch(request.headers["if-match"])),
          Effect.flatMap((ifMatch) =>
            idempotent(
              request,
              (bytes) =>
                Effect.flatMap(decodeVerify(bytes), (body) =>
                  markPhoneNumberVerified({ userId: path.id, phoneNumber: body.phoneNumber, ifMatch })),
              {
                status: 200,
                readsBody: true,
                userId: path.id
              }
            )
          )
        )
      ))
    .handleRaw("erasePersonalData", ({ path, request }) =>
      answered(
        authorizeErasePersonalData(path.id).pipe(
          Effect.zipRight(parseIfMatch(request.headers["if-match"])),
          Effect.flatMap((ifMatch) =>
            idempotent(request, () =>
              erasePersonalData({ userId: path.id, ifMatch }), {
              status: 200,
              readsBody: false,
              userId: path.id
            })
          )
        )
      ))
    .handleRaw("getUser", ({ path }) =>
      answered(Effect.map(readUser(path.id), (user) =>
        HttpServerResponse.unsafeJson({ success: true, ...user }, { headers: { etag: etag(user.version) } }))))
    .handleRaw("listEvents", ({ path, urlParams }) =>
      answered(Effect.map(
        readEvents({ userId: path.id, afterVersion: urlParams.afterVersion ?? 0, limit: urlParams.limit ?? 50 }),
        (page) =>
          HttpServerResponse.unsafeJson({ success: true, ...page })
      ))))

export const AuditHandlers = HttpApiBuilder.group(
  UsersApi,
  "audit",
  (handlers) =>
    handlers
      .handleRaw("auditHead", ({ path }) =>
        answered(Effect.map(
          readAuditHead(path.organizationId),
          (head) => HttpServerResponse.unsafeJson({ success: true, ...head })
        )))
      .handleRaw("auditCheckpoints", ({ path, urlParams }) =>
        answered(Effect.map(
          readAuditCheckpoints(
            path.organizationId,
            urlParams.afterSequence ?? 0,
            urlParams.limit ?? CHECKPOINTS_DEFAULT_LIMIT
          ),
          (page) => HttpServerResponse.unsafeJson({ success: true, organizationId: path.organizationId, ...page })
        )))
      .handleRaw("organizationEvents", ({ path, urlParams }) =>
        answered(Effect.gen(function*() {
          const afterSequence = yield* decodeCursor(urlParams.after)
          const page = yield* readFeed({
            organizationId: path.organizationId,
            afterSequence,
            limit: urlParams.limit ?? FEED_DEFAULT_LIMIT
          })
          return HttpServerResponse.unsafeJson({
            success: true,
            organizationId: path.organizationId,
            events: page.events.map(({ event, fingerprints, hash, prevHash, redacted, sequence }) => ({
              sequence,
              aggregateId: event.aggregateId,
              version: event.version,
              prevHash,
              hash,
              event,
              ...(fingerprints === undefined ? {} : { fingerprints }),
              ...(redacted === undefined ? {} : { redacted })
            })),
            nextCursor: encodeCursor(page.nextAfterSequence),
            hasMore: page.hasMore
          })
        })))
)

/** A delivery as the contract shows it (api.ts Delivery): the subscription is the path's. */
const deliveryView = ({ subscriptionId: _, ...delivery }: Delivery) => delivery

// A secret is in the answer: no cache may keep it.
const withSecret = (body: unknown, status: 200 | 201) =>
  HttpServerResponse.unsafeJson(body, { status, headers: { "cache-control": "no-store" } })

export const WebhooksHandlers = HttpApiBuilder.group(UsersApi, "webhooks", (handlers) =>
  handlers
    .handleRaw("createWebhook", ({ path, request }) =>
      answered(Effect.gen(function*() {
        // Who may, before the body is read, as for the commands.
        yield* authorizeWebhookRoutes(path.organizationId, true)
        const body = yield* Effect.flatMap(readJsonBytes(request), decodeCreateWebhook)
        const created = yield* createWebhook({ organizationId: path.organizationId, ...body })
        return withSecret({ success: true, ...created }, 201)
      })))
    .handleRaw("listWebhooks", ({ path }) =>
      answered(Effect.map(
        listWebhooks(path.organizationId),
        (webhooks) => HttpServerResponse.unsafeJson({ success: true, webhooks })
      )))
    .handleRaw("deleteWebhook", ({ path }) =>
      answered(Effect.as(
        deleteWebhook(path.organizationId, path.webhookId),
        HttpServerResponse.empty({ status: 204 })
      )))
    .handleRaw("rotateWebhookSecret", ({ path }) =>
      answered(Effect.map(
        rotateWebhookSecret(path.organizationId, path.webhookId),
        (rotated) => withSecret({ success: true, ...rotated }, 200)
      )))
    .handleRaw("listDeliveries", ({ path, urlParams }) =>
      answered(Effect.gen(function*() {
        const afterSequence = yield* decodeCursor(urlParams.after)
        const page = yield* listDeliveries({
          organizationId: path.organizationId,
          webhookId: path.webhookId,
          status: urlParams.status,
          afterSequence,
          limit: urlParams.limit ?? 50
        })
        return HttpServerResponse.unsafeJson({
          success: true,
          webhookId: path.webhookId,
          deliveries: page.deliveries.map(deliveryView),
          nextCursor: page.nextAfterSequence === null ? null : encodeCursor(page.nextAfterSequence)
        })
      })))
    .handleRaw("resendDelivery", ({ path }) =>
      answered(Effect.map(
        resendDelivery(path.organizationId, path.webhookId, path.eventId),
        (delivery) => HttpServerResponse.unsafeJson({ success: true, delivery: deliveryView(delivery) })
      ))))

export const HealthHandlers = HttpApiBuilder.group(
  UsersApi,
  "health",
  (handlers) =>
    handlers.handleRaw("health", () =>
      answered(Effect.flatMap(UserRepo, (repo) => repo.ping)).pipe(
        Effect.as(HttpServerResponse.unsafeJson({ status: "ok" }))
      ))
)
