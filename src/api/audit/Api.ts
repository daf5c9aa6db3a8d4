/** The audit feature's contract: the organization's checkpoints and its event feed. */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import * as Schema from "effect/Schema"
import { PhoneFingerprints, UserEvent } from "../../domain/events.js"
import { withProblems } from "../../http/problems.js"
import { Authentication, Cursor, ORGANIZATION_PROBLEMS, OrganizationId, QueryInteger } from "../common.js"

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
  })
}

// After createdAt, as the answers list it.
const legacyUpToEventSequence = Schema.NullOr(
  Schema.Int.annotations({
    description: "Only on checkpoints sealed before per-organization numbers: the number their hash covers."
  })
)

export const AuditHeadResponse = Schema.Struct({
  success: Schema.Literal(true),
  ...checkpointFields,
  createdAt: Schema.NullOr(Schema.String).annotations({ description: "When it was made; null when there is none." }),
  legacyUpToEventSequence
}).annotations({ identifier: "AuditHead" })

// The fields in the order the store lists them, which the answers keep.
const { eventCount, hash, organizationId, prevHash, root, sequence, upToEventSequence } = checkpointFields

export const AuditCheckpoint = Schema.Struct({
  organizationId,
  sequence,
  upToEventSequence,
  eventCount,
  root,
  prevHash,
  hash,
  createdAt: Schema.String,
  legacyUpToEventSequence
}).annotations({
  identifier: "AuditCheckpoint"
})

export const CheckpointsResponse = Schema.Struct({
  success: Schema.Literal(true),
  organizationId: Schema.String,
  checkpoints: Schema.Array(AuditCheckpoint),
  nextAfterSequence: Schema.NullOr(Schema.Int.annotations({ description: "afterSequence of the next page" }))
    .annotations({ description: "afterSequence of the next page, or null" })
}).annotations({ identifier: "AuditCheckpoints" })

export const FeedEntry = Schema.Struct({
  sequence: Schema.Int.annotations({
    description: "The organization's own event number: 1, 2, 3… in commit order, without a gap."
  }),
  aggregateId: Schema.String,
  version: Schema.Int.annotations({ description: "The event's version in its user's chain (1, 2, 3…)." }),
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
  limit: Schema.optional(
    QueryInteger(1, FEED_MAX_LIMIT, `At most this many events (default ${FEED_DEFAULT_LIMIT}).`)
  )
})

/** The checkpoints' page size: default and maximum. */
export const CHECKPOINTS_DEFAULT_LIMIT = 100

const CheckpointsQuery = Schema.Struct({
  afterSequence: Schema.optional(
    QueryInteger(0, Number.MAX_SAFE_INTEGER, "Only the checkpoints after this number (default 0: from the first).")
  ),
  limit: Schema.optional(
    QueryInteger(1, FEED_MAX_LIMIT, `At most this many checkpoints (default ${CHECKPOINTS_DEFAULT_LIMIT}).`)
  )
})

const OrganizationPath = HttpApiSchema.param("organizationId", OrganizationId)

export class AuditGroup extends HttpApiGroup.make("audit")
  .add(
    HttpApiEndpoint.get("auditHead")`/organizations/${OrganizationPath}/audit/head`
      .addSuccess(AuditHeadResponse)
      .pipe(withProblems(...ORGANIZATION_PROBLEMS))
      .annotate(OpenApi.Summary, "The organization's latest audit checkpoint, sealing every event so far (audit:read)")
      .annotate(
        OpenApi.Description,
        "Seals the events written since the previous checkpoint, if any, and answers the latest one. Keep " +
          "(sequence, hash) pairs: every later checkpoint must still chain back to them, and npm run audit:verify " +
          "recomputes every user's chain, every checkpoint's root and every link."
      )
  )
  .add(
    HttpApiEndpoint.get("auditCheckpoints")`/organizations/${OrganizationPath}/audit/checkpoints`
      .setUrlParams(CheckpointsQuery)
      .addSuccess(CheckpointsResponse)
      .pipe(withProblems(...ORGANIZATION_PROBLEMS))
      .annotate(OpenApi.Summary, "The organization's audit checkpoints after a number, oldest first (audit:read)")
      .annotate(
        OpenApi.Description,
        `Pages of at most limit checkpoints (1 to ${FEED_MAX_LIMIT}, default ${CHECKPOINTS_DEFAULT_LIMIT}). With ` +
          "afterSequence the number of a head kept earlier, they are what links it to the latest head: verifyFeed " +
          "recomputes each one's hash and link, and checks the kept head is still in the chain."
      )
  )
  .add(
    HttpApiEndpoint.get("organizationEvents")`/organizations/${OrganizationPath}/events`
      .setUrlParams(FeedQuery)
      .addSuccess(FeedResponse)
      .pipe(withProblems(...ORGANIZATION_PROBLEMS))
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
  .annotate(
    OpenApi.Description,
    "The organization's audit trail: every event in commit order, with the hash chains and checkpoints that prove " +
      "none was changed or dropped."
  )
{}
