/**
 * The hand-written endpoint behind HttpApi (issue 10: a limit is shown, not assumed): handwritten.ts's `handle`, the
 * whole endpoint without Effect, as the work of this project's route in the one-group HttpApi of floor-httpapi.ts,
 * served by the runtime's own server. It is what the service is asked to beat (the hand-written endpoint) plus what
 * every endpoint served through HttpApi pays and the hand-written one does not (the floor), so the bench prints, in
 * the same run, how far the service is from the hand-written endpoint once both go through HttpApi.
 */
import { HttpServerResponse } from "@effect/platform"
import { floorHandler } from "./floor-httpapi.js"
import { handle, serve } from "./handwritten.js"

// The answer's text handed over as is (fromWeb would stream it through an Effect Stream, a cost of the floor's
// making and not of HttpApi's).
const update = async (request: Request) => {
  const response = await handle(request)
  return HttpServerResponse.raw(await response.text(), { status: response.status, headers: response.headers })
}

serve(
  floorHandler({ healthPath: "/healthz", update }),
  "hand-written baseline behind HttpApi"
)
