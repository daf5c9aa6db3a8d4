/**
 * Sealing what organizations wrote, in the background: every organization with events its latest checkpoint has
 * not sealed gets a new checkpoint. The Bun and Deno servers run it every CHECKPOINT_INTERVAL_SECONDS (src/server.ts),
 * the Worker on its cron trigger (wrangler.toml); GET /organizations/{id}/audit/head seals on demand as well. How
 * often it runs bounds how long a user's newest events are protected by their own links only (src/audit/verify.ts).
 */
import { Duration, Effect, Layer, Schedule } from "effect"
import { EventLog } from "../services/event-log.js"

/** How many organizations one round visits; the rest wait for the next round. */
const ORGANIZATIONS_PER_ROUND = 1_000

/** One round: seals every organization with unsealed events, and says how many it sealed. */
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

/** Rounds every `interval`, for ever; a failed round (the store away) is logged and the next one tries again. */
export const sealPeriodically = (interval: Duration.DurationInput) =>
  sealUnsealedOrganizations.pipe(
    Effect.catchAll((error) => checkpointRoundFailed(error._tag)),
    Effect.repeat(Schedule.spaced(Duration.decode(interval))),
    Effect.asVoid
  )

/** The checkpointer of the Bun and Deno servers: a fiber that starts with the layer's scope and ends with it. */
export const CheckpointerLive = (interval: Duration.DurationInput) =>
  Layer.scopedDiscard(Effect.forkScoped(sealPeriodically(interval)))
