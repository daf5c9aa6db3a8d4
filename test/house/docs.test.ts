/**
 * The docs say what the code does (docs/DECISIONS.md, "House rules"): docs/CONTRACT.md's versions table is
 * package.json's pins, its problem codes are src/http/problems.ts's table, the sections cited as "CONTRACT.md §N"
 * exist, every path under src/, test/ or scripts/ that README.md or docs/*.md names exists in the working tree, every
 * record they cite as DECISIONS.md, "…" exists and is in its index, no file of the repository cites the outside
 * reference the contract was written from, which the repository does not contain, and no doc tells a reader to run
 * `deno task` without `npx`.
 */
import { execFileSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { PROBLEMS } from "../../src/http/problems.js"
import { ROOT } from "../support/processes.js"

const contract = readFileSync(join(ROOT, "docs/CONTRACT.md"), "utf8")
const packageJson = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"))

/** README.md and every page of docs/, with their text. */
const pages = ["README.md", ...readdirSync(join(ROOT, "docs")).flatMap((f) => f.endsWith(".md") ? [`docs/${f}`] : [])]
const docs = pages.map((file) => ({ file, text: readFileSync(join(ROOT, file), "utf8") }))

/** The text of the section that starts at `heading` (up to the next heading of the same or a higher level). */
const section = (heading: string): string => {
  const start = contract.indexOf(`\n${heading}\n`)
  if (start < 0) throw new Error(`docs/CONTRACT.md has no heading ${heading}`)
  const level = heading.indexOf(" ")
  const next = contract.slice(start + heading.length + 2).search(new RegExp(`^#{1,${level}} `, "m"))
  return next < 0 ? contract.slice(start) : contract.slice(start, start + heading.length + 2 + next)
}

/** The body rows of the section's first table, as cells. */
const tableRows = (text: string): Array<Array<string>> =>
  text.split("\n").filter((line) => line.startsWith("| ")).slice(2).map((line) =>
    line.slice(2, -2).split(" | ").map((cell) => cell.trim())
  )

/** Every file of the working tree git knows or would add (tracked, or new and not ignored). */
const repositoryFiles = (): Array<string> | undefined => {
  try {
    return execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
      cwd: ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"]
    }).split("\0").filter((file) => file !== "")
  } catch {
    return undefined
  }
}

describe("docs/CONTRACT.md", () => {
  it("§3 pins exactly the versions package.json does", () => {
    const pinned = { ...packageJson.dependencies, ...packageJson.devDependencies }
    const rows = tableRows(section("## 3. Known-good versions"))
    expect(rows.length).toBeGreaterThan(10)
    for (const [name, version] of rows) expect([name, pinned[name!]]).toEqual([name, version])
    // The client's peers are in the table.
    const listed = new Set(rows.map(([name]) => name))
    for (const name of Object.keys(packageJson.peerDependencies)) expect(listed, name).toContain(name)
  })

  it("§4.3 lists every code of PROBLEMS with its status and title, and no other", () => {
    const rows = tableRows(section("### 4.3 Problems")).map(([status, code, title]) =>
      `${status} ${code!.replace(/`/g, "")} ${title}`
    )
    const table = Object.values(PROBLEMS).flatMap((row) =>
      row.codes.map((code) => `${row.status} ${code} ${row.title}`)
    )
    expect([...rows].sort()).toEqual([...table].sort())
    expect(new Set(rows).size).toBe(rows.length)
  })

  it("has every section that the repository cites as CONTRACT.md §N", () => {
    const cited = new Set<string>()
    for (const file of repositoryFiles() ?? []) {
      if (/\.(ts|mts|mjs|md|sql|toml)$/.test(file)) {
        for (const [, n] of readFileSync(join(ROOT, file), "utf8").matchAll(/CONTRACT\.md §(\d+(?:\.\d+)?)/g)) {
          cited.add(n!)
        }
      }
    }
    for (const n of cited) expect(contract, `§${n}`).toMatch(new RegExp(`^#{2,3} ${n.replace(".", "\\.")}\\.? `, "m"))
  })
})

describe("README.md and docs/*.md", () => {
  it("name only files and folders of src/, test/ and scripts/ that exist", () => {
    // A path ends before a glob, a brace or a placeholder (`src/app/<command>.ts` names src/app), and never in a dot.
    const missing = docs.flatMap(({ file, text }) =>
      [...text.matchAll(/(?<![\w./-])(?:src|test|scripts)\/[\w./-]*[\w-]/g)].flatMap(([path]) =>
        existsSync(join(ROOT, path!)) ? [] : [`${file}: ${path}`]
      )
    )
    expect(docs.length).toBeGreaterThan(4)
    expect([...new Set(missing)]).toEqual([])
  })

  it("cite only records of docs/DECISIONS.md, and its index links every record", () => {
    const decisions = readFileSync(join(ROOT, "docs/DECISIONS.md"), "utf8")
    const records = [...decisions.matchAll(/^## (.+)$/gm)].map(([, title]) => title!)
    const slug = (title: string) => title.toLowerCase().replace(/[^a-z0-9 -]/g, "").replace(/ /g, "-")
    const index = decisions.slice(0, decisions.indexOf("\n## "))
    const linked = [...index.matchAll(/\]\(#([^)]+)\)/g)].map(([, anchor]) => anchor!)
    expect(records.length).toBeGreaterThan(10)
    expect([...linked].sort()).toEqual(records.map(slug).sort())
    const cited = docs.flatMap(({ file, text }) =>
      [...text.replace(/\s+/g, " ").matchAll(/DECISIONS\.md,? \(?"([^"]+)"/g)].map(([, title]) => ({ file, title }))
    )
    expect(cited.length).toBeGreaterThan(10)
    for (const { file, title } of cited) expect(records, `${file} cites "${title}"`).toContain(title)
  })
})

describe.skipIf(repositoryFiles() === undefined)("the repository", () => {
  // Spelt in two halves, so that this file does not name it either.
  const outside = ["DESIGN", "md"].join(".")

  it(`never cites the outside reference (${outside.replace(".", " dot ")}): docs/CONTRACT.md is the contract`, () => {
    const citing = repositoryFiles()!.filter((file) => {
      try {
        return readFileSync(join(ROOT, file), "utf8").includes(outside)
      } catch {
        return false // a file deleted from the working tree but not yet from the index
      }
    })
    expect(citing).toEqual([])
  })

  it("runs Deno's tasks through npm or npx: deno is in node_modules/.bin, not on a fresh clone's PATH", () => {
    const bare = repositoryFiles()!.filter((file) => file.endsWith(".md")).flatMap((file) =>
      readFileSync(join(ROOT, file), "utf8").split("\n").flatMap((line, i) =>
        /(?<![\w/.-])(?<!npx )deno task/.test(line) ? [`${file}:${i + 1}`] : []
      )
    )
    expect(bare).toEqual([])
  })
})
