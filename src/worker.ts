// Only types besides the handlers: workerd takes every export for a handler and refuses a constant.
import { type Bindings, onFetch, onQueue, onScheduled } from "./worker-host.js"

export type { Bindings }

export default {
  fetch: (request: Request, env: Bindings, ctx?: ExecutionContext): Promise<Response> => onFetch(request, env, ctx),
  queue: (batch: MessageBatch<unknown>, env: Bindings, _ctx: ExecutionContext): Promise<void> => onQueue(batch, env),
  scheduled: (_controller: ScheduledController, env: Bindings, ctx: ExecutionContext): void => onScheduled(env, ctx)
}
