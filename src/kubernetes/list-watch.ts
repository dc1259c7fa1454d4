/**
 * An informer: a cache of one kind of object kept current by a list and
 * then a watch, as client-go's reflector (tools/cache/reflector.go) does:
 * - the list is paginated (`limit`/`continue`, client-go's pager, 500 a page);
 * - the watch starts at the list's resourceVersion with
 *   `allowWatchBookmarks`, so a quiet watch still learns newer versions, and
 *   a `timeoutSeconds` drawn between 5 and 10 minutes (the reflector's
 *   minWatchTimeout × (1 + rand)), so informers do not all reconnect at once;
 * - a watch that ends normally is opened again from the last version seen;
 *   a `410 Gone` (the version is too old, "Expired") relists;
 * - any other failure is reported as `error` and the informer starts again
 *   (list, then watch) after `restartDelayMs`, keeping the last known
 *   objects meanwhile: a relist replaces them, reporting what was added,
 *   changed and deleted while away (client-go's Replace);
 * - the wait doubles after each failure in a row, up to
 *   {@link MAX_RESTART_DELAY_MS}, and is back to `restartDelayMs` once a
 *   watch is open again: the reflector's backoff (800 ms doubling to 30 s,
 *   `NewExponentialBackoffManager` in reflector.go). Without it a kind that
 *   is not served (no Gateway API CRDs: `absentIsEmpty`) was listed and
 *   watched again every second for as long as the process ran.
 *
 * Events: `add`, `update`, `delete` (with the object), `list` (a list has
 * filled the cache), `connect` (a watch is open), `error`.
 */
import { statusCode } from './api-error.ts';
import type { KubeClient, Query, WatchEvent } from './kube-client.ts';
import type { Members } from './picked-members.ts';

/** The part of an object the cache reads. */
export interface CachedObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

/** A list response, the fields the informer reads. */
interface ObjectList<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

/** client-go's pager page size (tools/pager: defaultPageSize). */
export const PAGE_SIZE = 500;

/** client-go reflector's minWatchTimeout: a watch lasts between this and twice this. */
export const MIN_WATCH_TIMEOUT_SECONDS = 300;

/** The longest wait before starting again after failures in a row (the reflector's backoff cap). */
export const MAX_RESTART_DELAY_MS = 30_000;

/** Options for {@link ListWatchInformer}. */
export interface ListWatchOptions<T extends CachedObject = CachedObject> {
  client: KubeClient;
  /** The collection, e.g. `/api/v1/namespaces` or `/apis/apps/v1/deployments`. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /**
   * A 404 on the list reads as an empty list: the kind is not served (a CRD
   * not installed). The watch then fails and the informer retries until it is.
   */
  absentIsEmpty?: boolean;
  /** Wait before starting again after a failure; it doubles with each failure in a row. Default 1 s. */
  restartDelayMs?: number;
  pageSize?: number;
  random?: () => number;
  /**
   * What is kept of each object, applied to every listed and watched one
   * before it is stored or handed on (client-go's SetTransform; the object
   * is freshly parsed, so it may be changed in place). It must keep
   * `metadata.name`, `namespace` and `resourceVersion`.
   */
  transform?: (object: T) => T;
  /**
   * The transform drops `metadata.managedFields`: the watch leaves them out
   * of each event's text before parsing it (KubeClient.watch), which spares
   * parsing the largest part of a stored object.
   */
  withoutManagedFields?: boolean;
  /**
   * The members of a watch event the informer and the transform read (the
   * event's `type`, and of its `object` at least `metadata.name`,
   * `namespace` and `resourceVersion`, and a Status's `code` and `message`
   * for an ERROR event): each event is parsed for those only
   * (picked-members.ts). Lists are parsed whole.
   */
  members?: Members;
}

type Handlers<T> = {
  add: Array<(object: T) => void>;
  /** The object as it is now, and as it was cached before. */
  update: Array<(object: T, previous?: T) => void>;
  delete: Array<(object: T) => void>;
  list: Array<() => void>;
  connect: Array<() => void>;
  error: Array<(err: unknown) => void>;
};

