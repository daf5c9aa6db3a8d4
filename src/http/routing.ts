// Strict routing: a path is matched as written, letter case and all, and never with a trailing slash (a 404, not a
// redirect: docs/DECISIONS.md, "Routing"); a known path asked with another method is a 405 naming its methods.
import { HttpRouter } from "@effect/platform"
import * as Schema from "effect/Schema"
import { problem } from "../domain/problem.js"

/** find-my-way's defaults fold case and drop a trailing slash: two spellings of one route, which the log cannot tell. */
export const StrictRouting = HttpRouter.setRouterConfig({ caseSensitive: true, ignoreTrailingSlash: false })

const STANDARD_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"])

// Any token is a method: one that is not a standard method is caller text, so it is not repeated.
const named = (method: string) => STANDARD_METHODS.has(method) ? method : "This method"

const listed = (methods: ReadonlyArray<string>) =>
  methods.length === 1 ? methods[0]! : `${methods.slice(0, -1).join(", ")} or ${methods.at(-1)}`

export class MethodNotAllowed extends Schema.TaggedError<MethodNotAllowed>()(
  "MethodNotAllowed",
  {
    method: Schema.String,
    allowed: Schema.Array(Schema.String)
  },
  problem<{ readonly method: string; readonly allowed: ReadonlyArray<string> }>({
    status: 405,
    title: "Method not allowed",
    codes: ["method-not-allowed"],
    detail: (e) => `${named(e.method)} is not a method of this path, which takes ${listed(e.allowed)}.`,
    headers: (e) => ({ allow: e.allowed.join(", ") })
  })
) {}
