/**
 * The webhooks feature's handlers. createWebhook reads its body itself (`handleRaw`), for the reason the users
 * commands do (src/api/users/Http.ts): authorization before the body, a bounded read, a 400 for malformed JSON.
 */
import { HttpApiBuilder, HttpApp, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import {
  authorizeCreateWebhook,
  deleteWebhook,
  listDeliveries,
  listWebhooks,
  resendDelivery,
  rotateWebhookSecret
} from "../../app/webhooks.js"
import { UsersApi } from "../../http/api.js"
import { jsonBodyDecoder, readJsonBytes } from "../../http/body.js"
import { decodeCursor, encodeCursor } from "../../http/cursor.js"
import { answered } from "../../http/problems.js"
import { CreateWebhookBody } from "./Api.js"

const decodeCreateWebhook = jsonBodyDecoder(CreateWebhookBody)

// A secret is in the answer: no cache may keep it.
const noStore = HttpApp.appendPreResponseHandler((_, response) =>
  Effect.succeed(HttpServerResponse.setHeader(response, "cache-control", "no-store"))
)

export const WebhooksHandlers = HttpApiBuilder.group(UsersApi, "webhooks", (handlers) =>
  handlers
    .handleRaw("createWebhook", ({ path, request }) =>
      answered(Effect.gen(function*() {
        // Who may, before the body is read, as for the commands.
        const create = yield* authorizeCreateWebhook(path.organizationId)
        const body = yield* Effect.flatMap(readJsonBytes(request), decodeCreateWebhook)
        const created = yield* create(body)
        return HttpServerResponse.unsafeJson({ success: true, ...created }, {
          status: 201,
          headers: { "cache-control": "no-store" }
        })
      })))
    .handle("listWebhooks", ({ path }) =>
      answered(Effect.map(listWebhooks(path.organizationId), (webhooks) => ({ success: true as const, webhooks }))))
    .handle("deleteWebhook", ({ path }) =>
      answered(deleteWebhook(path.organizationId, path.webhookId)))
    .handle("rotateWebhookSecret", ({ path }) =>
      answered(Effect.map(
        Effect.zipLeft(rotateWebhookSecret(path.organizationId, path.webhookId), noStore),
        (rotated) => ({ success: true as const, ...rotated })
      )))
    .handle("listDeliveries", ({ path, urlParams }) =>
      answered(Effect.gen(function*() {
        const afterSequence = yield* decodeCursor(urlParams.after)
        const page = yield* listDeliveries({
          organizationId: path.organizationId,
          webhookId: path.webhookId,
          status: urlParams.status,
          afterSequence,
          limit: urlParams.limit ?? 50
        })
        // A delivery's subscription is the path's: the Delivery schema leaves it out.
        return {
          success: true as const,
          webhookId: path.webhookId,
          deliveries: page.deliveries,
          nextCursor: page.nextAfterSequence === null ? null : encodeCursor(page.nextAfterSequence)
        }
      })))
    .handle("resendDelivery", ({ path }) =>
      answered(Effect.map(
        resendDelivery(path.organizationId, path.webhookId, path.eventId),
        (delivery) => ({ success: true as const, delivery })
      ))))
