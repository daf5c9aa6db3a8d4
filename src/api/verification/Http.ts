/** The verification feature's handlers; both read their body after authorization, as the users commands do. */
import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { authorizeSetCodeDelivery } from "../../app/code-delivery.js"
import { authorizeConfirmPhoneNumberChange } from "../../app/confirm-phone-number-change.js"
import { UsersApi } from "../../http/api.js"
import { jsonBodyDecoder, readJsonBytes } from "../../http/body.js"
import { idempotent } from "../../http/idempotency.js"
import { answered } from "../../http/problems.js"
import { parseIfMatch } from "../users/Http.js"
import { CodeDeliveryBody, ConfirmPhoneNumberChangeBody } from "./Api.js"

const decodeConfirm = jsonBodyDecoder(ConfirmPhoneNumberChangeBody)
const decodeCodeDelivery = jsonBodyDecoder(CodeDeliveryBody)

export const VerificationHandlers = HttpApiBuilder.group(UsersApi, "verification", (handlers) =>
  handlers
    .handleRaw("confirmPhoneNumberChange", ({ path, request }) =>
      answered(Effect.flatMap(authorizeConfirmPhoneNumberChange(path.id), (confirm) =>
        Effect.flatMap(parseIfMatch(request.headers["if-match"]), (ifMatch) =>
          idempotent(
            request,
            (bytes) =>
              Effect.flatMap(decodeConfirm(bytes), (body) =>
                confirm({ code: body.code, ifMatch })),
            { status: 200, readsBody: true, userId: path.id }
          )))))
    .handleRaw("setCodeDelivery", ({ path, request }) =>
      answered(Effect.gen(function*() {
        const set = yield* authorizeSetCodeDelivery(path.organizationId)
        const body = yield* Effect.flatMap(readJsonBytes(request), decodeCodeDelivery)
        const view = yield* set(body.url)
        return HttpServerResponse.unsafeJson({ success: true, ...view }, { headers: { "cache-control": "no-store" } })
      }))))
