/**
 * The service's Worker (src/worker.ts) as the scale bench (scale.ts) bundles it, once for all its copies: the same
 * default export behind the isolate probe (isolate-probe.ts), and every named export of src/worker.ts passed on (a
 * Durable Object class the entry may export one day must reach the bundle).
 */
import worker from "../../src/worker.js"
import { withIsolateProbe } from "./isolate-probe.js"

export * from "../../src/worker.js"

export default withIsolateProbe(worker)
