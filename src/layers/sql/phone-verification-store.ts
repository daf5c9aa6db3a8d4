import { Effect, Layer } from "effect"
import { GENESIS_HASH } from "../../audit/chain.js"
import { StoreUnavailable } from "../../services/errors.js"
import { PhoneVerificationStore } from "../../services/phone-verification.js"
import type { WriteError } from "./driver.js"
import {
  COUNT_ATTEMPT,
  DISCARD_PENDING,
  type PendingRow,
  SELECT_CODE_DELIVERY,
  SELECT_HOLDER,
  SELECT_PENDING,
  toPending,
  UPSERT_CODE_DELIVERY
} from "./phone-verification-rows.js"
import { SELECT_USER, toUser, type UserRow } from "./rows.js"
import { Shards } from "./shards.js"

const asUnavailable = (error: WriteError) =>
  error instanceof StoreUnavailable ? error : new StoreUnavailable({ cause: error })

export const SqlPhoneVerificationStore = Layer.effect(
  PhoneVerificationStore,
  Effect.map(Shards, (shards): PhoneVerificationStore["Type"] => {
    const get = <R>(organizationId: string, sql: string, params: ReadonlyArray<string>) =>
      Effect.flatMap(shards.of(organizationId), ({ driver }) => driver.get<R>(sql, params))
    const write = (organizationId: string, sql: string, params: ReadonlyArray<string>, userId = "") =>
      Effect.flatMap(
        shards.of(organizationId),
        ({ driver }) => Effect.mapError(driver.write([{ sql, params }], userId), asUnavailable)
      )
    return {
      pending: (organizationId, userId) =>
        Effect.map(
          get<PendingRow>(organizationId, SELECT_PENDING, [organizationId, userId]),
          (row) => row === undefined ? null : toPending(row)
        ),
      countAttempt: (organizationId, userId, id) => write(organizationId, COUNT_ATTEMPT, [organizationId, userId, id]),
      discard: (organizationId, userId, id) => write(organizationId, DISCARD_PENDING, [organizationId, userId, id]),
      holderOf: (organizationId, phoneNumber) =>
        Effect.flatMap(
          get<{ id: string }>(organizationId, SELECT_HOLDER, [organizationId, phoneNumber]),
          (found) =>
            found === undefined ? Effect.succeed(null) : Effect.map(
              get<UserRow>(organizationId, SELECT_USER, [organizationId, found.id]),
              (row) => row === undefined ? null : { user: toUser(row), headHash: row.head_hash ?? GENESIS_HASH }
            )
        ),
      codeDeliveryUrl: (organizationId) =>
        Effect.map(
          get<{ url: string }>(organizationId, SELECT_CODE_DELIVERY, [organizationId]),
          (row) => row?.url ?? null
        ),
      setCodeDeliveryUrl: (organizationId, url, now) =>
        write(organizationId, UPSERT_CODE_DELIVERY, [organizationId, url, now])
    }
  })
)
