/**
 * Settings resolved per namespace, so a review costs a map lookup rather than
 * a pass over every policy. One cache for every settings source, bounded:
 * the namespace a review names is chosen by whoever sends it (the webhook
 * takes reviews from any pod that can reach it), so a cache keyed by it
 * alone grows by one entry per made-up name.
 *
 * Namespaces known to exist (the cluster source's namespace informer) are
 * kept until the policies change, or that namespace's labels do: as many
 * entries as the cluster has namespaces. Any other name, all names when nothing says which
 * exist (a policy file, the built-ins), goes through a small LRU: real
 * traffic repeats a few namespaces, a flood of new names only churns it.
 */
import type { TransportSettings } from '../policy/transport-settings.ts';

/**
 * Entries kept for namespaces not known to exist. Resolving one takes a few
 * microseconds per policy (label selectors over a handful of labels), so a
 * miss is cheap; the LRU saves that on repeats and costs some 100 KB when full.
 */
export const DEFAULT_MAX_UNKNOWN_NAMESPACES = 256;

export interface ResolvedSettingsOptions {
  /** Resolves a namespace's settings from the policies in force. */
  resolve: (namespace: string) => TransportSettings;
  /** Whether the namespace exists; absent when the source cannot know. */
  exists?: (namespace: string) => boolean;
  /** LRU size for the other namespaces; 0 resolves them every time. */
  maxUnknown?: number;
}

export class ResolvedSettings {
  private readonly known = new Map<string, TransportSettings>();
  /** Map order is insertion order: the first key is the least recently used. */
  private readonly unknown = new Map<string, TransportSettings>();
  /** The last key of `unknown` (its most recently used), when known. */
  private lastUnknown: string | undefined;
  private readonly options: ResolvedSettingsOptions;
  private readonly maxUnknown: number;

  constructor(options: ResolvedSettingsOptions) {
    this.options = options;
    this.maxUnknown = options.maxUnknown ?? DEFAULT_MAX_UNKNOWN_NAMESPACES;
  }

  /** The settings for `namespace`, resolved at most once while the policies stay the same. */
  get(namespace: string): TransportSettings {
    const kept = this.known.get(namespace);
    if (kept) return kept;
    if (this.options.exists?.(namespace)) {
      const settings = this.options.resolve(namespace);
      this.known.set(namespace, settings);
      return settings;
    }
    const recent = this.unknown.get(namespace);
    if (recent) {
      // Already the most recently used (a run of reviews in one namespace):
      // moving it to the end would leave it where it is, at the cost of a
      // delete and an insert per review.
      if (namespace !== this.lastUnknown) {
        this.unknown.delete(namespace);
        this.unknown.set(namespace, recent);
        this.lastUnknown = namespace;
      }
      return recent;
    }
    const settings = this.options.resolve(namespace);
    if (this.maxUnknown > 0) {
      if (this.unknown.size >= this.maxUnknown) this.unknown.delete(this.unknown.keys().next().value!);
      this.unknown.set(namespace, settings);
      this.lastUnknown = namespace;
    }
    return settings;
  }

  /** Forgets everything: the policies changed. */
  clear(): void {
    this.known.clear();
    this.unknown.clear();
    this.lastUnknown = undefined;
  }

  /**
   * Forgets one namespace: it was added, removed or relabelled. Its
   * settings depend on its name, its labels and the policies alone, so the
   * other namespaces' stay right.
   */
  forget(namespace: string): void {
    this.known.delete(namespace);
    this.unknown.delete(namespace);
    if (namespace === this.lastUnknown) this.lastUnknown = undefined;
  }

  /** Entries held, for tests and metrics. */
  get size(): number {
    return this.known.size + this.unknown.size;
  }
}
