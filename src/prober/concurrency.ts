/** Running work over many items with at most `limit` in flight. */

/**
 * Calls `work` on every item, at most `limit` at a time, and resolves to the
 * results in input order. `work` should not throw; if it does, the first
 * error rejects after the others have finished.
 */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      try {
        results[index] = await work(items[index]!, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker);
  await Promise.all(workers);
  if (failure) throw failure.error;
  return results;
}

/**
 * Like {@link mapConcurrent}, but starts no item once `expired()` is true:
 * items in flight finish, the rest are left out. Resolves to the results of
 * the items that ran and the indices of those that did not.
 */
export async function mapConcurrentUntil<T, R>(
  items: readonly T[],
  limit: number,
  expired: () => boolean,
  work: (item: T, index: number) => Promise<R>,
): Promise<{ results: Array<{ index: number; result: R }>; skipped: number[] }> {
  const results: Array<{ index: number; result: R }> = [];
  const skipped: number[] = [];
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      if (expired()) {
        skipped.push(index);
        continue;
      }
      try {
        results.push({ index, result: await work(items[index]!, index) });
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.error;
  results.sort((a, b) => a.index - b.index);
  skipped.sort((a, b) => a - b);
  return { results, skipped };
}
