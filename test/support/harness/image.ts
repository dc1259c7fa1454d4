/**
 * What the image gives a container, read from the Dockerfile's final stage
 * (ENTRYPOINT, CMD, ENV, WORKDIR), and how the stand-in pods run it without
 * building it: `node dist/cli/main.js` in the image is `tsc`'s output of
 * src/cli/main.ts, which Node 24 runs as it is from this checkout.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './controlplane.ts';

/** The parts of an image's config a pod's container inherits. */
export interface ImageConfig {
  entrypoint: string[];
  cmd: string[];
  env: Record<string, string>;
  workdir: string;
}

/** A Dockerfile instruction's exec-form argument list (`["node", "x.js"]`). */
function execForm(instruction: string, value: string): string[] {
  const parsed: unknown = JSON.parse(value);
  if (!Array.isArray(parsed) || !parsed.every((v) => typeof v === 'string')) {
    throw new Error(`Dockerfile: ${instruction} must be in exec form (a JSON array of strings), got ${value}`);
  }
  return parsed;
}

/**
 * `ENV key=value ...` as Docker reads it: a double-quoted value keeps its
 * spaces and loses its quotes (backslash escapes inside), a single-quoted one
 * is taken as it is (`ENV NODE_OPTIONS="--a=1 --b=2"` is `--a=1 --b=2`).
 */
function envPairs(rest: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [, key = '', value = ''] of rest.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g)) {
    if (value.startsWith('"')) env[key] = value.slice(1, -1).replace(/\\(.)/g, '$1');
    else if (value.startsWith("'")) env[key] = value.slice(1, -1);
    else env[key] = value;
  }
  return env;
}

/** Reads the final stage of `dockerfile` (default: the repository's). */
export function readImageConfig(dockerfile = join(REPO_ROOT, 'Dockerfile')): ImageConfig {
  const lines = readFileSync(dockerfile, 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  let config: ImageConfig = { entrypoint: [], cmd: [], env: {}, workdir: '/' };
  for (const line of lines) {
    const [, instruction = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    switch (instruction.toUpperCase()) {
      case 'FROM':
        // A new stage starts from its base image; only the last one ships.
        config = { entrypoint: [], cmd: [], env: {}, workdir: '/' };
        break;
      case 'ENTRYPOINT':
        config.entrypoint = execForm('ENTRYPOINT', rest);
        config.cmd = []; // Docker resets CMD when ENTRYPOINT is set.
        break;
      case 'CMD':
        config.cmd = execForm('CMD', rest);
        break;
      case 'WORKDIR':
        config.workdir = rest;
        break;
      case 'ENV':
        Object.assign(config.env, envPairs(rest));
        break;
    }
  }
  return config;
}

/**
 * The container's command line (Kubernetes rules: `command` replaces the
 * image's ENTRYPOINT and drops its CMD, `args` replaces CMD), as the stand-in
 * runs it: `node dist/cli/main.js` becomes this checkout's Node and
 * src/cli/main.ts. Anything else is refused, since the image has nothing else.
 */
export function containerArgv(image: ImageConfig, container: { command?: string[]; args?: string[] }): {
  argv: string[];
  local: { command: string; args: string[] };
} {
  const entrypoint = container.command ?? image.entrypoint;
  const args = container.args ?? (container.command ? [] : image.cmd);
  const argv = [...entrypoint, ...args];
  const [program, script, ...rest] = argv;
  if (program !== 'node' || script !== 'dist/cli/main.js') {
    throw new Error(`the stand-in pod runs only "node dist/cli/main.js ...", the image's program; the manifest says ${JSON.stringify(argv)}`);
  }
  return {
    argv,
    local: { command: join(REPO_ROOT, 'node_modules/.bin/node'), args: [join(REPO_ROOT, 'src/cli/main.ts'), ...rest] },
  };
}
