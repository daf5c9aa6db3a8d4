/**
 * `npm run build:client` (run by `npm pack`): dist/client, which needs only `effect`. One esbuild bundle importing only
 * `effect`; tsc's declarations, importing the bundled packages' own (copied under dist/client/vendor) from there.
 */
import * as esbuild from "esbuild"
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join, relative, sep } from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..")
const OUT = join(ROOT, "dist", "client")
const VENDOR = join(OUT, "vendor")

/** The consumer's own: never bundled, never vendored. */
const isPeer = (specifier: string): boolean => specifier === "effect" || specifier.startsWith("effect/")

const fail = (message: string): never => {
  throw new Error(`build:client: ${message}`)
}

const declarations = (): void => {
  const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, "tsconfig.client.json"), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) =>
      fail(ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"))
  })!
  const program = ts.createProgram(config.fileNames, config.options)
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...program.emit().diagnostics]
  if (diagnostics.length > 0) {
    fail(ts.formatDiagnostics(diagnostics, { ...ts.sys, getCanonicalFileName: (name) => name, getNewLine: () => "\n" }))
  }
}

/** The bundle, with every package but `effect` inlined; answers the packages it inlined. */
const javascript = async (): Promise<Set<string>> => {
  const { metafile } = await esbuild.build({
    entryPoints: [join(ROOT, "src/client.ts")],
    outfile: join(OUT, "client.js"),
    bundle: true,
    external: ["effect", "effect/*"],
    format: "esm",
    platform: "neutral",
    target: "es2022",
    logLevel: "warning",
    metafile: true,
    // Names kept, so a consumer's stack trace still reads; spaces and dead branches gone.
    minifyWhitespace: true,
    minifySyntax: true
  })
  const [output] = Object.values(metafile.outputs)
  const foreign = output!.imports.filter((entry) => !isPeer(entry.path))
  if (foreign.length > 0) fail(`client.js imports ${foreign.map((entry) => entry.path).join(", ")}`)
  const packages = new Set<string>()
  for (const [input, { bytesInOutput }] of Object.entries(output!.inputs)) {
    const name = bytesInOutput === 0 ? undefined : /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1]
    if (name === "effect") fail(`${input} is bundled: the consumer's effect must be the only one`)
    if (name !== undefined) packages.add(name)
  }
  return packages
}

interface Package {
  readonly name: string
  readonly dir: string
  readonly manifest: { exports?: Record<string, { types?: string } | string> }
}

const packageOf = (specifier: string, from: string): Package & { readonly subpath: string } => {
  const parts = specifier.split("/")
  const length = specifier.startsWith("@") ? 2 : 1
  const name = parts.slice(0, length).join("/")
  const dir = dirname(createRequire(from).resolve(`${name}/package.json`))
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"))
  return { name, dir, manifest, subpath: [".", ...parts.slice(length)].join("/") }
}

/** The declaration file a package's `exports` name for `subpath`. */
const typesFile = (pkg: Package, subpath: string): string => {
  const entry = pkg.manifest.exports?.[subpath]
  const types = typeof entry === "object" ? entry.types : undefined
  return types === undefined ? fail(`${pkg.name} exports no types for ${subpath}`) : join(pkg.dir, types)
}

/** The modules a barrel re-exports as namespaces (`export * as HttpClient from "./HttpClient.js"`). */
const namespacesOf = (barrel: string): Map<string, string> =>
  new Map(
    [...readFileSync(barrel, "utf8").matchAll(/^export \* as (\w+) from "(\.\/[\w/]+\.js)";$/gm)].map((
      [, name, path]
    ) => [name!, join(dirname(barrel), path!.replace(/\.js$/, ".d.ts"))])
  )

/**
 * `import { HttpClient } from "@effect/platform"` (a barrel of namespaces) as `import * as HttpClient from
 * "…/HttpClient.js"`, so only the modules used are copied; `export { … } from` too. Undefined for ordinary names.
 */
