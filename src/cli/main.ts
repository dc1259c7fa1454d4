#!/usr/bin/env node
/**
 * `mcp-admission` command line: dispatches to one module per command. Each
 * command module exports `run(args)` and resolves to the process exit code.
 */
import { VERSION } from '../version.ts';

const USAGE = `usage: mcp-admission <command> [flags]
       mcp-admission --version

commands:
  serve    run the admission webhook over HTTPS
  review   decide offline on manifests: review -f FILE [--policy FILE] [-o yaml|json]
  probe    detect an MCP server's transport: probe --url URL | --once | --watch
  explain  the settings in force in a namespace and where each comes from: explain -n NS
  audit    what the webhook would do now to every labelled object: audit [-n NS | -A]

Run mcp-admission <command> --help for a command's flags, defaults and exit codes.
`;

type Command = { run(args: string[]): Promise<number> };

const commands: Record<string, () => Promise<Command>> = {
  serve: () => import('./serve.ts'),
  review: () => import('./review.ts'),
  probe: () => import('./probe.ts'),
  explain: () => import('./explain.ts'),
  audit: () => import('./audit.ts'),
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === 'version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`mcp-admission: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  return (await load()).run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`mcp-admission: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
