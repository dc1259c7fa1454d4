/**
 * Runs the load generator (`load.ts`) as a process of its own, so it never
 * shares an event loop with the server under test, and resolves to its
 * result. The child is added to `children`, which the caller kills on exit.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { LoadOptions, LoadResult } from './load.ts';

export function forkLoad(options: LoadOptions, children: ChildProcess[]): Promise<LoadResult> {
  const child = fork(new URL('load.ts', import.meta.url).pathname, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('message', (result: LoadResult) => resolve(result));
    child.once('exit', (code) => reject(new Error(`load generator exited (${code}) without a result`)));
    child.send(options);
  });
}
