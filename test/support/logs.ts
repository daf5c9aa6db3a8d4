/**
 * The service's log lines, kept for a test to read: JsonLogger (src/layers/logger.ts) replaced, in the effect it is
 * provided to, by one that parses each line into `lines` instead of writing it; or no line at all.
 */
import { Logger, LogLevel } from "effect"
import { jsonLine, JsonLogger } from "../../src/layers/logger.js"

export const keepLogs = (lines: Array<any>) =>
  Logger.replace(JsonLogger, Logger.map(jsonLine, (line) => void lines.push(JSON.parse(line))))

export const noLogs = Logger.minimumLogLevel(LogLevel.None)
