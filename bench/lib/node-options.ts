/**
 * The V8 heap settings the image runs `serve` with: the Dockerfile's
 * `ENV NODE_OPTIONS`, read from the Dockerfile so a benchmark measures what
 * ships and the two cannot drift apart.
 */
import { readFileSync } from 'node:fs';

const DOCKERFILE = new URL('../../Dockerfile', import.meta.url);

/** The Dockerfile's NODE_OPTIONS, or '' (Node's defaults) when it sets none. */
export const IMAGE_NODE_OPTIONS = /^ENV NODE_OPTIONS="([^"]*)"$/m.exec(readFileSync(DOCKERFILE, 'utf8'))?.[1] ?? '';
