/**
 * The layering rule of eslint.config.mjs (docs/DECISIONS.md, "House rules"), exercised: a bad import in each guarded
 * place is an error, and the imports the layers really make are not. Linted as text under a path that does not
 * exist, so nothing is written to the tree.
 */
import { ESLint } from "eslint"
import { describe, expect, it } from "vitest"
import { ROOT } from "../support/processes.js"

const eslint = new ESLint({ cwd: ROOT })

/** The messages of no-restricted-imports for `source` linted as if it were the file `path`. */
const restricted = async (path: string, source: string): Promise<Array<string>> => {
  const [result] = await eslint.lintText(source, { filePath: `${ROOT}/${path}` })
  return result!.messages.filter((m) => m.ruleId === "no-restricted-imports").map((m) => m.message)
}

describe("eslint.config.mjs: who may import whom", () => {
  it.each([
    ["src/domain/probe.ts", `import type { Principal } from "../services/auth.js"`],
    ["src/domain/probe.ts", `import { CurrentRequest } from "../app/context.js"`],
    ["src/domain/probe.ts", `import type { Problem } from "../http/problems.js"`],
    ["src/domain/probe.ts", `export { D1Services } from "../layers/d1.js"`],
    ["src/domain/probe.ts", `import { GENESIS_HASH } from "../audit/chain.js"`],
    ["src/services/probe.ts", `import { Scopes } from "../app/authorize.js"`],
    ["src/services/probe.ts", `import type { Problem } from "../http/problems.js"`],
    ["src/services/probe.ts", `import { maskerWithFingerprint } from "../layers/masker.js"`],
    ["src/services/probe.ts", `import { UsersApi } from "../api/api.js"`],
    ["src/domain/probe.ts", `import { UsersApi } from "../api/api.js"`],
    ["src/app/probe.ts", `import type { Problem } from "../http/problems.js"`],
    ["src/app/probe.ts", `import { UsersApi } from "../api/users/api.js"`],
    ["src/app/probe.ts", `import { D1Services } from "../layers/d1.js"`],
    ["src/layers/webhooks/probe.ts", `import { RESPONSE_EXCERPT_LENGTH } from "../../app/webhook-relay.js"`],
    ["src/layers/probe.ts", `import type { Problem } from "../http/problems.js"`],
    ["src/layers/sql/probe.ts", `import { UsersApi } from "../../api/api.js"`],
    ["src/http/probe.ts", `import { D1Services } from "../layers/d1.js"`],
    ["src/api/users/probe.ts", `import { FetchWebhookTransport } from "../../layers/webhooks/transport.js"`],
    ["src/audit/probe.ts", `import { EventLog } from "../services/event-log.js"`],
    ["src/webhooks/probe.ts", `import { deliver } from "../app/webhook-delivery.js"`],
    ["src/app/probe.ts", `import { makeFetchHandler } from "../fetch-handler.js"`],
    ["src/http/probe.ts", `import { runServer } from "../server.js"`],
    ["src/layers/sqlite/probe.ts", `import { onFetch } from "../../worker-host.js"`],
    ["src/domain/probe.ts", `import { startup } from "../startup.js"`],
    ["src/fetch-handler-probe.ts", `import { memoryServices } from "../test/support/memory.js"`],
    ["src/layers/sql/probe.ts", `import { seeded } from "../../../test/support/sqlite-fixture.js"`],
    ["src/domain/probe.ts", `import { seeded } from "../../test/support/sqlite-fixture.js"`]
  ])("%s may not: %s", async (path, line) => {
    expect(await restricted(path, `${line}\n`)).toHaveLength(1)
  })

  it.each([
    ["src/domain/probe.ts", `import { parsePhoneNumber } from "./phone.js"`],
    ["src/services/probe.ts", `import type { UserEvent } from "../domain/user.js"`],
    ["src/services/probe.ts", `import type { Checkpoint } from "../audit/checkpoint.js"`],
    ["src/app/probe.ts", `import { UserRepo } from "../services/user-repo.js"`],
    ["src/http/probe.ts", `import { Scopes } from "../app/authorize.js"`],
    ["src/api/users/probe.ts", `import { Scopes } from "../../app/authorize.js"`],
    ["src/api/probe.ts", `import { problemOfCause } from "../http/problems.js"`],
    ["src/layers/webhooks/probe.ts", `import { RESPONSE_EXCERPT_LENGTH } from "../../services/webhooks.js"`],
    ["src/layers/sql/probe.ts", `import { GENESIS_HASH } from "../../audit/chain.js"`],
    ["src/layers/sqlite/probe.ts", `import { SqliteServices } from "./bun.js"`],
    ["src/app/probe.ts", `import { webhookHeaders } from "../webhooks/signature.js"`],
    ["src/audit/probe.ts", `import { sha256Hex } from "../sha256.js"`],
    ["src/fetch-handler.ts", `import { D1Services } from "./layers/d1.js"`],
    ["src/server.ts", `import { relayForever } from "./app/webhook-relay.js"`],
    ["test/probe.test.ts", `import { Scopes } from "../src/app/authorize.js"`]
  ])("%s may: %s", async (path, line) => {
    expect(await restricted(path, `${line}\n`)).toEqual([])
  })
})

describe("eslint.config.mjs: who may print", () => {
  const consoleCalls = async (path: string) => {
    const [result] = await eslint.lintText(`console.error("x")\n`, { filePath: `${ROOT}/${path}` })
    return result!.messages.filter((m) => m.ruleId === "no-console").length
  }

  it.each(["src/app/probe.ts", "src/layers/webhooks/probe.ts", "src/worker-host.ts", "src/fetch-handler.ts"])(
    "%s logs through the Logger, never console",
    async (path) => {
      expect(await consoleCalls(path)).toBe(1)
    }
  )

  it.each(["src/server.ts", "src/bun.ts", "src/startup.ts", "src/dev/probe.ts"])(
    "%s, an entry, may print",
    async (path) => {
      expect(await consoleCalls(path)).toBe(0)
    }
  )
})
