/**
 * GET /docs: the interactive API reference (Scalar), generated from the same HttpApi definition as /openapi.json.
 * Scalar's script is inlined into the page by @effect/platform (no CDN), so the page works with no internet.
 * Everything in Scalar that would reach a third party is turned off: its web fonts (fonts.scalar.com), its
 * telemetry, and the localhost toolbar whose "Share" and "Generate SDKs" upload the document to scalar.com.
 * "Test Request" sends to the page's own origin with the bearer token and X-API-Key typed into the client.
 */
import { HttpApiScalar } from "@effect/platform"

export const DOCS_PATH = "/docs"

// Options of Scalar 1.39 that @effect/platform's ScalarConfig does not list; the page passes them through as JSON.
interface ScalarExtras {
  readonly showToolbar: "always" | "localhost" | "never"
  readonly telemetry: boolean
  readonly authentication: { readonly preferredSecurityScheme: ReadonlyArray<ReadonlyArray<string>> }
}

const scalar: HttpApiScalar.ScalarConfig & ScalarExtras = {
  layout: "modern",
  withDefaultFonts: false,
  defaultOpenAllTags: true,
  showToolbar: "never",
  telemetry: false,
  // Every operation needs both credentials together (api.ts declares them as one requirement): preselect that pair,
  // so "Test Request" opens with a field for the token and one for the API key.
  authentication: { preferredSecurityScheme: [["apiKey", "bearer"]] }
}

export const DocsLive = HttpApiScalar.layer({ path: DOCS_PATH, scalar })
