/**
 * Reading a `text/event-stream` body with the `eventsource` package, which
 * implements the WHATWG parsing rules (comments, `retry:` fields, CRLF, split
 * chunks) so we do not parse by hand. The package normally issues its own GET;
 * here its `fetch` hook hands it a response we already hold, whose status,
 * content type and redirects the prober has checked itself, and whose body is
 * byte-limited.
 */
import { EventSource, type FetchLikeResponse } from 'eventsource';
import { limitBody } from './limits.ts';

/** One dispatched server-sent event. */
export interface StreamEvent {
  /** The `event:` field, `message` when absent. */
  type: string;
  data: string;
}

/** How reading the stream ended. */
export type StreamOutcome =
  | { kind: 'event'; event: StreamEvent }
  | { kind: 'failed'; reason: string };

/**
 * Sees every event the EventSource dispatches, whatever its name: the legacy
 * transport requires `endpoint` to be the *first* event (spec 2024-11-05,
 * Transports, HTTP with SSE), so listening for named events alone is not
 * enough.
 */
class ObservedEventSource extends EventSource {
  observe: ((event: Event) => void) | undefined;

  override dispatchEvent(event: Event): boolean {
    this.observe?.(event);
    return super.dispatchEvent(event);
  }
}

/**
 * Feeds `response` (already checked to be a 200 `text/event-stream`) through
 * an EventSource and calls `select` on each event until it returns true; that
 * event is the outcome. The stream is closed as soon as the outcome is known.
 * Never reconnects: an end of stream or a read error is a failure.
 */
export function readEventStream(
  response: Response,
  select: (event: StreamEvent) => boolean,
  options: { maxBytes: number; deadline: AbortSignal },
): Promise<StreamOutcome> {
  const { maxBytes, deadline } = options;
  return new Promise<StreamOutcome>((resolve) => {
    let exceeded = false;
    let settled = false;
    const limited = response.body ? limitBody(response.body, maxBytes, () => (exceeded = true)) : undefined;
    const body = limited?.stream ?? null;
    let handedOver = false;
    const handOver = async (): Promise<FetchLikeResponse> => {
      if (handedOver) throw new Error('event stream ended');
      handedOver = true;
      return { body, url: response.url, status: 200, redirected: false, headers: response.headers };
    };

    const source = new ObservedEventSource(response.url || 'http://probe.invalid/', {
      fetch: handOver,
      // The parser's line buffer is bounded too, so a stream of bytes with no
      // newline fails at the same limit as the body.
      maxBufferSize: maxBytes,
    });

    const finish = (outcome: StreamOutcome): void => {
      if (settled) return;
      settled = true;
      deadline.removeEventListener('abort', onDeadline);
      source.observe = undefined;
      source.close();
      // Closes the connection: a legacy SSE stream stays open until the client leaves.
      void limited?.release();
      resolve(outcome);
    };
    const onDeadline = (): void => finish({ kind: 'failed', reason: describeAbort(deadline) });
    if (deadline.aborted) {
      onDeadline();
      return;
    }
    deadline.addEventListener('abort', onDeadline, { once: true });

    source.observe = (event) => {
      if (event.type === 'open') return;
      if (event.type === 'error') {
        const message = (event as Event & { message?: string }).message;
        // The message is not repeated: it may quote the stream.
        const reason = exceeded
          ? `event stream exceeded ${maxBytes} bytes before the expected event`
          : message && !message.includes('event stream ended')
            ? 'event stream failed'
            : 'event stream ended before the expected event';
        finish({ kind: 'failed', reason });
        return;
      }
      const data = String((event as MessageEvent).data);
      const streamEvent: StreamEvent = { type: event.type, data };
      if (select(streamEvent)) finish({ kind: 'event', event: streamEvent });
    };
  });
}

/** Words for an aborted deadline signal. */
export function describeAbort(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') return 'timed out';
  if (reason instanceof Error) return reason.message;
  return 'aborted';
}
