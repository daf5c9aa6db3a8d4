// The formatter and the linter: Effect's own template (typescript-eslint, @effect/eslint-plugin's dprint rule at
// width 120, sorted destructuring); `npm run lint` checks, `npm run lint:fix` rewrites. Why these: docs/DECISIONS.md.
import effect from "@effect/eslint-plugin"
import js from "@eslint/js"
import sortDestructureKeys from "eslint-plugin-sort-destructure-keys"
import tseslint from "typescript-eslint"

// The house's layering (docs/DECISIONS.md, "House rules"): arrows point one way, domain → services → app → http and
// api, with layers beside http and api, and the entries on top. The patterns match the import as written: every
// import inside src/ is relative, so `../app/…` from src/domain is src/app.
const outOf = (dirs, why) => ({
  regex: `^(\\.\\./)+(src/)?(${dirs.join("|")})(/|$)`,
  message: why
})
// The entries pick layers and serve: nothing under src/*/ imports them back (config.ts and sha256.ts are shared).
const ENTRIES = ["bun", "deno", "worker", "worker-host", "server", "startup", "fetch-handler", "client"]
const notEntries = {
  regex: `^(\\.\\./)+(${ENTRIES.join("|")})\\.js$`,
  message: `src/*/ never imports an entry (src/${ENTRIES.join(".ts, src/")}.ts): entries import the rest.`
}
const notFromTest = outOf(
  ["test"],
  "src/ must not import from test/: the tests depend on the service, not the reverse."
)
// Imported through the "effect" barrel, Schema is bundled whole, fast-check (its Arbitrary's) included: the production
// bundles must hold no test library (test/house/bundle.test.ts).
const notFromBarrel = {
  name: "effect",
  importNames: ["Schema", "Arbitrary", "FastCheck"],
  message: 'import * as Schema from "effect/Schema": the barrel\'s Schema brings fast-check into the bundles.'
}
const layering = (...patterns) => ({
  "no-restricted-imports": ["error", { paths: [notFromBarrel], patterns: [...patterns, notFromTest] }]
})

export default tseslint.config(
  { ignores: ["node_modules/**", ".wrangler/**", "data/**", "bench/results/**", "coverage/**", "dist/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts", "**/*.mts", "**/*.mjs"],
    plugins: { "@effect": effect, "sort-destructure-keys": sortDestructureKeys },
    rules: {
      "@effect/dprint": ["error", {
        config: {
          indentWidth: 2,
          lineWidth: 120,
          semiColons: "asi",
          quoteStyle: "preferDouble",
          trailingCommas: "never",
          operatorPosition: "maintain",
          "arrowFunction.useParentheses": "force"
        }
      }],
      "sort-destructure-keys/sort-destructure-keys": "error",
      "object-shorthand": "error",
      "no-fallthrough": "off",
      "no-irregular-whitespace": "off",
      "no-control-regex": "off",
      "@typescript-eslint/array-type": ["error", { default: "generic", readonly: "generic" }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-empty-object-type": "off",
      "@typescript-eslint/no-namespace": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }]
    }
  },
  // Lines are written through Effect's Logger (src/layers/logger.ts); only the entries print (banners, refusals).
  // The request log line (src/http/edge.ts) is still written by the edge itself.
  {
    files: ["src/**"],
    ignores: [
      ...["bun", "deno", "worker", "server", "startup"].map((entry) => `src/${entry}.ts`),
      "src/dev/**"
    ],
    rules: { "no-console": "error" }
  },
  // Later entries replace an earlier one's no-restricted-imports for the files they match, so each repeats notFromTest.
  { files: ["src/**"], rules: layering() },
  { files: ["src/*/**"], rules: layering(notEntries) },
  {
    files: ["src/http/**", "src/api/**"],
    rules: layering(
      notEntries,
      outOf(
        ["layers"],
        "src/http and src/api run the programs of src/app; the implementations are the entries' choice."
      )
    )
  },
  {
    files: ["src/layers/**"],
    rules: layering(
      notEntries,
      outOf(
        ["app", "http", "api"],
        "src/layers implements the tags of src/services: it may import src/services, src/domain and src/audit, " +
          "never src/app, src/http or src/api."
      )
    )
  },
  {
    files: ["src/app/**"],
    rules: layering(
      notEntries,
      outOf(
        ["http", "api", "layers"],
        "src/app is written against the tags of src/services, never src/http, src/api or src/layers."
      )
    )
  },
  {
    files: ["src/audit/**", "src/webhooks/**"],
    rules: layering(
      notEntries,
      outOf(
        ["app", "http", "api", "layers", "services"],
        "src/audit and src/webhooks are pure helpers over src/domain: never src/services, src/app, src/http, " +
          "src/api or src/layers."
      )
    )
  },
  {
    files: ["src/services/**"],
    rules: layering(
      notEntries,
      outOf(
        ["app", "http", "api", "layers"],
        "src/services holds tags and port errors only: it may import src/domain (and src/audit's types), " +
          "never src/app, src/http, src/api or src/layers."
      )
    )
  },
  {
    files: ["src/domain/**"],
    rules: layering(
      notEntries,
      outOf(
        ["app", "http", "api", "layers", "services", "audit"],
        "src/domain is pure: it imports only itself and packages " +
          "(never src/app, src/http, src/api, src/layers, src/services or src/audit)."
      )
    )
  }
)
