/**
 * The webhooks feature's handlers. createWebhook is checked by its gate (./Gates.ts) before JsonBody reads its body
 * (src/http/json-body.ts) and HttpApiBuilder decodes the payload, as the users commands are.
 */
import { HttpApiBuilder, HttpApp, HttpServerResponse } from "@effect/platform"
import { Effect, Layer } from "effect"
import {
  authorizeCreateWebhook,
  deleteWebhook,
  listDeliveries,
  listWebhooks,
  resendDelivery,
  rotateWebhookSecret
} from "../../app/webhooks.js"
import { UsersApi } from "../../http/api.js"
import { afterAuthentication } from "../../http/authentication.js"
import { decodeCursor, encodeCursor } from "../../http/cursor.js"
import { JsonBodyLive } from "../../http/json-body.js"
import { answered } from "../../http/problems.js"
import { OrganizationId } from "../common.js"
import { pathParam } from "../gate.js"
import { CreateWebhookGate, CreateWebhookGated } from "./Gates.js"

// The path's organization, then who may subscribe, before the body is read.
const Gate = Layer.succeed(
  CreateWebhookGate,
  afterAuthentication(answered(Effect.flatMap(pathParam("organizationId", OrganizationId), authorizeCreateWebhook)))
)

// A secret is in the answer: no cache may keep it.
const noStore = HttpApp.appendPreResponseHandler((_, response) =>
  Effect.succeed(HttpServerResponse.setHeader(response, "cache-control", "no-store"))
)

const Handlers = HttpApiBuilder.group(UsersApi, "webhooks", (handlers) =>
  handlers
    .handle("createWebhook", ({ payload }) =>
      answered(Effect.map(
        Effect.zipLeft(Effect.flatMap(CreateWebhookGated, (create) => create(payload)), noStore),
        (created) => ({ success: true as const, ...created })
      )))
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

export const WebhooksHandlers = Layer.provide(Handlers, Layer.merge(Gate, JsonBodyLive))
