/**
 * The scale bench's Durable Object hop (`npm run bench:scale -- --variant do-hop`): the smallest Worker that shows what
 * forwarding a write through a Durable Object costs. `MODE = "direct"`: the bare Worker's D1 write
 * (bare-write.ts `writeUser`: read, link, one `batch()`) in the isolate that took the request. `MODE = "do"`: the
 * same call made by a SQLite-backed Durable Object, one per organization (`idFromName`), reached by RPC; D1 is the
 * same database either way. One object per organization is one writer of its chain for every isolate, which is why it
 * is the candidate design. The organization is the `X-Organization-Id` header (no auth here); answers carry the
 * event's id as the service's do, so the bench can look for it in the store afterwards.
 */
import { DurableObject } from "cloudflare:workers"
import type { E164 } from "../../src/domain/phone.js"
import { ORGANIZATION_ID, type WriteResult, writeUser } from "./bare-write.js"
import { withIsolateProbe } from "./isolate-probe.js"

interface Env {
  readonly DB: D1Database
  readonly MODE: "direct" | "do"
  readonly WRITER: DurableObjectNamespace<OrganizationWriter>
}

/** One organization's writer: its writes, from any isolate, one after the other (writeUser queues them). */
export class OrganizationWriter extends DurableObject<Env> {
  write(organizationId: string, userId: string, phoneNumber: E164): Promise<WriteResult> {
    return writeUser(this.env.DB, organizationId, userId, phoneNumber)
  }
}

export default withIsolateProbe<Env>({
  async fetch(request, env) {
    if (request.method === "GET") return new Response("ok")
    const organizationId = request.headers.get("x-organization-id") ?? ORGANIZATION_ID
    const userId = new URL(request.url).pathname.split("/")[2] ?? ""
    const { phoneNumber } = (await request.json()) as { phoneNumber: E164 }
    try {
      const { eventId, status } = env.MODE === "do"
        ? await env.WRITER.get(env.WRITER.idFromName(organizationId)).write(organizationId, userId, phoneNumber)
        : await writeUser(env.DB, organizationId, userId, phoneNumber)
      return Response.json({ success: status === 200, event: eventId === undefined ? null : { id: eventId } }, {
        status
      })
    } catch (error) {
      return Response.json({ success: false, code: "write-failed", error: String(error) }, { status: 500 })
    }
  }
})
