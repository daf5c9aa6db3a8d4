/** The audit feature's handlers: checkpoints and the organization's feed. */
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { readAuditCheckpoints, readAuditHead } from "../../app/audit-head.js"
import { readFeed } from "../../app/organization-feed.js"
import { UsersApi } from "../../http/api.js"
import { decodeCursor, encodeCursor } from "../../http/cursor.js"
import { answered } from "../../http/problems.js"
import { CHECKPOINTS_DEFAULT_LIMIT, FEED_DEFAULT_LIMIT } from "./Api.js"

export const AuditHandlers = HttpApiBuilder.group(
  UsersApi,
  "audit",
  (handlers) =>
    handlers
      .handle("auditHead", ({ path }) =>
        answered(Effect.map(
          readAuditHead(path.organizationId),
          (head) => ({ success: true as const, ...head })
        )))
      .handle("auditCheckpoints", ({ path, urlParams }) =>
        answered(Effect.map(
          readAuditCheckpoints(
            path.organizationId,
            urlParams.afterSequence ?? 0,
            urlParams.limit ?? CHECKPOINTS_DEFAULT_LIMIT
          ),
          (page) => ({ success: true as const, organizationId: path.organizationId, ...page })
        )))
      .handle("organizationEvents", ({ path, urlParams }) =>
        answered(Effect.gen(function*() {
          const afterSequence = yield* decodeCursor(urlParams.after)
          const page = yield* readFeed({
            organizationId: path.organizationId,
            afterSequence,
            limit: urlParams.limit ?? FEED_DEFAULT_LIMIT
          })
          return {
            success: true as const,
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
          }
        })))
)
