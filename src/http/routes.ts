// Routes as the log names them: templates, never the raw path (it could carry a phone number).
import { HttpApi } from "@effect/platform"
import { UsersApi } from "./api.js"
import { DOCS_PATH } from "./docs.js"

export const OPENAPI_PATH = "/openapi.json"

// With the method: POST /users/lookup is the lookup, GET /users/lookup the read of the user `lookup`.
const templates: Array<readonly [RegExp, string, string | undefined]> = []
HttpApi.reflect(UsersApi, {
  onGroup: () => {},
  onEndpoint: ({ endpoint }) => {
    const pattern = endpoint.path.split("/").map((segment) =>
      segment.startsWith(":") ? "[^/]+" : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
    ).join("/")
    templates.push([new RegExp(`^${pattern}/?$`), endpoint.path, endpoint.method])
  }
})
templates.push([/^\/openapi\.json$/, OPENAPI_PATH, undefined], [/^\/docs\/?$/, DOCS_PATH, undefined])

export const pathOf = (url: string): string => url.split("?")[0]!.replace(/^[a-z]+:\/\/[^/]+/i, "")

export const routeTemplate = (url: string, method?: string): string => {
  const path = pathOf(url)
  let first: string | undefined
  for (const [pattern, template, of] of templates) {
    if (!pattern.test(path)) continue
    if (of === undefined || of === method) return template
    first ??= template
  }
  return first ?? "(unmatched)"
}
