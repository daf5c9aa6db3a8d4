/**
 * The service's log lines: one JSON object per line, `{"level","msg",…annotations}`, warnings and errors on stderr,
 * the rest on stdout, through Effect's Console (so a test's console spy sees them). Programs log with Effect.log*
 * and Effect.annotateLogs; the entries install JsonLoggerLive.
 */
import { Console, Context, DefaultServices, Effect, FiberRefs, HashMap, Logger, LogLevel } from "effect"

/** The line: level and msg first (log filters match on that prefix), then the annotations. */
export const jsonLine = Logger.make(({ annotations, logLevel, message }): string => {
  const parts = Array.isArray(message) ? message : [message]
  return JSON.stringify({
    level: logLevel.label.toLowerCase(),
    msg: parts.map(String).join(" "),
    ...Object.fromEntries(HashMap.toEntries(annotations))
  })
})

export const JsonLogger = Logger.make((options) => {
  const out = Context.get(FiberRefs.getOrDefault(options.context, DefaultServices.currentServices), Console.Console)
  const line = jsonLine.log(options)
  if (LogLevel.greaterThanEqual(options.logLevel, LogLevel.Warning)) out.unsafe.error(line)
  else out.unsafe.log(line)
})

/** Replaces Effect's default logger with JsonLogger. */
export const JsonLoggerLive = Logger.replace(Logger.defaultLogger, JsonLogger)

/** A line from outside any Effect program (an entry's own failure), as JsonLogger writes it. */
export const logLine = (level: "warn" | "error", msg: string, fields: Record<string, unknown> = {}): void =>
  Effect.runSync(
    (level === "warn" ? Effect.logWarning(msg) : Effect.logError(msg)).pipe(
      Effect.annotateLogs(fields),
      Effect.provide(JsonLoggerLive)
    )
  )
