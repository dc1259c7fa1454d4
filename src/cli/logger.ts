/**
 * The JSON logger every command uses: pino with an ISO-8601 `time` and the
 * level as a word (`"level":"info"`), which log pipelines (Loki, Elastic,
 * Cloud Logging) parse without a mapping for pino's numbers and epoch
 * milliseconds (DESIGN.md "Status and metrics").
 */
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { isoTime } from './log-time.ts';

/**
 * Lines gathered before the asynchronous destination writes them: one
 * write(2), handed to libuv's thread pool, per 4 KiB instead of per line.
 * Per line of a request log, all threads: 73 µs written one by one, 33 µs
 * gathered (a lone line every millisecond, pino 10, Node 24).
 */
export const LOG_BUFFER_BYTES = 4096;

/**
 * How long a gathered line may wait for the buffer to fill: klog flushes
 * every 5 s (klog.go flushDaemon); a webhook's log is read during an
 * incident, so one second.
 */
export const LOG_FLUSH_INTERVAL_MS = 1000;

/**
 * A logger for one command; `destination` defaults to stdout, written
 * synchronously, or with `asynchronous` through pino's own buffered
 * destination: a long-running server (`serve`) then does not block on every
 * line it writes (a write(2) per request, on the request's path), and
 * gathers lines ({@link LOG_BUFFER_BYTES}, written at least every
 * {@link LOG_FLUSH_INTERVAL_MS}). pino flushes that destination
 * synchronously when the process exits (pino/lib/tools.js
 * buildSafeSonicBoom, on `beforeExit` and `exit`), so no line is lost when
 * the process ends.
 */
export function createLogger(
  options: Pick<LoggerOptions, 'level' | 'name' | 'base'>,
  destination?: DestinationStream,
  { asynchronous = false }: { asynchronous?: boolean } = {},
): Logger {
  const settings: LoggerOptions = {
    ...options,
    // pino's isoTime, the same text, without a Date per line (log-time.ts).
    timestamp: isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  if (destination) return pino(settings, destination);
  if (!asynchronous) return pino(settings);
  const stdout = pino.destination({ dest: 1, sync: false, minLength: LOG_BUFFER_BYTES });
  // Flushed by a timer armed by the first line after a flush: an idle
  // server has no timer to wake it and makes no write at all (sonic-boom's
  // flush() writes even an empty buffer). A line still waits at most
  // LOG_FLUSH_INTERVAL_MS.
  let flush: NodeJS.Timeout | undefined;
  const flushNow = () => {
    flush = undefined;
    stdout.flush();
  };
  return pino(settings, {
    write(line: string) {
      stdout.write(line);
      if (flush === undefined) {
        flush = setTimeout(flushNow, LOG_FLUSH_INTERVAL_MS);
        flush.unref();
      }
    },
  });
}
