/**
 * The phones feature's handlers. putPhonePolicy and lookupUsers are checked by their gates (./Gates.ts) before
 * JsonBody reads the body; a refused body names the field and its rule (./body-rules.ts), never the value sent.
 */
import { HttpApiBuilder } from "@effect/platform"
import { Effect, Layer } from "effect"
import { authorizeLookupUsers, readLookupRecords } from "../../app/lookup-users.js"
import { authorizePutPhonePolicy, readPhonePolicy } from "../../app/phone-policy.js"
import { UsersApi } from "../../http/api.js"
import { afterAuthentication } from "../../http/authentication.js"
import { decodeCursor, encodeCursor } from "../../http/cursor.js"
import { JsonBodyLive } from "../../http/json-body.js"
import { answered } from "../../http/problems.js"
import type { Masker } from "../../services/masker.js"
import type { PhonePolicies } from "../../services/phone-policy.js"
import type { UserLookup } from "../../services/user-lookup.js"
import { OrganizationId } from "../common.js"
import { pathParam } from "../gate.js"
import { LOOKUPS_DEFAULT_LIMIT } from "./Api.js"
import { LookupUsersGate, LookupUsersGated, PutPhonePolicyGate, PutPhonePolicyGated } from "./Gates.js"

// The gates take their services when the handler is built: a middleware's own requirements cannot reach the request.
const Gates = Layer.mergeAll(
  Layer.effect(
    PutPhonePolicyGate,
    Effect.map(Effect.context<PhonePolicies>(), (services) =>
      afterAuthentication(answered(Effect.provide(
        Effect.flatMap(pathParam("organizationId", OrganizationId), authorizePutPhonePolicy),
        services
      ))))
  ),
  Layer.effect(
    LookupUsersGate,
    Effect.map(
      Effect.context<UserLookup | Masker>(),
      (services) => afterAuthentication(answered(Effect.provide(authorizeLookupUsers, services)))
    )
  ),
  JsonBodyLive
)

const Handlers = HttpApiBuilder.group(UsersApi, "phones", (handlers) =>
  handlers
    .handle("getPhonePolicy", ({ path }) =>
      answered(Effect.map(readPhonePolicy(path.organizationId), (policy) => ({
        success: true as const,
        organizationId: path.organizationId,
        policy
      }))))
    .handle("putPhonePolicy", ({ path, payload }) =>
      answered(Effect.map(
        Effect.flatMap(PutPhonePolicyGated, (put) => put(payload)),
        (policy) => ({ success: true as const, organizationId: path.organizationId, policy })
      )))
    .handle("lookupUsers", ({ payload }) =>
      answered(Effect.map(
        Effect.flatMap(LookupUsersGated, (lookup) => lookup(payload.phoneNumbers)),
        (matches) => ({ success: true as const, matches })
      )))
    .handle("listPhoneLookups", ({ path, urlParams }) =>
      answered(Effect.gen(function*() {
        const afterSequence = yield* decodeCursor(urlParams.after)
        const page = yield* readLookupRecords({
          organizationId: path.organizationId,
          afterSequence,
          limit: urlParams.limit ?? LOOKUPS_DEFAULT_LIMIT
        })
        return {
          success: true as const,
          organizationId: path.organizationId,
          lookups: page.lookups,
          nextCursor: encodeCursor(page.nextAfterSequence),
          hasMore: page.hasMore
        }
      }))))

export const PhonesHandlers = Layer.provide(Handlers, Gates)
