/**
 * Races of the verified change, for any fetch handler (SQLite under Node, D1 inside workerd): each sends its requests
 * at once and checks that exactly one outcome won, that the user's versions stay contiguous, and nothing is half-written.
 */
import { expect } from "vitest"

export interface RaceClient {
  /** The service holds users:read users:write users:erase users:pii:read phone:code:return. */
  readonly send: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>
}

const NEW = "+14155552671"
const OTHER = "+16175550123"
const OLD = "+442079460958"

const versionsOf = async (client: RaceClient, userId: string) => {
  const page = await client.send("GET", `/users/${userId}/events?limit=100`)
  expect(page.status).toBe(200)
  return (page.body.events as Array<{ version: number; type: string }>)
}

const expectContiguous = async (client: RaceClient, userId: string) => {
  const events = await versionsOf(client, userId)
  expect(events.map((e) => e.version)).toEqual(events.map((_, i) => i + 1))
  const user = await client.send("GET", `/users/${userId}`)
  expect(user.body.version).toBe(events.length)
  return events
}

const requested = async (client: RaceClient, userId: string, phoneNumber = NEW) => {
  const answer = await client.send("POST", `/users/${userId}/UpdatePhoneNumber`, {
    phoneNumber,
    verification: "return-code"
  })
  expect(answer.status).toBe(202)
  return answer.body.verificationCode as string
}

const created = async (client: RaceClient, userId: string, phoneNumber: string | null = OLD) =>
  expect((await client.send("POST", "/users", { id: userId, phoneNumber })).status).toBe(201)

const confirm = (client: RaceClient, userId: string, code: string) =>
  client.send("POST", `/users/${userId}/ConfirmPhoneNumberChange`, { code })

export const twoConfirmsRace = async (client: RaceClient, userId: string) => {
  await created(client, userId)
  const code = await requested(client, userId)
  const answers = await Promise.all(Array.from({ length: 5 }, () => confirm(client, userId, code)))
  expect(answers.filter((a) => a.status === 200)).toHaveLength(1)
  for (const lost of answers.filter((a) => a.status !== 200)) {
    expect([404, 410]).toContain(lost.status)
  }
  const events = await expectContiguous(client, userId)
  expect(events.filter((e) => e.type === "UserPhoneNumberUpdated")).toHaveLength(1)
  expect((await client.send("GET", `/users/${userId}`)).body).toMatchObject({ phoneNumberVerified: true, version: 3 })
}

export const confirmRacesNewRequest = async (client: RaceClient, userId: string) => {
  await created(client, userId)
  const code = await requested(client, userId)
  const [confirmed, again] = await Promise.all([
    confirm(client, userId, code),
    client.send("POST", `/users/${userId}/UpdatePhoneNumber`, { phoneNumber: OTHER, verification: "return-code" })
  ])
  expect(again.status).toBe(202)
  if (confirmed.status === 200) {
    // Confirmed first: the new request came after it.
    expect(confirmed.body.version).toBeLessThan(again.body.version)
  } else {
    // Replaced first: the old code proves nothing.
    expect([410, 422]).toContain(confirmed.status)
  }
  await expectContiguous(client, userId)
  const user = (await client.send("GET", `/users/${userId}`)).body
  expect(user.phoneNumber).toBe(confirmed.status === 200 ? NEW : OLD)
  expect(user.pendingPhoneNumberChange.maskedPhoneNumber).toBe("****0123")
}

export const confirmRacesErasure = async (client: RaceClient, userId: string) => {
  await created(client, userId)
  const code = await requested(client, userId)
  const [confirmed, erased] = await Promise.all([
    confirm(client, userId, code),
    client.send("POST", `/users/${userId}/ErasePersonalData`)
  ])
  expect(erased.status).toBe(200)
  if (confirmed.status !== 200) expect([404, 410]).toContain(confirmed.status)
  const events = await expectContiguous(client, userId)
  expect(events.at(-1)!.type).toBe("UserPersonalDataErased")
  const user = (await client.send("GET", `/users/${userId}`)).body
  expect(user).toMatchObject({ erased: true, phoneNumber: null })
  expect(user.pendingPhoneNumberChange).toBeUndefined()
}

/** Ten wrong codes at once: at most five are compared, and the change is then gone. */
export const concurrentGuesses = async (client: RaceClient, userId: string) => {
  await created(client, userId)
  const code = await requested(client, userId)
  const guesses = Array.from({ length: 10 }, (_, i) => String((Number(code) + 1 + i) % 1_000_000).padStart(6, "0"))
  const answers = await Promise.all(guesses.map((guess) => confirm(client, userId, guess)))
  const statuses = answers.map((a) => a.status)
  expect(statuses.filter((s) => s === 422).length).toBeLessThanOrEqual(4)
  expect(statuses.every((s) => s === 422 || s === 410 || s === 404)).toBe(true)
  expect(statuses.filter((s) => s === 410).length).toBeGreaterThanOrEqual(1)
  expect((await confirm(client, userId, code)).status).toBe(404)
  expect((await client.send("GET", `/users/${userId}`)).body).toMatchObject({ phoneNumber: OLD, version: 2 })
}

/** A confirm releasing a holder's number while the holder changes it: one write wins, both chains contiguous. */
export const releaseRacesHolder = async (client: RaceClient, userId: string) => {
  const holder = `${userId}_holder`
  await created(client, userId)
  await created(client, holder, NEW)
  const code = await requested(client, userId)
  const [confirmed, moved] = await Promise.all([
    confirm(client, userId, code),
    client.send("POST", `/users/${holder}/UpdatePhoneNumber`, { phoneNumber: OTHER })
  ])
  expect(confirmed.status).toBe(200)
  expect(moved.status).toBe(200)
  const holderEvents = await expectContiguous(client, holder)
  await expectContiguous(client, userId)
  const held = (await client.send("GET", `/users/${holder}`)).body
  // Released then moved (OTHER), or moved first and nothing to release (OTHER): never NEW.
  expect(held.phoneNumber).toBe(OTHER)
  const released = holderEvents.filter((e) => e.type === "UserPhoneNumberReleased")
  expect(released.length).toBeLessThanOrEqual(1)
  expect((await client.send("GET", `/users/${userId}`)).body.phoneNumber).toBe(NEW)
}
