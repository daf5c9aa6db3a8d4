import { Config, ConfigError as EffectConfigError, ConfigProvider, Effect, Either, Option } from "effect"

export type Env = Readonly<Record<string, string | undefined>>

export class ConfigError extends Error {}

export const stringBindings = (env: object): Record<string, string> =>
  Object.fromEntries(
    Object.entries(env).filter((binding): binding is [string, string] => typeof binding[1] === "string")
  )

export const providerOf = (env: object): ConfigProvider.ConfigProvider =>
  ConfigProvider.fromMap(new Map(Object.entries(stringBindings(env))))

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

export const readConfig = <A>(config: Config.Config<A>, provider: ConfigProvider.ConfigProvider): A =>
  Either.getOrThrowWith(
    Effect.runSync(Effect.either(Effect.withConfigProvider(config, provider))),
    (error) => new ConfigError(firstMessage(error))
  )

export const readEnv = <A>(config: Config.Config<A>, env: Env): A => readConfig(config, providerOf(env))

export const invalid = (message: string) => Either.left(EffectConfigError.InvalidData([], message))

/** Unset and empty (`NAME=`) are both None. */
export const text = (name: string): Config.Config<Option.Option<string>> =>
  Config.string(name).pipe(Config.option, Config.map(Option.filter((value) => value !== "")))

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
