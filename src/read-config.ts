/**
 * How a setting is read: an Effect `Config` through the entry's ConfigProvider, and a refused one as our ConfigError,
 * one line naming the variable. The small builders every setting of config.ts is made of.
 */
import { Config, ConfigError as EffectConfigError, ConfigProvider, Effect, Either, Option } from "effect"

export type Env = Readonly<Record<string, string | undefined>>

/** A refused setting; its message is one line naming the variable. */
export class ConfigError extends Error {}

/** A Worker's settings: its vars and secrets, the string bindings of its env (the others are D1, queues, ...). */
export const stringBindings = (env: object): Record<string, string> =>
  Object.fromEntries(
    Object.entries(env).filter((binding): binding is [string, string] => typeof binding[1] === "string")
  )

/** The provider over a record of variables: a Worker's env (its string bindings), or a test's settings. */
export const providerOf = (env: object): ConfigProvider.ConfigProvider =>
  ConfigProvider.fromMap(new Map(Object.entries(stringBindings(env))))

/** Effect's error tree as one line: its first failure, whose message names the variable. */
const firstMessage = (error: EffectConfigError.ConfigError): string => {
  switch (error._op) {
    case "And":
    case "Or":
      return firstMessage(error.left)
    case "MissingData":
      return `${error.path.join("_")} must be set`
    default:
      return error.message
  }
}

/** Reads `config` from `provider`, or throws a ConfigError with the first failure's message. */
export const readConfig = <A>(config: Config.Config<A>, provider: ConfigProvider.ConfigProvider): A =>
  Either.getOrThrowWith(
    Effect.runSync(Effect.either(Effect.withConfigProvider(config, provider))),
    (error) => new ConfigError(firstMessage(error))
  )

/** readConfig over a plain record of variables (tests, scripts). */
export const readEnv = <A>(config: Config.Config<A>, env: Env): A => readConfig(config, providerOf(env))

/** A refusal, for `Config.mapOrFail`. */
export const invalid = (message: string) => Either.left(EffectConfigError.InvalidData([], message))

/** A variable's text; unset and empty (`NAME=` in an env file) are both None. */
export const text = (name: string): Config.Config<Option.Option<string>> =>
  Config.string(name).pipe(Config.option, Config.map(Option.filter((value) => value !== "")))

/** An optional variable that `parse` turns into a value, or refuses (undefined) with `refused(text)`. */
export const parsed = <A>(
  name: string,
  parse: (text: string) => A | undefined,
  refused: (text: string) => string
): Config.Config<A | undefined> =>
  text(name).pipe(Config.mapOrFail((value) => {
    if (Option.isNone(value)) return Either.right(undefined)
    const result = parse(value.value)
    return result === undefined ? invalid(refused(value.value)) : Either.right(result)
  }))

/** A number of seconds within a range (whole when asked), or undefined when unset. */
export const seconds = (
  name: string,
  rule: { readonly min: number; readonly max: number; readonly whole?: boolean; readonly what: string }
): Config.Config<number | undefined> =>
  parsed(name, (value) => {
    const number = /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : Number.NaN
    return number >= rule.min && number <= rule.max && (rule.whole !== true || Number.isInteger(number))
      ? number
      : undefined
  }, (value) => `${name} must be ${rule.what}, not ${JSON.stringify(value)}`)
