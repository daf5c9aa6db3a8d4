/**
 * The opaque cursors of the paged routes that walk the store's event numbers (the organization's feed, a
 * subscription's deliveries): base64url of `s:<number>`. Opaque, so that callers pass back what they were given
 * rather than compute positions; anything else is a 400 invalid-cursor.
 */
import { Effect } from "effect"
import { InvalidRequest } from "./errors.js"

const PREFIX = "s:"

const toBase64Url = (text: string) => btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")

export const encodeCursor = (sequence: number): string => toBase64Url(`${PREFIX}${sequence}`)

const invalid = Effect.fail(
  new InvalidRequest({ code: "invalid-cursor", detail: "The cursor is not one this service gave out." })
)

/** The event number a cursor stands for; 0 (from the start) without one. */
export const decodeCursor = (cursor: string | undefined): Effect.Effect<number, InvalidRequest> => {
  if (cursor === undefined) return Effect.succeed(0)
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(cursor)) return invalid
  let text: string
  try {
    text = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"))
  } catch {
    return invalid
  }
  const match = /^s:(0|[1-9][0-9]{0,15})$/.exec(text)
  return match === null || !Number.isSafeInteger(Number(match[1])) ? invalid : Effect.succeed(Number(match[1]))
}
