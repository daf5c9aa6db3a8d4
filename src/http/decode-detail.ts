// A body that does not decode, told in one sentence that names each field, the JSON type it got and the type it
// needs, and a hint from the field's own description. No value at all: not one sent, nor an example (a phone number in
// a problem would look like a leak to anyone checking for one).
import { Array as Arr, Option, type ParseResult } from "effect"
import * as AST from "effect/SchemaAST"

export interface DecodeDetail {
  readonly detail: string
  readonly hint?: string
}

/** A payload schema's own telling of its refusals, where its rules say more than the types (a phone policy). */
export const DescribeBody: unique symbol = Symbol.for("users-api/DescribeBody")

type Path = ReadonlyArray<PropertyKey>

/** `field` is the schema the JSON at `path` had to match, when the parent declares it. */
type Finding =
  | { readonly _tag: "Missing"; readonly path: Path; readonly field: AST.AST | undefined }
  | { readonly _tag: "Unexpected"; readonly path: Path; readonly field: undefined }
  | {
    readonly _tag: "Type"
    readonly path: Path
    readonly field: AST.AST | undefined
    readonly ast: AST.AST
    readonly actual: unknown
  }
  | { readonly _tag: "Invalid"; readonly path: Path; readonly field: AST.AST | undefined; readonly ast: AST.AST }

const jsonType = (value: unknown): string =>
  value === null
    ? "null"
    : Array.isArray(value)
    ? "an array"
    : typeof value === "object"
    ? "an object"
    : typeof value === "string"
    ? "a string"
    : typeof value === "number"
    ? "a number"
    : typeof value === "boolean"
    ? "a boolean"
    : "something else"

/** What the JSON must be: the encoded side, as a reader of the contract names it. */
const expected = (ast: AST.AST): string => {
  switch (ast._tag) {
    case "StringKeyword":
    case "TemplateLiteral":
      return "a string"
    case "NumberKeyword":
      return "a number"
    case "BooleanKeyword":
      return "a boolean"
    case "Literal":
      return ast.literal === null ? "null" : JSON.stringify(ast.literal)
    case "TupleType":
      return "an array"
    case "TypeLiteral":
      return "an object"
    case "Refinement":
      return expected(ast.from)
    case "Transformation":
      return expected(ast.from)
    case "Suspend":
      return expected(ast.f())
    case "Union": {
      // An optional field's union holds undefined, which JSON cannot send.
      const types = ast.types.filter((member) => member._tag !== "UndefinedKeyword")
      if (types.length === 1) return expected(types[0]!)
      if (types.every((member) => AST.isLiteral(member) && typeof member.literal === "string")) {
        return `one of ${types.map(expected).join(", ")}`
      }
      const names = Arr.dedupe(types.map(expected))
      return names.length === 1 ? names[0]! : `${names.slice(0, -1).join(", ")} or ${names.at(-1)}`
    }
    default:
      return "a valid value"
  }
}

const withoutNull = (ast: AST.AST): AST.AST =>
  AST.isUnion(ast)
    ? AST.Union.make(ast.types.filter((member) => !(AST.isLiteral(member) && member.literal === null)))
    : ast

// Schema field names are ours; a key the caller made up is named only when it is a plain word (never a number).
const PLAIN = /^[A-Za-z_][A-Za-z0-9_]{0,39}$/
const fieldName = (path: Path): string =>
  path.length === 0 ?
    "the body" :
    path.every((key) => typeof key === "number" || (typeof key === "string" && PLAIN.test(key)))
    ? path.map(String).join(".")
    : "a field"

const childOf = (parent: AST.AST | undefined, key: PropertyKey): AST.AST | undefined => {
  if (parent === undefined) return undefined
  switch (parent._tag) {
    case "TypeLiteral":
      return parent.propertySignatures.find((property) => property.name === key)?.type
    case "TupleType":
      return parent.rest[0]?.type
    case "Refinement":
    case "Transformation":
      return childOf(parent.from, key)
    default:
      return undefined
  }
}

const astOf = (issue: ParseResult.ParseIssue): AST.AST | undefined => {
  switch (issue._tag) {
    case "Type":
    case "Refinement":
    case "Transformation":
    case "Composite":
    case "Forbidden":
      return issue.ast
    default:
      return undefined
  }
}

