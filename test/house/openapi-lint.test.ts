/**
 * The OpenAPI document the server serves at /openapi.json, held to what independent tools and readers expect:
 * Redocly's recommended rules (the engine of `@redocly/cli lint`) find no error and no warning, its servers name
 * `npm start`'s address, each command's example answer shows that command's own event, the reference shows each
 * field's own description, no internal model is listed, no example header breaks a copied request, and the path ids
 * default to `npm start`'s demo user and organization, so that "Test Request" works locally as it stands.
 */
import { OpenApi } from "@effect/platform"
import { createConfig, lintFromString } from "@redocly/openapi-core"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { loadOrCreateDevState } from "../../src/dev/state.js"
import { LOCAL_SERVER_URL, UsersApi } from "../../src/http/api.js"
import { ROOT } from "../support/processes.js"

// As HttpApiBuilder.middlewareOpenApi builds the answer of GET /openapi.json.
const spec = OpenApi.fromApi(UsersApi) as unknown as Record<string, any>

type Operation = Record<string, any>
const operations: Array<[string, string, Operation]> = Object.entries<Record<string, Operation>>(spec.paths)
  .flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]): [string, string, Operation] => [path, method, op])
  )

/** Every object of the document with its JSON pointer. */
const nodes = (value: unknown, pointer = "#"): Array<[string, Record<string, any>]> =>
  typeof value !== "object" || value === null
    ? []
    : [
      ...(Array.isArray(value) ? [] : [[pointer, value as Record<string, any>] as [string, Record<string, any>]]),
      ...Object.entries(value).flatMap(([key, child]) => nodes(child, `${pointer}/${key}`))
    ]

describe("the OpenAPI document (GET /openapi.json)", () => {
  it("passes Redocly's recommended rules without an error or a warning", async () => {
    const config = await createConfig({ extends: ["recommended"] })
    const problems = await lintFromString({ source: JSON.stringify(spec), absoluteRef: "openapi.json", config })
    const found = problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`)
    expect(found).toEqual([])
  })

  it("names the server it came from, npm start's address and the production placeholder", () => {
    const port = /defaultPort: (\d+)/.exec(readFileSync(join(ROOT, "src/bun.ts"), "utf8"))?.[1]
    expect(LOCAL_SERVER_URL).toBe(`http://127.0.0.1:${port}`)
    expect(spec.servers.map((server: { url: string }) => server.url)).toEqual(["/", LOCAL_SERVER_URL, "https://{host}"])
    for (const server of spec.servers) expect(server.description, server.url).toMatch(/\w/)
    expect(spec.info.license.name).toMatch(/\w/)
  })

  it("shows each command's own event in its example answer", () => {
    const expected: Record<string, string> = {
      "users.createUser": "UserCreated",
      "users.updatePhoneNumber": "UserPhoneNumberUpdated",
      "users.markPhoneNumberVerified": "UserPhoneNumberVerified",
      "users.erasePersonalData": "UserPersonalDataErased"
    }
    const shown = Object.fromEntries(operations.flatMap(([, , op]) => {
      const [, success] = Object.entries<any>(op.responses).find(([status]) => status.startsWith("2")) ?? []
      const example = success?.content?.["application/json"]?.schema?.examples?.[0]
      return example?.event === undefined ? [] : [[op.operationId, example.event.type]]
    }))
    expect(shown).toEqual(expected)
    for (const [, , op] of operations) {
      const [, success] = Object.entries<any>(op.responses).find(([status]) => status.startsWith("2")) ?? []
      const example = success?.content?.["application/json"]?.schema?.examples?.[0]
      if (example?.event !== undefined) expect(example.event.version, op.operationId).toBe(example.version)
    }
  })

  it('puts each description on the field, never Effect\'s generated one ("a string at most 64 character(s)")', () => {
    const generated = nodes(spec).flatMap(([pointer, node]) =>
      typeof node.description === "string" && /^an? (string|integer|number|non empty)\b/.test(node.description)
        ? [`${pointer}: ${node.description}`]
        : []
    )
    expect(generated).toEqual([])
    const phoneNumber = spec.components.schemas.UpdatePhoneNumberRequest.properties.phoneNumber
    expect(phoneNumber.anyOf[0].description).toMatch(/international form/)
  })

  it("lists no internal model (Int) and no framework error", () => {
    const models = Object.keys(spec.components.schemas)
    for (const internal of ["Int", "HttpApiDecodeError", "Issue", "PropertyKey"]) expect(models).not.toContain(internal)
  })

  it("offers no If-Match or Idempotency-Key value: a copied request would get a 412 or a replay", () => {
    const offered = operations.flatMap(([path, method, op]) =>
      (op.parameters as Array<any>).filter((p) => p.in === "header").flatMap((p) =>
        p.example !== undefined || p.examples !== undefined || p.schema?.examples !== undefined ||
          p.schema?.example !== undefined
          ? [`${method} ${path} ${p.name}`]
          : []
      )
    )
    expect(operations.some(([, , op]) => op.parameters.some((p: any) => p.name === "if-match"))).toBe(true)
    expect(offered).toEqual([])
  })

  it("offers npm start's demo user and organization as the path ids", async () => {
    const dir = mkdtempSync(join(tmpdir(), "users-api-openapi-"))
    try {
      const demo = await loadOrCreateDevState(join(dir, "dev-state.json"))
      const offered = new Set(
        operations.flatMap(([, , op]) =>
          (op.parameters as Array<any>).filter((p) => p.in === "path" && ["id", "organizationId"].includes(p.name))
            .map((p) => `${p.name}=${p.schema.examples?.[0]}`)
        )
      )
      expect([...offered].sort()).toEqual([`id=${demo.userId}`, `organizationId=${demo.organizationId}`])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
