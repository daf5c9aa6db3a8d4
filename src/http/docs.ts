/**
 * GET /docs: the interactive API reference (Scalar), generated from the same HttpApi definition as /openapi.json.
 * Its script never comes from a CDN: Bun and Deno inline it (docs-inline.ts); the Worker's page loads it from its own
 * origin, a static asset (scripts/build-docs.ts), which keeps its 3 MB out of the Worker's script.
 * Everything in Scalar that would reach a third party is turned off: its web fonts (fonts.scalar.com), its
 * telemetry, and the localhost toolbar whose "Share" and "Generate SDKs" upload the document to scalar.com.
 * "Test Request" sends to the page's own origin with the bearer token and X-API-Key typed into the client.
 */
import { HttpApi, HttpApiBuilder, type HttpApiScalar, HttpServerResponse, OpenApi } from "@effect/platform"
import { Effect } from "effect"

export const DOCS_PATH = "/docs"
export const DOCS_SCRIPT_PATH = "/docs/scalar.js"

// Options of Scalar 1.39 that @effect/platform's ScalarConfig does not list; the page passes them through as JSON.
interface ScalarExtras {
  readonly showToolbar: "always" | "localhost" | "never"
  readonly telemetry: boolean
  readonly authentication: { readonly preferredSecurityScheme: ReadonlyArray<ReadonlyArray<string>> }
}

export const scalar: HttpApiScalar.ScalarConfig & ScalarExtras = {
  layout: "modern",
  withDefaultFonts: false,
  defaultOpenAllTags: true,
  showToolbar: "never",
  telemetry: false,
  // Every operation needs both credentials together (src/api/common.ts declares them as one requirement): preselect that pair,
  // so "Test Request" opens with a field for the token and one for the API key.
  authentication: { preferredSecurityScheme: [["apiKey", "bearer"]] }
}

const text = (value: string) =>
  value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")
// JSON inside <script>: no `<` can close the element, and U+2028/9 stay escaped as in a JS string.
const scriptJson = (value: unknown) =>
  JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029")

/** @effect/platform's page (HttpApiScalar) with its script element loading `scriptSrc` instead of inlining it. */
const page = (spec: OpenApi.OpenAPISpec, scriptSrc: string) => {
  const description = spec.info.description === undefined || spec.info.description === ""
    ? ""
    : `<meta name="description" content="${text(spec.info.description)}"/>
    <meta name="og:description" content="${text(spec.info.description)}"/>`
  return `<!doctype html>
<html>
  <head>
    <meta charset="utf-8" />
    <title>${text(spec.info.title)}</title>
    ${description}
    <meta name="viewport" content="width=device-width, initial-scale=1" />
  </head>
  <body>
    <script id="api-reference" type="application/json">
      ${scriptJson(spec)}
    </script>
    <script>
      document.getElementById('api-reference').dataset.configuration = JSON.stringify(${
    scriptJson({ _integration: "html", ...scalar })
  })
    </script>
    <script src="${text(scriptSrc)}"></script>
  </body>
</html>`
}

/** GET /docs with Scalar's script at DOCS_SCRIPT_PATH; the page is rendered on its first request. */
export const DocsLinkedScript = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function*() {
    const { api } = yield* HttpApi.Api
    let response: HttpServerResponse.HttpServerResponse | undefined
    yield* router.get(
      DOCS_PATH,
      Effect.sync(() => response ??= HttpServerResponse.html(page(OpenApi.fromApi(api), DOCS_SCRIPT_PATH)))
    )
  })
)
