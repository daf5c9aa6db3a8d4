/**
 * The design's floor for this endpoint on Bun and, run by Deno, on Deno (issue 10: a limit is shown, not assumed): handwritten-httpapi.ts with
 * the hand-written endpoint remembering each caller's credentials as the service does (handwritten-endpoint.ts,
 * `rememberCredentials`). It does what the design requires of any implementation (HttpApi, the endpoint's checks,
 * its store, its answer and its log line) with the service's caches and none of this project's layering, so
 * `npm run bench` reads the service against it in the same run: what the service keeps of it is the price of that
 * layering.
 */
import { answeredBy, floorHandler } from "./floor-httpapi.js"
import { rememberingHandle, serve } from "./handwritten.js"

serve(
  floorHandler({ healthPath: "/healthz", update: answeredBy((request) => rememberingHandle(request)) }),
  "hand-written baseline with the service's credential cache, behind HttpApi"
)