const collect = (issue: ParseResult.ParseIssue, path: Path, field: AST.AST | undefined, into: Array<Finding>): void => {
  switch (issue._tag) {
    case "Pointer": {
      const keys: Path = Array.isArray(issue.path) ? issue.path : [issue.path as PropertyKey]
      let child = field
      for (const key of keys) child = childOf(child, key)
      return collect(issue.issue, [...path, ...keys], child, into)
    }
    case "Missing":
      return void into.push({ _tag: "Missing", path, field })
    case "Unexpected":
      return void into.push({ _tag: "Unexpected", path, field: undefined })
    case "Refinement":
      return issue.kind === "From"
        ? collect(issue.issue, path, field, into)
        : void into.push({ _tag: "Invalid", path, field, ast: issue.ast })
    case "Transformation":
      return collect(issue.issue, path, field, into)
    case "Composite": {
      const issues: ReadonlyArray<ParseResult.ParseIssue> = Array.isArray(issue.issues)
        ? issue.issues
        : [issue.issues as ParseResult.ParseIssue]
      if (AST.isUnion(issue.ast)) {
        // The member of the JSON's own type tells what is wrong with it; with none, the type is.
        const sameType = issues.filter((member) => {
          const ast = astOf(member)
          return ast !== undefined && expected(ast) === jsonType(issue.actual)
        })
        return sameType.length === 1
          ? collect(sameType[0]!, path, field ?? issue.ast, into)
          : void into.push({ _tag: "Type", path, field: field ?? issue.ast, ast: issue.ast, actual: issue.actual })
      }
      for (const member of issues) collect(member, path, field ?? issue.ast, into)
      return
    }
    case "Type":
      return void into.push({ _tag: "Type", path, field, ast: issue.ast, actual: issue.actual })
    case "Forbidden":
      return void into.push({ _tag: "Invalid", path, field, ast: issue.ast })
  }
}

/** What a refinement that failed asks for, from its JSON Schema facts. */
const rule = (ast: AST.AST): string => {
  const facts = AST.getJSONSchemaAnnotation(ast).pipe(Option.getOrElse(() => ({}))) as Record<string, unknown>
  const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`
  if (typeof facts.minLength === "number") return `must be at least ${count(facts.minLength, "character")} long`
  if (typeof facts.maxLength === "number") return `must be at most ${count(facts.maxLength, "character")} long`
  if (typeof facts.minItems === "number") return `must have at least ${count(facts.minItems, "item")}`
  if (typeof facts.maxItems === "number") return `must have at most ${count(facts.maxItems, "item")}`
  return "is not in the accepted form"
}

// Effect's own descriptions ("a string", "a string at most 64 character(s) long") say less than the type does.
const GENERATED = /^an? /

/** The contract's description of the field, looked for through unions, refinements and transformations. */
const descriptionOf = (ast: AST.AST | undefined): string | undefined => {
  if (ast === undefined) return undefined
  const own = AST.getDescriptionAnnotation(ast).pipe(Option.filter((text) => !GENERATED.test(text)))
  if (Option.isSome(own)) return own.value
  if (AST.isUnion(ast)) return ast.types.map(descriptionOf).find((text) => text !== undefined)
  return AST.isRefinement(ast) || AST.isTransformation(ast) ? descriptionOf(ast.from) : undefined
}

const sentence = (finding: Finding): string => {
  const field = fieldName(finding.path)
  switch (finding._tag) {
    case "Missing":
      return `${field} is required`
    case "Unexpected":
      return field === "a field" ? "a field is not accepted" : `${field} is not an accepted field`
    case "Type": {
      const needed = expected(finding.ast)
      const got = jsonType(finding.actual)
      return needed.startsWith("one of") && got === "a string"
        ? `${field} must be ${needed}`
        : `${field} must be ${needed}, not ${got}`
    }
    case "Invalid":
      return `${field} ${rule(finding.ast)}`
  }
}

const hintFor = (finding: Finding): string | undefined => {
  if (finding._tag === "Unexpected") return "Send only the fields the contract lists (GET /openapi.json)."
  const field = fieldName(finding.path)
  const described = descriptionOf(finding.field)?.replace(/^[A-Z](?=[a-z ])/, (first) => first.toLowerCase())
  if (finding._tag === "Invalid") return described === undefined ? undefined : `${field}: ${described}`
  const needed = finding._tag === "Type" ? finding.ast : finding.field
  if (needed === undefined) return undefined
  const send = `Send ${field} as ${expected(withoutNull(needed))}`
  return described === undefined ? `${send}.` : `${send}: ${described}`
}

// A sentence starts with a capital, unless it starts with a field's name.
const capitalized = (text: string) =>
  text.replace(/^(the body|a field)/, (start) => start[0]!.toUpperCase() + start.slice(1))

/** At most 5 findings, in one sentence; the hint is the first one's. */
export const describeDecodeError = (error: ParseResult.ParseError): DecodeDetail => {
  const findings: Array<Finding> = []
  collect(error.issue, [], error.issue._tag === "Composite" ? error.issue.ast : undefined, findings)
  if (findings.length === 0) return { detail: "The body does not match the request's schema." }
  const detail = `${capitalized(findings.slice(0, 5).map(sentence).join("; "))}.`
  const hint = hintFor(findings[0]!)
  return hint === undefined ? { detail } : { detail, hint }
}

/** The payload's own describer if it has one, else the sentence above. */
export const describeBody = (schema: { readonly ast: AST.AST }, error: ParseResult.ParseError): DecodeDetail => {
  const own = schema.ast.annotations[DescribeBody] as ((error: ParseResult.ParseError) => DecodeDetail) | undefined
  return own === undefined ? describeDecodeError(error) : own(error)
}
