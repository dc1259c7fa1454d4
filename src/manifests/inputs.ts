/**
 * Where manifests come from, as kubectl takes them: files, `-` for stdin,
 * and directories (their .yaml, .yml and .json files; with `recursive`,
 * those of every subdirectory too), in a stable order.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface ManifestInput {
  /** The file it came from, or `-`. */
  source: string;
  text: string;
}

const MANIFEST_FILE = /\.(ya?ml|json)$/i;

export class ManifestInputError extends Error {}

/** Reads every input; `stdin` is read at most once. */
export async function readManifestInputs(paths: readonly string[], options: { recursive: boolean; stdin: () => Promise<string> }): Promise<ManifestInput[]> {
  const inputs: ManifestInput[] = [];
  for (const path of paths) {
    if (path === '-') {
      inputs.push({ source: '-', text: await options.stdin() });
      continue;
    }
    const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
      throw new ManifestInputError(`cannot read ${path}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.message}`);
    });
    if (info.isDirectory()) {
      for (const file of await filesIn(path, options.recursive)) inputs.push({ source: file, text: await readFile(file, 'utf8') });
    } else {
      inputs.push({ source: path, text: await readFile(path, 'utf8') });
    }
  }
  return inputs;
}

async function filesIn(dir: string, recursive: boolean): Promise<string[]> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (recursive) files.push(...(await filesIn(path, recursive)));
    } else if (MANIFEST_FILE.test(entry.name)) {
      files.push(path);
    }
  }
  return files;
}
