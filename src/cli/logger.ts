/**
 * The JSON logger every command uses: pino with an ISO-8601 `time` and the
 * level as a word (`"level":"info"`), which log pipelines (Loki, Elastic,
 * Cloud Logging) parse without a mapping for pino's numbers and epoch
 * milliseconds (DESIGN.md "Status and metrics").
 */
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/** A logger for one command; `destination` defaults to stdout. */
export function createLogger(options: Pick<LoggerOptions, 'level' | 'name' | 'base'>, destination?: DestinationStream): Logger {
  const settings: LoggerOptions = {
    ...options,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return destination ? pino(settings, destination) : pino(settings);
}
