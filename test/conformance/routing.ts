/**
 * Strict routing (docs/CONTRACT.md §4.1, docs/DECISIONS.md, "Routing") on every runtime: paths match as written,
 * letter case and all, and never with a trailing slash (404 with a hint naming the route, no redirect); a known path
 * with another method is a 405 whose Allow lists the path's methods; a JSON value of the wrong type is a 400 whose
 * detail names the field, the type sent and the type needed, with a hint.
 */
import { describe, expect, it } from "vitest"
import { expectProblem } from "../support/client.js"
import type { Target } from "./runtimes.js"
import type { Answer, Observations } from "./suite.js"

export const routingSuite = (target: () => Target, observations: Observations) => {
  const caseName = () => (expect.getState().currentTestName ?? "?").split(" > ").slice(1).join(" > ")

  const send = async (
    method: string,
    path: string,
    options: { readonly credentials?: boolean; readonly json?: unknown } = {}
  ): Promise<Answer> => {
    const t = target()
    const headers: Record<string, string> = options.credentials === false
      ? {}
      : { authorization: `Bearer ${t.userToken}`, "x-api-key": t.apiKey }
    if (options.json !== undefined) headers["content-type"] = "application/json"
    const response = await fetch(`${t.baseUrl}${path}`, {
      method,
      headers,
      body: options.json === undefined ? undefined : JSON.stringify(options.json),
      redirect: "manual",
      signal: AbortSignal.timeout(20_000)
    })
    const text = await response.text()
    let body: any
    try {
      body = text === "" ? undefined : JSON.parse(text)
    } catch {
      body = undefined
    }
    const name = caseName()
    observations.set(name, [
      ...(observations.get(name) ?? []),
      `${response.status}${body?.code ? ` ${body.code}` : ""}`
    ])
    return { status: response.status, headers: response.headers, body, text }
  }

  describe("routing", () => {
    it("matches paths with their letter case: /HEALTHZ and …/updatephonenumber are 404, with the route as a hint", async () => {
      const upper = await send("GET", "/HEALTHZ", { credentials: false })
      expectProblem(upper, 404, "route-not-found")
      expect(upper.body.hint).toBe("Paths are case-sensitive and end without a slash: did you mean /healthz?")
      const lower = await send("POST", `/users/${target().userId}/updatephonenumber`, { json: { phoneNumber: null } })
      expectProblem(lower, 404, "route-not-found")
      expect(lower.body.hint).toMatch(/did you mean \/users\/\{id\}\/UpdatePhoneNumber\?$/)
      expectProblem(await send("GET", "/nope", { credentials: false }), 404, "route-not-found")
    })

    it("refuses a trailing slash with a 404 (never a redirect that would re-send the body and credentials)", async () => {
      const health = await send("GET", "/healthz/", { credentials: false })
      expectProblem(health, 404, "route-not-found")
      expect(health.headers.get("location")).toBeNull()
      expect(health.body.hint).toMatch(/did you mean \/healthz\?$/)
      const command = await send("POST", `/users/${target().userId}/UpdatePhoneNumber/`, {
        json: { phoneNumber: null }
      })
      expectProblem(command, 404, "route-not-found")
      expect(command.headers.get("location")).toBeNull()
    })

    it("answers a known path asked with another method 405, its Allow listing the path's methods", async () => {
      const get = await send("GET", `/users/${target().userId}/UpdatePhoneNumber`)
      expectProblem(get, 405, "method-not-allowed")
      expect(get.headers.get("allow")).toBe("POST")
      expect(get.body.detail).toBe("GET is not a method of this path, which takes POST.")
      const remove = await send("DELETE", `/users/${target().userId}`, { credentials: false })
      expectProblem(remove, 405, "method-not-allowed")
      expect(remove.headers.get("allow")).toBe("GET, HEAD")
      const health = await send("POST", "/healthz", { credentials: false, json: {} })
      expectProblem(health, 405, "method-not-allowed")
      expect(health.headers.get("allow")).toBe("GET, HEAD")
      const webhooks = await send("PUT", `/organizations/${target().organizationId}/webhooks`, { json: {} })
      expectProblem(webhooks, 405, "method-not-allowed")
      expect(webhooks.headers.get("allow")).toBe("GET, HEAD, POST")
      expect(webhooks.body.detail).toBe("PUT is not a method of this path, which takes GET, HEAD or POST.")
    })

    it("answers a JSON value of the wrong type with one sentence naming the field and both types, and a hint", async () => {
      const answer = await send("POST", `/users/${target().userId}/UpdatePhoneNumber`, {
        json: { phoneNumber: 4155550123 }
      })
      expectProblem(answer, 400, "invalid-body")
      expect(answer.body.detail).toBe("phoneNumber must be a string or null, not a number.")
      expect(answer.body.hint).toMatch(/^Send phoneNumber as a string: 1 to 64 characters in international form/)
      expect(answer.text).not.toContain("4155550123")
    })
  })
}
