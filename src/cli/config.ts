/**
 * How every subcommand is configured: flags, each with its environment twins
 * (`--metrics-port` / `MCP_ADMISSION_METRICS_PORT`), checked by one zod
 * shape per command. A flag wins over its twins; the first twin set wins
 * over the next. The usage text is written from the same table, so a flag
 * and its twin are never documented apart.
 */
import { parseArgs } from 'node:util';
import type { z } from 'zod';

/** One flag of a command. */
export interface Flag {
  /** One line for the usage text. */
  help: string;
  /** Environment variables read when the flag is absent, in order. */
  env?: readonly string[];
  /** `boolean` flags take no value (their twins take "true" or "false"). Default `string`. */
  type?: 'string' | 'boolean';
  /** May be given more than once; parsed as a list. */
  multiple?: boolean;
  /** One-letter alias (`-f`). */
  short?: string;
}

/** A command's flags by name (`metrics-port`); the config key is the camelCase name (`metricsPort`). */
export type Flags = Readonly<Record<string, Flag>>;

/** Bad flags or environment: the message names each flag and what is wrong with it. */
export class ConfigError extends Error {}

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Parses `args` and `env` against `flags`, then checks the result with `shape`. */
export function parseConfig<S extends z.ZodType>(flags: Flags, shape: S, args: readonly string[], env: NodeJS.ProcessEnv): z.infer<S> {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    values = parseArgs({
      args: [...args],
      options: Object.fromEntries(
        Object.entries(flags).map(([name, flag]) => [name, { type: flag.type ?? 'string', ...(flag.multiple && { multiple: true }), ...(flag.short && { short: flag.short }) }]),
      ),
      strict: true,
      allowPositionals: false,
    }).values as typeof values;
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const raw: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(flags)) {
    const given = values[name];
    // Booleans go to the shape as the words their twins use, so one schema reads both.
    const value = typeof given === 'boolean' ? String(given) : given;
    raw[camel(name)] = value ?? flag.env?.map((variable) => env[variable]).find((v) => v !== undefined && v !== '');
  }
  const parsed = shape.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => (i.path.length > 0 ? `--${kebab(String(i.path[0]))}: ${i.message}` : i.message)).join('\n'),
    );
  }
  return parsed.data;
}

/** What a command needs to read its command line: its name, its usage text, its flags and their shape. */
export interface CommandLine<S extends z.ZodType> {
  name: string;
  usage: string;
  flags: Flags;
  shape: S;
}

/**
 * Reads a command's command line the one way every command does: `--help`
 * prints the usage and the command exits 0; a mistake prints the message
 * and the usage on stderr and the command exits 2. Returns the config, or
 * the exit code to return.
 */
export function readCommandLine<S extends z.ZodType>(command: CommandLine<S>, args: readonly string[], env: NodeJS.ProcessEnv): z.infer<S> | number {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(command.usage);
    return 0;
  }
  try {
    return parseConfig(command.flags, command.shape, args, env);
  } catch (err) {
    process.stderr.write(`mcp-admission ${command.name}: ${(err as Error).message}\n\n${command.usage}`);
    return 2;
  }
}

/** The flag lines of a usage text: each flag, what it does, its twins. */
export function flagUsage(flags: Flags): string {
  return Object.entries(flags)
    .map(([name, flag]) => {
      const twins = flag.env?.length ? ` (env ${flag.env.join(', ')})` : '';
      const names = flag.short ? `-${flag.short}, --${name}` : `    --${name}`;
      return `  ${names.padEnd(30)} ${flag.help}${twins}`;
    })
    .join('\n');
}
