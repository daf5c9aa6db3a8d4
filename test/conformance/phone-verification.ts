/**
 * The verified change of number on every runtime (called by suite.ts): the code delivered to a real receiver on
 * 127.0.0.1 that checks its signature, the old number kept until the code is confirmed, wrong codes counted down to
 * the change's end, and a recycled number released from its holder.
 */
import { describe, expect, it } from "vitest"
import { verifyWebhook } from "../../src/client.js"
import { expectProblem } from "../support/client.js"
import { eventually } from "../support/eventually.js"
import { startReceiver } from "../support/webhook-receiver.js"
import type { Target } from "./runtimes.js"
import type { Answer, PhoneNumber } from "./suite.js"

export interface PhoneVerificationContext {
  readonly target: () => Target
  readonly send: (
    method: string,
    path: string,
    options?: { readonly token?: string | null; readonly json?: unknown }
  ) => Promise<Answer>
  readonly newUser: (label: string, phoneNumber?: PhoneNumber) => Promise<string>
  readonly nextNumber: () => PhoneNumber
}

const SCOPES = "users:read users:write users:pii:read webhooks:write phone:code:return"

export const phoneVerificationCases = ({ newUser, nextNumber, send, target: t }: PhoneVerificationContext) =>
  describe("verified phone number change", () => {
    const token = () => t().signServiceToken(t().organizationId, SCOPES)
    const request = async (userId: string, phoneNumber: string, verification: string) =>
      send("POST", `/users/${userId}/UpdatePhoneNumber`, {
        token: await token(),
        json: { phoneNumber, verification }
      })
    const confirm = async (userId: string, code: string, as?: string) =>
      send("POST", `/users/${userId}/ConfirmPhoneNumberChange`, { token: as ?? (await token()), json: { code } })
    const read = async (userId: string) => send("GET", `/users/${userId}`, { token: await token() })

    it("send-code: the signed code at the organization's endpoint, the old number kept, then confirmed", async () => {
      const receiver = await startReceiver()
      try {
        const configured = await send("PUT", `/organizations/${t().organizationId}/code-delivery`, {
          token: await token(),
          json: { url: receiver.url }
        })
        expect(configured.status, configured.text).toBe(200)
        expect(configured.headers.get("cache-control")).toBe("no-store")
        const [old, next] = [nextNumber(), nextNumber()]
        const userId = await newUser("verify", old)
        const requested = await request(userId, next.typed, "send-code")
        expect(requested.status, requested.text).toBe(202)
        expect(requested.body).toMatchObject({
          version: 2,
          event: { type: "UserPhoneNumberChangeRequested", data: { maskedPhoneNumber: next.masked } },
          pendingChange: { maskedPhoneNumber: next.masked }
        })
        expect(requested.body.verificationCode).toBeUndefined()
        const delivered = await eventually(
          "the code at the receiver",
          () => receiver.withId(requested.body.pendingChange.id)[0]
        )
        const verified = await verifyWebhook(configured.body.secret, delivered.headers, delivered.body)
        const { data } = JSON.parse(verified.body)
        expect(data).toMatchObject({ userId, phoneNumber: next.e164 })
        expect((await read(userId)).body).toMatchObject({
          phoneNumber: old.e164,
          pendingPhoneNumberChange: { maskedPhoneNumber: next.masked }
        })
        const user = await t().signUserToken(userId, t().organizationId)
        const confirmed = await confirm(userId, data.code, user)
        expect(confirmed.status, confirmed.text).toBe(200)
        expect(confirmed.body.event).toMatchObject({
          type: "UserPhoneNumberUpdated",
          data: { maskedPhoneNumber: next.masked, previousMaskedPhoneNumber: old.masked, phoneNumberVerified: true }
        })
        expect((await read(userId)).body).toMatchObject({ phoneNumber: next.e164, phoneNumberVerified: true })
        expectProblem(await confirm(userId, data.code), 404, "no-pending-change")
      } finally {
        await receiver.close()
      }
    })

    it("wrong codes: 422 with attemptsLeft, the fifth a 410, malformed ones a 400 that counts nothing", async () => {
      const userId = await newUser("verify", nextNumber())
      const requested = await request(userId, nextNumber().typed, "return-code")
      expect(requested.status, requested.text).toBe(202)
      const code: string = requested.body.verificationCode
      expect(code).toMatch(/^[0-9]{6}$/)
      const wrong = code === "000000" ? "000001" : "000000"
      expectProblem(await confirm(userId, "12345"), 400, "invalid-body")
      for (const left of [4, 3, 2, 1]) {
        const answer = await confirm(userId, wrong)
        expectProblem(answer, 422, "invalid-verification-code")
        expect(answer.body.attemptsLeft).toBe(left)
      }
      expectProblem(await confirm(userId, wrong), 410, "verification-expired")
      expectProblem(await confirm(userId, code), 404, "no-pending-change")
    })

    it("return-code needs phone:code:return; a recycled number is released from its unverified holder", async () => {
      const narrow = await t().signServiceToken(t().organizationId, "users:read users:write")
      const taken = nextNumber()
      const holder = await newUser("holder", taken)
      const userId = await newUser("verify")
      expectProblem(
        await send("POST", `/users/${userId}/UpdatePhoneNumber`, {
          token: narrow,
          json: { phoneNumber: taken.typed, verification: "return-code" }
        }),
        403,
        "missing-scope"
      )
      const requested = await request(userId, taken.typed, "return-code")
      expect(requested.status, requested.text).toBe(202)
      const confirmed = await confirm(userId, requested.body.verificationCode)
      expect(confirmed.status, confirmed.text).toBe(200)
      const trail = await send("GET", `/users/${holder}/events`, { token: await token() })
      expect(trail.body.events.at(-1)).toMatchObject({
        type: "UserPhoneNumberReleased",
        version: 2,
        data: { maskedPhoneNumber: taken.masked, reason: "verified-by-another-user" }
      })
      expect((await read(holder)).body).toMatchObject({ phoneNumber: null })
    })
  })
