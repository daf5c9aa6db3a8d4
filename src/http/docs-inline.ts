// Scalar's script inlined (3 MB) for Bun and Deno; its own module so the Worker never bundles it.
import * as HttpApiScalar from "@effect/platform/HttpApiScalar"
import { DOCS_PATH, scalar } from "./docs.js"

export const DocsInline = HttpApiScalar.layer({ path: DOCS_PATH, scalar })
