/**
 * A bound on the request bytes held at once across all connections.
 *
 * The body limit (7 MiB) bounds one review; nothing bounded them together:
 * 16 concurrent 7 MiB reviews held 535 MB, past the pod's 384 Mi limit, and
 * made small reviews wait 3-4 s behind them, near the API server's 5 s
 * timeout, after which it fails closed.
 *
 * Backpressure rather than refusal: a big body waits, unread, until the
 * bytes in flight leave room for it. While it waits nothing reads its socket,
 * so the kernel's buffers fill and TCP flow control stops the sender; the
 * API server's burst of big reviews is answered a little later instead of
 * refused, and a hostile sender only slows itself down. Refusing with 429 or
 * 503 would fail those reviews at once, closed. The wait is bounded by the
 * server's request timeout (the request is not complete while it waits).
 *
 * Small bodies never wait: a review of a few KB is what the API server
 * sends for nearly every object, they cannot add up to much (at most
 * maxConnections of them at once), and keeping them out of the queue keeps
 * them fast while big ones queue.
 */
import type { RequestHandler } from 'express';

/** A share of a {@link ByteBudget}: `granted` settles when it may be used; `release` returns it, or leaves the queue. */
export interface Share {
  granted: Promise<void>;
  release(): void;
}

/** Counts bytes in flight; a request for more than is free waits its turn, first come first served. */
export class ByteBudget {
  readonly capacity: number;
  private used = 0;
  private readonly waiting: Array<{ bytes: number; grant: () => void }> = [];

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  /** Bytes granted and not yet released. */
  get inUse(): number {
    return this.used;
  }

  /** Requests waiting for room. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Asks for `bytes` (at most the capacity: more could never be granted). */
  acquire(bytes: number): Share {
    const amount = Math.min(bytes, this.capacity);
    let state: 'waiting' | 'granted' | 'released' = 'waiting';
    let grant!: () => void;
    const granted = new Promise<void>((resolve) => {
      grant = () => {
        state = 'granted';
        this.used += amount;
        resolve();
      };
    });
    const entry = { bytes: amount, grant };
    // First come first served: a small request does not overtake a queued big one, which would starve it.
    if (this.waiting.length === 0 && this.used + amount <= this.capacity) grant();
    else this.waiting.push(entry);
    return {
      granted,
      release: () => {
        if (state === 'granted') {
          this.used -= amount;
          this.grantWaiting();
        } else if (state === 'waiting') {
          const index = this.waiting.indexOf(entry);
          if (index >= 0) this.waiting.splice(index, 1);
          this.grantWaiting();
        }
        state = 'released';
      },
    };
  }

  private grantWaiting(): void {
    while (this.waiting.length > 0 && this.used + this.waiting[0]!.bytes <= this.capacity) this.waiting.shift()!.grant();
  }
}

export interface BodyBudgetOptions {
  /** Bodies up to this size (declared by Content-Length, not encoded) skip the budget. */
  smallBytes: number;
  /** The body limit: a declared length above it is refused by the body reader without reading, so it takes no share. */
  maxBodyBytes: number;
}

/**
 * Express middleware that holds a request before its body is read until the
 * budget has room for it, and returns the share when the response is done
 * (or the connection closes). The share lasts the whole exchange, not just
 * the read: parsing and judging a review takes several times its size.
 */
export function waitForBodyBudget(budget: ByteBudget, options: BodyBudgetOptions): RequestHandler {
  return (req, res, next) => {
    const declared = req.headers['content-length'] === undefined ? NaN : Number(req.headers['content-length']);
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    // A compressed body can inflate up to the limit, and a chunked one can be any size: both cost the limit.
    const bytes = Number.isSafeInteger(declared) && encoding === 'identity' ? declared : options.maxBodyBytes;
    if (bytes <= options.smallBytes || bytes > options.maxBodyBytes) return next();
    const share = budget.acquire(bytes);
    res.once('close', share.release);
    share.granted.then(() => {
      if (!res.destroyed && !res.writableEnded) next();
    }, next);
  };
}
