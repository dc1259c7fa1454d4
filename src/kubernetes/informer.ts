/**
 * Keeping a client-node informer alive. An informer stops on a watch error
 * and never starts again by itself (client-node `ListWatch`: on error it
 * calls `stop()` and the error callbacks, and leaves restarting to the
 * caller), so every informer we run is restarted the same way: after a
 * delay, unless its owner has stopped meanwhile.
 */

/** The part of an informer that restarting needs. */
export interface RestartableInformer {
  on(verb: 'error', callback: (err?: unknown) => void): void;
  start(): Promise<void>;
}

export interface RestartOptions {
  /** Wait before restarting. */
  delayMs: number;
  /** True once the owner has stopped: no more reports, no more restarts. */
  stopped: () => boolean;
  /** Called on each watch error, before the restart is scheduled. */
  onError?: (err: unknown) => void;
  /** Called when a restart itself fails; the next watch error schedules another. */
  onRestartFailed?: (err: unknown) => void;
}

/** Restarts `informer` `delayMs` after every watch error until its owner stops. */
export function restartOnWatchError(informer: RestartableInformer, options: RestartOptions): void {
  informer.on('error', (err) => {
    if (options.stopped()) return;
    options.onError?.(err);
    setTimeout(() => {
      if (!options.stopped()) informer.start().catch((e: unknown) => options.onRestartFailed?.(e));
    }, options.delayMs).unref();
  });
}
