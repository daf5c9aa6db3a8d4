// Opaque cursors: base64url of `o:<event number>`. An old store-wide `s:<n>` is a 400 outdated-cursor: translating
// it would tell where the organization's events fell among all.
import { Effect } from "effect"
import { InvalidRequest } from "./errors.js"

const toBase64Url = (text: string) => btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")

export const encodeCursor = (sequence: number): string => toBase64Url(`o:${sequence}`)

const invalid = Effect.fail(
  new InvalidRequest({ code: "invalid-cursor", detail: "The cursor is not one this service gave out." })
)

const outdated = Effect.fail(
  new InvalidRequest({
    code: "outdated-cursor",
    detail: "The cursor counts every organization's events, as before per-organization event numbers: start again " +
      "without after, and skip the event ids already seen."
  })
)

export const decodeCursor = (cursor: string | undefined): Effect.Effect<number, InvalidRequest> => {
  if (cursor === undefined) return Effect.succeed(0)
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(cursor)) return invalid
  let text: string
  try {
    text = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"))
  } catch {
    return invalid
  }
  const match = /^([os]):(0|[1-9][0-9]{0,15})$/.exec(text)
  if (match === null || !Number.isSafeInteger(Number(match[2]))) return invalid
  return match[1] === "s" ? outdated : Effect.succeed(Number(match[2]))
}
