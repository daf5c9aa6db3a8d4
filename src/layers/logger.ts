// Through Effect's Console, so a test's console spy sees the lines.
import { Console, Context, DefaultServices, Effect, FiberRefs, HashMap, Logger, LogLevel } from "effect"

/** Level and msg first: log filters match on that prefix. */
export const logRecord = (
  { annotations, logLevel, message }: Logger.Logger.Options<unknown>
): { readonly level: string; readonly msg: string; readonly [field: string]: unknown } => {
  const parts = Array.isArray(message) ? message : [message]
  return {
    level: logLevel.label.toLowerCase(),
    msg: parts.map(String).join(" "),
    ...Object.fromEntries(HashMap.toEntries(annotations))
  }
}

export const jsonLine = Logger.make((options): string => JSON.stringify(logRecord(options)))

export const JsonLogger = Logger.make((options) => {
  const out = Context.get(FiberRefs.getOrDefault(options.context, DefaultServices.currentServices), Console.Console)
  const line = jsonLine.log(options)
  if (LogLevel.greaterThanEqual(options.logLevel, LogLevel.Warning)) out.unsafe.error(line)
  else out.unsafe.log(line)
})

export const JsonLoggerLive = Logger.replace(Logger.defaultLogger, JsonLogger)

/** A line from outside any Effect program (an entry's own failure). */
export const logLine = (level: "warn" | "error", msg: string, fields: Record<string, unknown> = {}): void =>
  Effect.runSync(
    (level === "warn" ? Effect.logWarning(msg) : Effect.logError(msg)).pipe(
      Effect.annotateLogs(fields),
      Effect.provide(JsonLoggerLive)
    )
  )
