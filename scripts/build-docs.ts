/**
 * `npm run build:docs`: Scalar's script, which @effect/platform inlines into /docs on Bun and Deno, as the Worker's one
 * static asset (wrangler.toml's [assets], git-ignored). Run by wrangler's [build] and by the Workers tests' config.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { DOCS_SCRIPT_PATH } from "../src/http/docs.js"

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..")
export const ASSETS_DIR = join(ROOT, "dist", "worker-assets")

/** Scalar's script as @effect/platform ships it (its internal module, not exported: found beside HttpApiScalar). */
const scalarScript = async (): Promise<string> => {
  const entry = createRequire(import.meta.url).resolve("@effect/platform/HttpApiScalar")
  const file = join(dirname(entry), "internal", "httpApiScalar.js")
  if (!existsSync(file)) throw new Error(`build:docs: ${file} is missing; has @effect/platform moved Scalar's script?`)
  const module = await import(pathToFileURL(file).href) as { javascript?: unknown; default?: { javascript?: unknown } }
  const script = module.javascript ?? module.default?.javascript
  if (typeof script !== "string" || !script.includes("@scalar/api-reference")) {
    throw new Error(`build:docs: ${file} no longer exports Scalar's script as \`javascript\``)
  }
  return script
}

/** Writes the assets, and removes any other file there (all of it would be public); answers their directory. */
export const buildDocs = async (): Promise<string> => {
  const target = join(ASSETS_DIR, ...DOCS_SCRIPT_PATH.split("/"))
  const script = await scalarScript()
  if (existsSync(ASSETS_DIR)) {
    for (const name of readdirSync(ASSETS_DIR, { encoding: "utf8", recursive: true })) {
      const file = join(ASSETS_DIR, name)
      if (file !== target && statSync(file).isFile()) rmSync(file)
    }
  }
  if (!existsSync(target) || readFileSync(target, "utf8") !== script) {
    mkdirSync(dirname(target), { recursive: true })
    writeFileSync(target, script)
  }
  return ASSETS_DIR
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await buildDocs()
