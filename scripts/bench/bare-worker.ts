/**
 * The Workers baseline: the service's D1 write for `POST /users/{id}/UpdatePhoneNumber` and nothing else
 * (bare-write.ts: no auth, no validation, no Effect; the read, the link and one `batch()` with the service's own
 * statements, serialized per organization in the isolate). With the var LOG_LINE=1 it also writes the one JSON line per
 * request the service writes (src/http/edge.ts), as the hand-written Bun baseline does: what that line costs under
 * wrangler dev, which forwards every line a Worker logs to its own process (scripts/bench/worker-cpu.ts).
 */
import type { E164 } from "../../src/domain/phone.js"
import { ORGANIZATION_ID, writeUser } from "./bare-write.js"

interface Env {
  readonly DB: D1Database
  readonly LOG_LINE?: string
}

const answer = async (request: Request, env: Env): Promise<Response> => {
  if (request.method === "GET") return new Response("ok")
  const userId = new URL(request.url).pathname.split("/")[2] ?? ""
  const { phoneNumber } = (await request.json()) as { phoneNumber: E164 }
  try {
    const { status } = await writeUser(env.DB, ORGANIZATION_ID, userId, phoneNumber)
    return Response.json({ success: status === 200 }, { status })
  } catch (error) {
    return Response.json({ success: false, error: String(error) }, { status: 500 })
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const started = Date.now()
    const response = await answer(request, env)
    if (env.LOG_LINE === "1") {
      const requestId = crypto.randomUUID()
      console.log(JSON.stringify({
        level: response.status >= 500 ? "error" : "info",
        msg: "request",
        requestId,
        serverRequestId: requestId,
        method: request.method,
        route: request.method === "GET" ? "/healthz" : "/users/:id/UpdatePhoneNumber",
        status: response.status,
        durationMs: Date.now() - started,
        organizationId: ORGANIZATION_ID,
        actor: "service:svc_bench"
      }))
    }
    return response
  }
}