const GONE = 410;

/** See the module comment. */
export class ListWatchInformer<T extends CachedObject = CachedObject> {
  private readonly options: ListWatchOptions<T>;
  private readonly transform: (object: T) => T;
  /** Objects by namespace ('' for cluster-scoped), then name. */
  private readonly cache = new Map<string, Map<string, T>>();
  private readonly handlers: Handlers<T> = { add: [], update: [], delete: [], list: [], connect: [], error: [] };
  private resourceVersion = '';
  private stopped = true;
  private abort: AbortController | undefined;
  private restart: NodeJS.Timeout | undefined;
  /** Incremented on every start and stop: a run that sees another generation ends. */
  private generation = 0;
  /** Failures since a watch was last open: the next wait is the delay doubled this many times. */
  private failures = 0;

  constructor(options: ListWatchOptions<T>) {
    this.options = options;
    this.transform = options.transform ?? ((object) => object);
  }

  /** `update` handlers get the object as it was cached before, too. */
  on(event: 'add' | 'update' | 'delete', handler: (object: T, previous?: T) => void): void;
  on(event: 'list' | 'connect', handler: () => void): void;
  on(event: 'error', handler: (err: unknown) => void): void;
  on(event: keyof Handlers<T>, handler: (...args: never[]) => void): void {
    (this.handlers[event] as Array<(...args: never[]) => void>).push(handler);
  }

  /**
   * Lists, then watches in the background. Resolves after the first list,
   * whether it succeeded or not: a failed one is reported as `error` and
   * retried after the restart delay.
   */
  async start(): Promise<void> {
    this.stopped = false;
    clearTimeout(this.restart);
    this.abort?.abort();
    const generation = ++this.generation;
    const abort = new AbortController();
    this.abort = abort;
    try {
      await this.relist();
    } catch (err) {
      this.fail(generation, err);
      return;
    }
    if (generation !== this.generation) return;
    void this.watchLoop(generation, abort.signal);
  }

  /** Stops watching and retrying; the cache stays as it is. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.generation += 1;
    clearTimeout(this.restart);
    this.abort?.abort();
  }

  /** The cached object `name` (in `namespace`, for a namespaced kind). */
  get(name: string, namespace = ''): T | undefined {
    return this.cache.get(namespace)?.get(name);
  }

  /** Every cached object, or those of one namespace. */
  list(namespace?: string): T[] {
    if (namespace !== undefined) return [...(this.cache.get(namespace)?.values() ?? [])];
    return [...this.cache.values()].flatMap((objects) => [...objects.values()]);
  }

  private query(): Query {
    return { labelSelector: this.options.labelSelector, fieldSelector: this.options.fieldSelector };
  }

  /** Lists every page, then replaces the cache with the result (client-go's syncWith/Replace). */
  private async relist(): Promise<void> {
    const items: T[] = [];
    let resourceVersion = '';
    let next: string | undefined;
    try {
      do {
        const page = await this.options.client.get<ObjectList<T>>(this.options.path, {
          ...this.query(),
          limit: this.options.pageSize ?? PAGE_SIZE,
          continue: next,
        });
        for (const item of page.items ?? []) items.push(this.transform(item));
        resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
        next = page.metadata?.continue || undefined;
      } while (next);
    } catch (err) {
      if (!(this.options.absentIsEmpty && statusCode(err) === 404)) throw err;
      items.length = 0;
      resourceVersion = '';
    }
    this.replace(items);
    this.resourceVersion = resourceVersion;
    for (const handler of this.handlers.list) handler();
  }

  private replace(items: T[]): void {
    const seen = new Map<string, Set<string>>();
    for (const object of items) {
      const { namespace = '', name = '' } = object.metadata ?? {};
      let names = seen.get(namespace);
      if (!names) seen.set(namespace, (names = new Set()));
      names.add(name);
      this.upsert(object);
    }
    for (const [namespace, objects] of this.cache) {
      for (const [name, object] of objects) {
        if (seen.get(namespace)?.has(name)) continue;
        objects.delete(name);
        for (const handler of this.handlers.delete) handler(object);
      }
      if (objects.size === 0) this.cache.delete(namespace);
    }
  }

