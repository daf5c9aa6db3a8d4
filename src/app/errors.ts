/**
 * Why the application refuses a request beyond what the domain and the ports say: a precondition the caller set,
 * and an organization the caller may not see. src/http/problems.ts turns each into its answer.
 */
import { Data } from "effect"

/** `If-Match` named a version other than the current one; nothing was written. */
export class PreconditionFailed extends Data.TaggedError("PreconditionFailed")<{
  readonly expected: string
  readonly current: number
}> {}

/** The organization is not the caller's (other organizations look the same as unknown ones). */
export class OrganizationNotFound extends Data.TaggedError("OrganizationNotFound")<{}> {}
