/**
 * GET /docs on Bun and Deno: @effect/platform's page with Scalar's script inlined (3 MB). Its own module, imported
 * by their entries only, so that the Worker, whose page links the script instead (docs.ts), never bundles it.
 */
import * as HttpApiScalar from "@effect/platform/HttpApiScalar"
import { DOCS_PATH, scalar } from "./docs.js"

export const DocsInline = HttpApiScalar.layer({ path: DOCS_PATH, scalar })
