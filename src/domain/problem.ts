/**
 * How an error answers over HTTP, declared on its own schema: its status (HttpApiSchema's annotation, which the
 * contract reads) and its problem (title, stable codes, a detail that never echoes a submitted value).
 */
import { HttpApiSchema } from "@effect/platform"
import type * as Schema from "effect/Schema"

export interface ProblemSpec<E> {
  readonly status: number
  readonly title: string
  /** Every code this error can carry (the first is the default): the contract lists them. */
  readonly codes: readonly [string, ...Array<string>]
  readonly code?: (error: E) => string
  readonly detail: string | ((error: E) => string)
  readonly hint?: (error: E) => string | undefined
  /** An extension member of the body (RFC 9457): the attempts a code has left. */
  readonly attemptsLeft?: (error: E) => number
  /** Headers of the answer outside its body (WWW-Authenticate, Retry-After). */
  readonly headers?: (error: E) => Record<string, string>
}

export const ProblemSpecId: unique symbol = Symbol.for("users-api/ProblemSpec")

/** The annotations of an error class: `Schema.TaggedError<E>()(tag, fields, problem<Fields>({ … }))`. */
export const problem = <E = unknown>(spec: ProblemSpec<E>): Schema.Annotations.Schema<any> => ({
  ...HttpApiSchema.annotations({ status: spec.status }),
  [ProblemSpecId]: spec
})

/** The problem an error class declares, if it declares one. */
export const problemSpecOf = (schema: Schema.Schema.All): ProblemSpec<any> | undefined => {
  const ast = schema.ast
  const own = ast.annotations[ProblemSpecId] ??
    (ast._tag === "Transformation" ? ast.to.annotations[ProblemSpecId] : undefined)
  return own as ProblemSpec<any> | undefined
}

const byClass = new WeakMap<object, ProblemSpec<any> | null>()

/** The problem an error's class declares, if any: any value, looked up once per class. */
export const problemSpecOfError = (error: unknown): ProblemSpec<any> | undefined => {
  if (typeof error !== "object" || error === null) return undefined
  const constructor = error.constructor
  let spec = byClass.get(constructor)
  if (spec === undefined) {
    spec = "ast" in constructor ? problemSpecOf(constructor as unknown as Schema.Schema.All) ?? null : null
    byClass.set(constructor, spec)
  }
  return spec ?? undefined
}
