/**
 * The V8 heap settings the image runs `serve` with: the Dockerfile's
 * `ENV NODE_OPTIONS`, and its glibc malloc settings (`ENV MALLOC_*`), read
 * from the Dockerfile so a benchmark measures what ships and the two cannot
 * drift apart.
 */
import { readFileSync } from 'node:fs';

const DOCKERFILE = new URL('../../Dockerfile', import.meta.url);

/** The Dockerfile's NODE_OPTIONS, or '' (Node's defaults) when it sets none. */
export const IMAGE_NODE_OPTIONS = /^ENV NODE_OPTIONS="([^"]*)"$/m.exec(readFileSync(DOCKERFILE, 'utf8'))?.[1] ?? '';

/** The Dockerfile's glibc malloc settings (`ENV MALLOC_ARENA_MAX=2`), as environment variables. */
export const IMAGE_MALLOC_ENV: Record<string, string> = Object.fromEntries(
  [...readFileSync(DOCKERFILE, 'utf8').matchAll(/^ENV (MALLOC_[A-Z_]+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]),
);

/**
 * The image's settings as one bench:memory variant: the malloc variables as
 * leading `NAME=value` words, then NODE_OPTIONS.
 */
export const IMAGE_VARIANT = [...Object.entries(IMAGE_MALLOC_ENV).map(([name, value]) => `${name}=${value}`), IMAGE_NODE_OPTIONS].join(' ').trim();
