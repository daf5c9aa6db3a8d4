// GET /docs (Scalar). Its script never comes from a CDN: inlined on Bun and Deno (docs-inline.ts), a static asset on
// the Worker (scripts/build-docs.ts). All that reaches a third party (fonts, telemetry, toolbar uploads) is off.
import { HttpApi, HttpApiBuilder, type HttpApiScalar, HttpServerResponse, OpenApi } from "@effect/platform"
import { Effect } from "effect"

export const DOCS_PATH = "/docs"
export const DOCS_SCRIPT_PATH = "/docs/scalar.js"

// Scalar 1.39 options that ScalarConfig lacks; passed through as JSON.
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
  // Both credentials are one requirement (src/api/common.ts): preselect the pair.
  authentication: { preferredSecurityScheme: [["apiKey", "bearer"]] }
}

const text = (value: string) =>
  value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")
// Safe inside <script>: no `<`, and U+2028/9 stay escaped.
const scriptJson = (value: unknown) =>
  JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029")

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
