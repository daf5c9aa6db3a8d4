/** The webhooks feature's handlers: subscriptions, secrets and deliveries. */
import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import {
  authorizeWebhookRoutes,
  createWebhook,
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
import type { Delivery } from "../../services/webhooks.js"
import { CreateWebhookBody } from "./Api.js"

const decodeCreateWebhook = jsonBodyDecoder(CreateWebhookBody)

/** A delivery as the contract shows it (Api.ts Delivery): the subscription is the path's. */
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
