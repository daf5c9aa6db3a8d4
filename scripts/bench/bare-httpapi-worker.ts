/**
 * The floor of any Worker served through HttpApi (issue 10: a limit is shown, not assumed): the bare D1 Worker's
 * write (bare-write.ts: the read, the link and one `batch()` with the service's statements) behind this project's
 * route in a one-group HttpApi (floor-httpapi.ts), with nothing else: no middleware, no auth, no validation.
 * scripts/bench/worker-cpu.ts measures it beside the bare Worker and the service, so what HttpApi and Effect cost
 * on workerd per write is the difference of the first two, in the same run.
 */
import { HttpServerResponse } from "@effect/platform"
import type { E164 } from "../../src/domain/phone.js"
import { ORGANIZATION_ID, writeUser } from "./bare-write.js"
import { floorHandler } from "./floor-httpapi.js"

interface Env {
  readonly DB: D1Database
}

// The isolate's D1 binding, from the first request's env (one per isolate, as the service's handler is).
let db: D1Database | undefined

const fetch = floorHandler({
  healthPath: "/",
  update: async (request) => {
    const userId = new URL(request.url).pathname.split("/")[2] ?? ""
    const { phoneNumber } = (await request.json()) as { phoneNumber: E164 }
    const { status } = await writeUser(db!, ORGANIZATION_ID, userId, phoneNumber)
    return HttpServerResponse.unsafeJson({ success: status === 200 }, { status })
  }
})

export default {
  fetch: (request: Request, env: Env): Promise<Response> => {
    db ??= env.DB
    return fetch(request)
  }
}