const namespaceImports = (
  node: ts.Node,
  barrel: string,
  specifierOf: (module: string) => string
): { start: number; end: number; text: string } | undefined => {
  const [keyword, elements] = ts.isImportDeclaration(node) && node.importClause?.name === undefined &&
      node.importClause?.namedBindings !== undefined && ts.isNamedImports(node.importClause.namedBindings)
    ? ["import", node.importClause.namedBindings.elements] as const
    : ts.isExportDeclaration(node) && node.exportClause !== undefined && ts.isNamedExports(node.exportClause)
    ? ["export", node.exportClause.elements] as const
    : [undefined, []] as const
  const modules = namespacesOf(barrel)
  const found = elements.map((element) => modules.get((element.propertyName ?? element.name).text))
  if (keyword === undefined || found.every((module) => module === undefined)) return undefined
  const lines = elements.map((element, index) => {
    const module = found[index] ?? fail(`${element.name.text} is not a module of the barrel ${barrel}`)
    return `${keyword} * as ${element.name.text} from "${specifierOf(module)}";`
  })
  return { start: node.getStart(), end: node.getEnd(), text: lines.join("\n") }
}

/** Where a package's declaration file goes in dist/client: its path in the package kept, so relative imports hold. */
const vendored = (pkg: Package, file: string): string => join(VENDOR, pkg.name, relative(pkg.dir, file))

const specifierFor = (from: string, to: string): string => {
  const path = relative(dirname(from), to).split(sep).join("/").replace(/\.d\.ts$/, ".js")
  return path.startsWith(".") ? path : `./${path}`
}

/**
 * Rewrites `target` (a declaration file in dist/client) so that every bare import but effect's points at a vendored
 * copy; answers the files (source, destination) still to copy.
 */
const rewrite = (target: string, origin: string, packages: Set<string>): Array<[string, string]> => {
  const text = readFileSync(target, "utf8").replace(/^\/\/# sourceMappingURL=.*$/m, "")
  const source = ts.createSourceFile(target, text, ts.ScriptTarget.Latest, true)
  const edits: Array<{ start: number; end: number; text: string }> = []
  const pending: Array<[string, string]> = []
  const copy = (pkg: Package, file: string): string => {
    packages.add(pkg.name)
    pending.push([file, vendored(pkg, file)])
    return specifierFor(target, vendored(pkg, file))
  }
  const visit = (node: ts.Node): void => {
    const literal = ts.isImportDeclaration(node) || ts.isExportDeclaration(node)
      ? node.moduleSpecifier
      : ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)
      ? node.argument.literal
      : ts.isModuleDeclaration(node) && ts.isStringLiteral(node.name)
      ? fail(`${origin} augments "${node.name.text}"`)
      : undefined
    if (literal !== undefined && ts.isStringLiteral(literal)) {
      const specifier = literal.text
      if (specifier.startsWith(".")) {
        const file = join(dirname(origin), specifier.replace(/\.js$/, ".d.ts"))
        if (origin !== target) pending.push([file, join(dirname(target), specifier.replace(/\.js$/, ".d.ts"))])
      } else if (!isPeer(specifier)) {
        const pkg = packageOf(specifier, origin)
        const file = typesFile(pkg, pkg.subpath)
        const edit = namespaceImports(node, file, (module) => copy(pkg, module))
        edits.push(edit ?? { start: literal.getStart() + 1, end: literal.getEnd() - 1, text: copy(pkg, file) })
      }
    }
    ts.forEachChild(node, visit)
  }
  for (const reference of source.typeReferenceDirectives) fail(`${origin} references types "${reference.fileName}"`)
  visit(source)
  const rewritten = edits.sort((a, b) => b.start - a.start).reduce(
    (text, edit) => text.slice(0, edit.start) + edit.text + text.slice(edit.end),
    text
  )
  writeFileSync(target, rewritten)
  return pending
}

const emitted = (dir: string): Array<string> =>
  readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((name) => name.endsWith(".d.ts")).map((name) =>
    join(dir, name)
  )

rmSync(OUT, { recursive: true, force: true })
declarations()
const packages = await javascript()
const queue: Array<[string, string]> = emitted(OUT).map((file) => [file, file])
const done = new Set<string>()
while (queue.length > 0) {
  const [origin, target] = queue.pop()!
  if (done.has(target)) continue
  done.add(target)
  if (origin !== target) {
    mkdirSync(dirname(target), { recursive: true })
    copyFileSync(origin, target)
  }
  queue.push(...rewrite(target, origin, packages))
}
// Their code or their declarations ship inside ours: their licenses ship beside them.
for (const name of packages) {
  const license = join(packageOf(name, join(ROOT, "package.json")).dir, "LICENSE")
  if (!existsSync(license)) fail(`${name} has no LICENSE file to ship`)
  mkdirSync(join(VENDOR, name), { recursive: true })
  copyFileSync(license, join(VENDOR, name, "LICENSE"))
}
