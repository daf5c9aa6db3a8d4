// Routes as the log names them: templates, never the raw path (it could carry a phone number).
import { HttpApi } from "@effect/platform"
import { UsersApi } from "./api.js"
import { DOCS_PATH } from "./docs.js"

export const OPENAPI_PATH = "/openapi.json"

const templates: Array<readonly [RegExp, string]> = []
HttpApi.reflect(UsersApi, {
  onGroup: () => {},
  onEndpoint: ({ endpoint }) => {
    const pattern = endpoint.path.split("/").map((segment) =>
      segment.startsWith(":") ? "[^/]+" : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
    ).join("/")
    templates.push([new RegExp(`^${pattern}/?$`), endpoint.path])
  }
})
templates.push([/^\/openapi\.json$/, OPENAPI_PATH], [/^\/docs\/?$/, DOCS_PATH])

export const pathOf = (url: string): string => url.split("?")[0]!.replace(/^[a-z]+:\/\/[^/]+/i, "")

export const routeTemplate = (url: string): string => {
  const path = pathOf(url)
  for (const [pattern, template] of templates) if (pattern.test(path)) return template
  return "(unmatched)"
}
