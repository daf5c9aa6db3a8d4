/**
 * First step of `npm test`: the tests need Debian's Chromium (the browser test of /docs) and curl (the README's
 * examples). Missing ones are installed with apt-get when running as root; otherwise one line says what to do.
 */
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"

const NEEDS = [
  { binary: "/usr/bin/chromium", packages: ["chromium"] },
  { binary: "/usr/bin/curl", packages: ["curl", "ca-certificates"] }
]

const missing = NEEDS.filter((need) => !existsSync(need.binary)).flatMap((need) => need.packages)
if (missing.length > 0) {
  const command = `apt-get install -y --no-install-recommends ${missing.join(" ")}`
  if (process.getuid?.() !== 0) {
    console.error(`npm test needs ${missing.join(", ")}: run \`sudo apt-get update && sudo ${command}\`, then again.`)
    process.exit(1)
  }
  console.error(`npm test: installing ${missing.join(", ")} with apt-get (once per machine)…`)
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
  for (const args of [["update", "-qq"], ["install", "-y", "-qq", "--no-install-recommends", ...missing]]) {
    const result = spawnSync("apt-get", args, { env, stdio: ["ignore", "ignore", "inherit"] })
    if (result.status !== 0) {
      console.error(
        `npm test: \`apt-get ${args.join(" ")}\` failed (exit ${result.status}); install ${missing.join(", ")} by hand.`
      )
      process.exit(1)
    }
  }
}
