/**
 * The floor of any endpoint served through HttpApi on Bun (issue 10: a limit is shown, not assumed): this project's
 * route in a one-group HttpApi (floor-httpapi.ts), served by Bun.serve, whose handler reads the body and answers a
 * fixed JSON, with nothing else: no middleware, no auth, no store. The bench measures it in each Bun run beside
 * hello-world (Bun.serve alone) and the endpoint written by hand, so HttpApi's own cost per request is the
 * difference of the first two, in the same run.
 */
import { HttpServerResponse } from "@effect/platform"
import { floorHandler } from "./floor-httpapi.js"

const answer = HttpServerResponse.unsafeJson({ success: true })

const fetch = floorHandler({
  healthPath: "/healthz",
  update: (request) => request.arrayBuffer().then(() => answer)
})

Bun.serve({ port: Number(process.env.PORT), hostname: "127.0.0.1", fetch })
