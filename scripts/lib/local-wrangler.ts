/**
 * What `wrangler dev` needs to behave locally as the Worker does in production, for `npm run dev:worker` and the tests
 * that start it: an environment without wrangler's network calls, and a stand-in for the cron trigger.
 */

/**
 * No telemetry or error reports, no banner (its update check reaches the npm registry), and the fallback `Request.cf`
 * instead of fetching it from workers.cloudflare.com (offline, a failed lookup and a stack trace per start).
 */
export const QUIET_WRANGLER_ENV = {
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_SEND_ERROR_REPORTS: "false",
  WRANGLER_HIDE_BANNER: "true",
  CLOUDFLARE_CF_FETCH_ENABLED: "false"
} as const

/** How often the local stand-in for the cron runs (production: every minute; shorter here, for quick feedback). */
export const LOCAL_CRON_INTERVAL_MS = 10_000

/**
 * wrangler dev never runs the cron trigger: this asks it for a scheduled event every `everyMs` (the checkpoint round
 * and the webhook relay's round of src/worker-host.ts), one at a time. Returns the function that stops it.
 */
export const startLocalCron = (baseUrl: string, everyMs = LOCAL_CRON_INTERVAL_MS): () => void => {
  let running = false
  const tick = async () => {
    if (running) return
    running = true
    try {
      // A round may outlast a tick (the relay's budget is 20 s): it is waited for, not cut off and overlapped.
      const signal = AbortSignal.timeout(Math.max(everyMs, 60_000))
      const answer = await fetch(`${baseUrl}/cdn-cgi/handler/scheduled`, { signal })
      await answer.arrayBuffer()
    } catch {
      // Not listening yet, or restarting after a change: the next tick asks again.
    } finally {
      running = false
    }
  }
  const timer = setInterval(() => void tick(), everyMs)
  timer.unref()
  return () => clearInterval(timer)
}
