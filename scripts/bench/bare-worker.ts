/**
 * The Workers baseline: the service's D1 write for `POST /users/{id}/UpdatePhoneNumber` and nothing else
 * (bare-write.ts: no auth, no validation, no Effect; the read, the link and one `batch()` with the service's own
 * statements, serialized per organization in the isolate).
 */
import type { E164 } from "../../src/domain/phone.js"
import { ORGANIZATION_ID, writeUser } from "./bare-write.js"

interface Env {
  readonly DB: D1Database
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
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
}
