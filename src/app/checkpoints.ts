/**
 * Checkpoints every organization with unsealed events. How often it runs bounds how long a user's newest events are
 * protected by their own links only (docs/DECISIONS.md, "Audit chains and checkpoints").
 */
import { Duration, Effect, Layer, Schedule } from "effect"
import { EventLog } from "../services/event-log.js"

const ORGANIZATIONS_PER_ROUND = 1_000

export const sealUnsealedOrganizations = Effect.flatMap(
  EventLog,
  (log) =>
    Effect.flatMap(
      log.unsealedOrganizations(ORGANIZATIONS_PER_ROUND),
      (organizations) =>
        Effect.as(Effect.forEach(organizations, log.checkpoint, { discard: true }), organizations.length)
    )
)

export const checkpointRoundFailed = (kind: string) =>
  Effect.annotateLogs(Effect.logError("checkpoint round failed"), { kind })

/** A failed round (the store away) is logged and the next one tries again. */
export const sealPeriodically = (interval: Duration.DurationInput) =>
  sealUnsealedOrganizations.pipe(
    Effect.catchAll((error) => checkpointRoundFailed(error._tag)),
    Effect.repeat(Schedule.spaced(Duration.decode(interval))),
    Effect.asVoid
  )

export const CheckpointerLive = (interval: Duration.DurationInput) =>
  Layer.scopedDiscard(Effect.forkScoped(sealPeriodically(interval)))
