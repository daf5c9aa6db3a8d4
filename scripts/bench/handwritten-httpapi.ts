/**
 * The hand-written endpoint behind HttpApi (issue 10: a limit is shown, not assumed): handwritten.ts's `handle`, the
 * whole endpoint without Effect, as the work of this project's route in the one-group HttpApi of floor-httpapi.ts,
 * served by the runtime's own server. It is what the service is asked to beat (the hand-written endpoint) plus what
 * every endpoint served through HttpApi pays and the hand-written one does not (the floor), so the bench prints, in
 * the same run, how far the service is from the hand-written endpoint once both go through HttpApi.
 */
import { answeredBy, floorHandler } from "./floor-httpapi.js"
import { handle, serve } from "./handwritten.js"

serve(
  floorHandler({ healthPath: "/healthz", update: answeredBy((request) => handle(request)) }),
  "hand-written baseline behind HttpApi"
)
