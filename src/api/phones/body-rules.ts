// A refused policy or lookup body, told by the field's rule (its range, its accepted values), never the value sent.
import { ParseResult } from "effect"
import { LINE_TYPES } from "../../domain/phone-policy-schema.js"
import type { DecodeDetail } from "../../http/decode-detail.js"

export const MAX_LOOKUP_NUMBERS = 100
export const MAX_LOOKUP_NUMBER_LENGTH = 64

const RULES: Record<string, string> = {
  selfService: 'selfService must be "direct" or "verify"',
  allowedRegions: "allowedRegions must be null or 1 to 300 ISO 3166-1 alpha-2 region codes with phone numbers, in " +
    'capitals (e.g. ["FR", "BE"])',
  allowedLineTypes: `allowedLineTypes must be null or a non-empty list of ${LINE_TYPES.join(", ")}`,
  codeLimits: "codeLimits must be an object of perNumberPerHour, perUserPerDay and perOrganizationPerDay",
  "codeLimits.perNumberPerHour": "codeLimits.perNumberPerHour must be a whole number from 1 to 100",
  "codeLimits.perUserPerDay": "codeLimits.perUserPerDay must be a whole number from 1 to 1000",
  "codeLimits.perOrganizationPerDay": "codeLimits.perOrganizationPerDay must be a whole number from 1 to 10000000",
  onVerifiedConflict: 'onVerifiedConflict must be "reject" or "release"',
  phoneNumbers: `phoneNumbers must be a list of 1 to ${MAX_LOOKUP_NUMBERS} strings of at most ` +
    `${MAX_LOOKUP_NUMBER_LENGTH} characters`
}

/** Names the field and its rule; an unknown field only when its name is a plain word (it could be a number). */
export const describeByRules = (error: ParseResult.ParseError): DecodeDetail => {
  const rules = ParseResult.ArrayFormatter.formatErrorSync(error).slice(0, 5).map((issue) => {
    const named = issue.path.filter((part) => typeof part === "string").join(".")
    if (issue._tag === "Unexpected") {
      return /^[A-Za-z_.]{1,60}$/.test(named) ? `${named} is not an accepted field` : "a field is not accepted"
    }
    const index = issue.path.find((part) => typeof part === "number")
    const rule = RULES[named] ?? RULES[String(issue.path[0])] ?? "the body must be a JSON object"
    return index === undefined ? rule : `${rule} (entry ${String(index)})`
  })
  const detail = [...new Set(rules)].join("; ").replace(
    /^(the body|a field)/,
    (start) => start[0]!.toUpperCase() + start.slice(1)
  )
  return { detail: `${detail}.` }
}
