/**
 * The JSON logger every command uses: pino with an ISO-8601 `time` and the
 * level as a word (`"level":"info"`), which log pipelines (Loki, Elastic,
 * Cloud Logging) parse without a mapping for pino's numbers and epoch
 * milliseconds (DESIGN.md "Status and metrics").
 */
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/**
 * A logger for one command; `destination` defaults to stdout, written
 * synchronously, or with `asynchronous` through pino's own buffered
 * destination: a long-running server (`serve`) then does not block on every
 * line it writes (a write(2) per request, on the request's path). pino
 * flushes that destination synchronously when the process exits
 * (pino/lib/tools.js buildSafeSonicBoom, on `beforeExit` and `exit`), so no
 * line is lost when the process ends.
 */
export function createLogger(
  options: Pick<LoggerOptions, 'level' | 'name' | 'base'>,
  destination?: DestinationStream,
  { asynchronous = false }: { asynchronous?: boolean } = {},
): Logger {
  const settings: LoggerOptions = {
    ...options,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  if (destination) return pino(settings, destination);
  return asynchronous ? pino(settings, pino.destination({ dest: 1, sync: false })) : pino(settings);
}
