/** What createWebhook checks before its body is read: the organization in the path and who may subscribe. */
import { HttpApiMiddleware } from "@effect/platform"
import { Context, type Effect } from "effect"
import * as Schema from "effect/Schema"
import * as App from "../../app/errors.js"
import type { authorizeCreateWebhook } from "../../app/webhooks.js"
import * as Http from "../../http/errors.js"
import { problemsFor } from "../../http/problems.js"
import * as Ports from "../../services/errors.js"

export class CreateWebhookGated extends Context.Tag("users-api/CreateWebhookGated")<
  CreateWebhookGated,
  Effect.Effect.Success<ReturnType<typeof authorizeCreateWebhook>>
>() {}

export class CreateWebhookGate extends HttpApiMiddleware.Tag<CreateWebhookGate>()("CreateWebhookGate", {
  provides: CreateWebhookGated,
  failure: Schema.Union(...problemsFor([Http.InvalidRequest, Ports.Forbidden, App.OrganizationNotFound]))
}) {}
