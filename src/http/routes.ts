// The routes as UsersApi declares them: templates for the log (never the raw path: it could carry a phone number), and
// each path's methods for a 405's Allow.
import { HttpApi } from "@effect/platform"
import { Option } from "effect"
import type * as Schema from "effect/Schema"
import { UsersApi } from "./api.js"
import { DOCS_PATH } from "./docs.js"

export const OPENAPI_PATH = "/openapi.json"

interface Route {
  readonly pattern: RegExp
  /** The same, ignoring letter case and one trailing slash: what a near miss of this route looks like. */
  readonly loose: RegExp
  readonly template: string
  readonly methods: Array<string>
  /** By method: the payload schema, for telling what is wrong with a body. */
  readonly payloads: Map<string, Schema.Schema<unknown, unknown>>
}

const routes: Array<Route> = []

const add = (path: string, method: string, payload?: Schema.Schema<unknown, unknown>) => {
  const known = routes.find((route) => route.template === path)
  if (known !== undefined) {
    if (payload !== undefined) known.payloads.set(method, payload)
    return void known.methods.push(method)
  }
  const source = path.split("/").map((segment) =>
    segment.startsWith(":") ? "[^/]+" : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  ).join("/")
  routes.push({
    pattern: new RegExp(`^${source}$`),
    loose: new RegExp(`^${source}/?$`, "i"),
    template: path,
    methods: [method],
    payloads: new Map(payload === undefined ? [] : [[method, payload]])
  })
}

HttpApi.reflect(UsersApi, {
  onGroup: () => {},
  onEndpoint: ({ endpoint }) =>
    add(
      endpoint.path,
      endpoint.method,
      Option.getOrUndefined(endpoint.payloadSchema) as Schema.Schema<unknown, unknown> | undefined
    )
})
add(OPENAPI_PATH, "GET")
add(DOCS_PATH, "GET")
// The router answers HEAD wherever it answers GET.
for (const route of routes) {
  if (route.methods.includes("GET")) route.methods.push("HEAD")
  route.methods.sort()
}

export const pathOf = (url: string): string => url.split("?")[0]!.replace(/^[a-z]+:\/\/[^/]+/i, "")

// A path can name two routes (POST /users/lookup, GET /users/{id} of the user `lookup`): the method picks one.
const routeOf = (path: string, method: string) => {
  const matching = routes.filter((route) => route.pattern.test(path))
  return matching.find((route) => route.methods.includes(method)) ?? matching[0]
}

export const routeTemplate = (url: string, method: string): string =>
  routeOf(pathOf(url), method)?.template ?? "(unmatched)"

/** The methods of the routes the path names, if it names any. */
export const methodsOf = (url: string): ReadonlyArray<string> | undefined => {
  const path = pathOf(url)
  const methods = routes.filter((route) => route.pattern.test(path)).flatMap((route) => route.methods)
  return methods.length === 0 ? undefined : [...new Set(methods)].sort()
}

/** For a path that names no route: the template it misses only by letter case or a trailing slash. */
export const nearRoute = (url: string): string | undefined => {
  const path = pathOf(url)
  return routes.find((route) => route.loose.test(path))?.template.replace(/:(\w+)/g, "{$1}")
}

/** The payload schema of the route and method the request names, if it has one. */
export const payloadOf = (method: string, url: string): Schema.Schema<unknown, unknown> | undefined =>
  routeOf(pathOf(url), method)?.payloads.get(method)