  /** Stores `object`; `add` when new, `update` when its resourceVersion moved. */
  private upsert(object: T): void {
    const { namespace = '', name = '' } = object.metadata ?? {};
    let objects = this.cache.get(namespace);
    if (!objects) this.cache.set(namespace, (objects = new Map()));
    const existing = objects.get(name);
    if (existing && existing.metadata?.resourceVersion === object.metadata?.resourceVersion) return;
    objects.set(name, object);
    if (existing) for (const handler of this.handlers.update) handler(object, existing);
    else for (const handler of this.handlers.add) handler(object);
  }

  private remove(object: T): void {
    const { namespace = '', name = '' } = object.metadata ?? {};
    const objects = this.cache.get(namespace);
    const existing = objects?.get(name);
    if (!objects || !existing) return;
    objects.delete(name);
    if (objects.size === 0) this.cache.delete(namespace);
    for (const handler of this.handlers.delete) handler(object);
  }

  /** Watches from the last version seen until stopped; relists on 410, fails on anything else. */
  private async watchLoop(generation: number, signal: AbortSignal): Promise<void> {
    const random = this.options.random ?? Math.random;
    while (generation === this.generation) {
      let gone = false;
      try {
        await this.options.client.watch(
          this.options.path,
          {
            ...this.query(),
            resourceVersion: this.resourceVersion || undefined,
            allowWatchBookmarks: true,
            timeoutSeconds: Math.floor(MIN_WATCH_TIMEOUT_SECONDS * (1 + random())),
          },
          (event) => {
            if (generation !== this.generation || gone) return;
            gone = this.apply(event);
          },
          {
            signal,
            ...(this.options.withoutManagedFields ? { withoutManagedFields: true } : {}),
            ...(this.options.members ? { members: this.options.members } : {}),
            onConnect: () => {
              if (generation !== this.generation) return;
              this.failures = 0;
              for (const handler of this.handlers.connect) handler();
            },
          },
        );
        if (generation !== this.generation) return;
        if (gone) await this.relist();
      } catch (err) {
        if (generation !== this.generation) return;
        if (statusCode(err) === GONE) {
          try {
            await this.relist();
            continue;
          } catch (listErr) {
            this.fail(generation, listErr);
            return;
          }
        }
        this.fail(generation, err);
        return;
      }
    }
  }

  /** Applies one watch event; true when the API server said the version is gone (relist). */
  private apply(event: WatchEvent): boolean {
    const object = event.object as T & { code?: number };
    if (event.type === 'ERROR') {
      // A Status: 410 Gone/Expired means relist (reflector: isExpiredError).
      if (object.code === GONE) return true;
      throw Object.assign(new Error(`watch ${this.options.path}: ${(object as { message?: string }).message ?? 'error event'}`), { code: object.code });
    }
    const version = object.metadata?.resourceVersion;
    if (version) this.resourceVersion = version;
    if (event.type === 'ADDED' || event.type === 'MODIFIED') this.upsert(this.transform(object));
    else if (event.type === 'DELETED') this.remove(this.transform(object));
    return false;
  }

  /** Reports `err` and starts again after the delay, unless stopped or restarted meanwhile. */
  private fail(generation: number, err: unknown): void {
    if (this.stopped || generation !== this.generation) return;
    for (const handler of this.handlers.error) handler(err);
    if (this.stopped || generation !== this.generation) return;
    clearTimeout(this.restart);
    const delay = this.options.restartDelayMs ?? 1000;
    const wait = Math.min(delay * 2 ** this.failures, Math.max(delay, MAX_RESTART_DELAY_MS));
    this.failures += 1;
    this.restart = setTimeout(() => {
      if (!this.stopped && generation === this.generation) void this.start();
    }, wait);
    this.restart.unref();
  }
}
