/**
 * The Cloudflare Workers entry: the host's three events, each handled in src/worker-host.ts (which says what the
 * Worker does and how). Nothing else is exported here but types: workerd takes every export of the entry for a
 * handler and refuses to start on a constant.
 */
import { type Bindings, onFetch, onQueue, onScheduled } from "./worker-host.js"

export type { Bindings }

export default {
  fetch: (request: Request, env: Bindings, ctx?: ExecutionContext): Promise<Response> => onFetch(request, env, ctx),
  queue: (batch: MessageBatch<unknown>, env: Bindings, _ctx: ExecutionContext): Promise<void> => onQueue(batch, env),
  scheduled: (_controller: ScheduledController, env: Bindings, ctx: ExecutionContext): void => onScheduled(env, ctx)
}
