/**
 * GET /docs in a real browser: headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core) opens the
 * reference served by `bun src/bun.ts`, finds UpdatePhoneNumber, and sends it once through Scalar's own client with
 * the dev credentials typed into its fields. Every request the page makes must stay on the server's 127.0.0.1
 * origin: the page has to work with no internet. A missing Chromium fails the test (CI installs it).
 */
import { existsSync } from "node:fs"
import { type Browser, chromium, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RunningRuntime, startBun } from "../conformance/runtimes.js"

const CHROMIUM = "/usr/bin/chromium"
const SCREENSHOT = "/tmp/users-api-docs.png"
const NUMBER = { typed: "+44 20 7946 0958", e164: "+442079460958", masked: "****0958" }

describe("GET /docs in headless Chromium", () => {
  let server: RunningRuntime | undefined
  let browser: Browser | undefined
  let page: Page
  const elsewhere: Array<string> = []
  const pageErrors: Array<string> = []

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)`)
    }
    server = await startBun()
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
      timeout: 30_000
    })
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
    page.setDefaultTimeout(20_000)
    const origin = new URL(server.target.baseUrl).origin
    // Anything not for the server itself is recorded and refused, so the page is tested as it works offline.
    await page.route("**/*", (route) => {
      const url = route.request().url()
      if (new URL(url).origin === origin) return route.continue()
      elsewhere.push(url)
      return route.abort()
    })
    page.on("pageerror", (error) => pageErrors.push(error.message))
  }, 90_000)

  afterAll(async () => {
    await browser?.close().catch(() => undefined)
    await server?.stop()
  }, 30_000)

  it("renders the UpdatePhoneNumber operation", async () => {
    const answer = await page.goto(`${server!.target.baseUrl}/docs`, { waitUntil: "load" })
    expect(answer?.status()).toBe(200)
    const operation = page.locator('section[id$="/users/{id}/UpdatePhoneNumber"]')
    await expect.poll(() => operation.count(), { timeout: 20_000 }).toBe(1)
    await expect.poll(() => operation.getByRole("heading", { name: "Set or remove a user's phone number" }).isVisible())
      .toBe(true)
    const shown = await operation.innerText()
    expect(shown).toContain("phoneNumber")
    // The field's own description, and an example answer with this command's event, not the first of the union.
    expect(shown).toContain("1 to 64 characters in international form")
    expect(shown).toContain('"type": "UserPhoneNumberUpdated"')
    expect(shown).not.toContain('"type": "UserCreated"')
  }, 60_000)

  it(
    "sends UpdatePhoneNumber for the dev user from Scalar's client and shows the 200 with the masked number",
    async () => {
      const { apiKey, baseUrl, userId, userToken } = server!.target
      await page.locator("button.show-api-client-button", { hasText: "post /users/{id}/UpdatePhoneNumber" }).click()
      const client = page.getByRole("dialog", { name: "API Client" })
      await client.waitFor()

      // The path parameter offers the contract's example, the demo user of `npm start`: left as it is.
      expect(userId).toBe("user_demo")
      await expect.poll(() => client.locator("button[id^=headlessui-menu-button]", { hasText: userId }).count())
        .toBe(1)

      // The operation needs both credentials; the page preselects that pair, leaving a field for each.
      await client.getByLabel("Value", { exact: true }).fill(apiKey)
      await client.getByLabel("Bearer Token", { exact: true }).fill(userToken)

      // The body editor holds the contract's example; replace it with our number.
      const body = client.locator(".cm-content[data-language=json], .cm-content").last()
      await body.click()
      await page.keyboard.press("ControlOrMeta+A")
      await page.keyboard.insertText(JSON.stringify({ phoneNumber: NUMBER.typed }))

      const [response] = await Promise.all([
        page.waitForResponse((response) => response.url() === `${baseUrl}/users/${userId}/UpdatePhoneNumber`),
        client.getByRole("button", { name: /^Send post request/ }).click()
      ])
      expect(response.status()).toBe(200)
      const sent = response.request().headers()
      expect(sent).toMatchObject({ authorization: `Bearer ${userToken}`, "x-api-key": apiKey })
      // The contract offers no value for either: a copied request would get a 412 or a replay.
      expect(sent["if-match"]).toBeUndefined()
      expect(sent["idempotency-key"]).toBeUndefined()

      await expect.poll(() => client.innerText(), { timeout: 20_000 }).toContain("200 OK")
      const shown = await client.innerText()
      expect(shown).toContain(`"maskedPhoneNumber": "${NUMBER.masked}"`)
      expect(shown).toContain(`"aggregateId": "${userId}"`)
      expect(shown).toContain('"type": "UserPhoneNumberUpdated"')
      await page.screenshot({ path: SCREENSHOT })

      // The request really changed the dev user's number on the server.
      const user = await fetch(`${baseUrl}/users/${userId}`, {
        headers: { authorization: `Bearer ${userToken}`, "x-api-key": apiKey }
      })
      expect(await user.json()).toMatchObject({ phoneNumber: NUMBER.e164, phoneNumberForm: "raw" })
    },
    60_000
  )

  it("made no request beyond 127.0.0.1 and threw no error", () => {
    expect(elsewhere).toEqual([])
    expect(pageErrors).toEqual([])
  })
})
