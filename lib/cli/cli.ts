// The small shared part of every entry point: strict flag parsing, --help,
// and mapping errors to `tool: message (hint)` plus exit codes 0/1/2.
import { trace } from '../core/exec.js';
import minimist from 'minimist';
import { EXIT, UsageError, exitCodeOf, formatError } from '../core/errors.js';

export interface FlagSpec {
  string?: string[];
  boolean?: string[];
  alias?: Record<string, string>;
  /** Flags that may be given several times (collected into arrays). */
  repeat?: string[];
  /** Default values; a boolean defaulting to true is turned off with --no-NAME. */
  defaults?: Record<string, unknown>;
  /** Stop at the first positional argument: everything after it is positional (agent-send's message). */
  stopEarly?: boolean;
}

export type Flags = minimist.ParsedArgs;

/** One option of a command, declared once: parsing and help both come from it. */
export interface OptionDef {
  name: string;
  /** A one-letter alias (`-f` for `--follow`). */
  alias?: string;
  /** The value's placeholder in the help (`FILE`, `N`); without one the option is a switch. */
  value?: string;
  help: string;
}

/** A command's help and options. */
export interface CommandDef {
  /** What follows `Usage: TOOL COMMAND`, options left out (they are listed). */
  usage: string;
  about: string;
  options?: OptionDef[];
  examples?: string[];
}

/** The parser spec of a command's options. */
export function flagSpec(options: readonly OptionDef[] = []): FlagSpec {
  return {
    string: options.filter((o) => o.value !== undefined).map((o) => o.name),
    boolean: options.filter((o) => o.value === undefined).map((o) => o.name),
    alias: Object.fromEntries(options.filter((o) => o.alias).map((o) => [o.alias!, o.name])),
  };
}

/** A command's help text: usage, what it does, its options (as parsed), examples. */
export function commandHelp(tool: string, command: string, def: CommandDef): string {
  const opts = def.options ?? [];
  const left = opts.map((o) => `${o.alias ? `-${o.alias}, ` : ''}--${o.name}${o.value ? ` ${o.value}` : ''}`);
  const width = Math.max(0, ...left.map((l) => l.length));
  return [
    `Usage: ${tool} ${command}${def.usage ? ` ${def.usage}` : ''}${opts.length ? ' [options]' : ''}`,
    '',
    def.about,
    ...(opts.length ? ['', 'Options:', ...opts.map((o, i) => `  ${left[i]!.padEnd(width)}  ${o.help}`)] : []),
    ...(def.examples?.length ? ['', 'Examples:', ...def.examples.map((e) => `  ${e}`)] : []),
  ].join('\n');
}



/** Parse argv; an unknown flag or a missing flag value is a usage error. */
export function parseFlags(argv: string[], spec: FlagSpec): Flags {
  const known = new Set([...(spec.string ?? []), ...(spec.boolean ?? []), 'help', 'verbose']);
  for (const [a, b] of Object.entries(spec.alias ?? {})) known.add(a).add(b);
  const unknown: string[] = [];
  const flags = minimist(argv, {
    // '_' keeps positionals as strings: minimist would turn "007" into 7.
    string: [...(spec.string ?? []), '_'],
    boolean: [...(spec.boolean ?? []), 'help', 'verbose'],
    alias: { h: 'help', ...(spec.alias ?? {}) },
    default: spec.defaults ?? {},
    stopEarly: spec.stopEarly ?? false,
    '--': true,
    unknown: (arg) => {
      if (arg.startsWith('-') && arg !== '-') {
        unknown.push(arg);
        return false;
      }
      return true;
    },
  });
  if (unknown.length > 0) {
    throw new UsageError(`unknown option ${unknown[0]}`, 'see --help for the options');
  }
  for (const name of spec.string ?? []) {
    const v = flags[name];
    if (Array.isArray(v) && !(spec.repeat ?? []).includes(name)) {
      throw new UsageError(`--${name} was given more than once`);
    }
    if (v === '' && argv.some((a) => a === `--${name}`) && argv[argv.length - 1] === `--${name}`) {
      throw new UsageError(`--${name} needs a value`);
    }
  }
  flags._ = [...flags._.map(String), ...((flags['--'] as string[] | undefined) ?? [])];
  return flags;
}

/** A flag that must be a positive number of milliseconds/seconds; `fallback` when absent. */
export function numberFlag(flags: Flags, name: string, fallback: number): number {
  const raw = flags[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw === '' || !Number.isFinite(n) || n <= 0) {
    throw new UsageError(`--${name} ${JSON.stringify(String(raw))} is not a positive number`);
  }
  return n;
}

/** A flag that must be a whole number, 0 or more (a count of lines). */
export function countFlag(flags: Flags, name: string): number {
  const raw = flags[name];
  const n = Number(raw);
  if (raw === '' || !Number.isInteger(n) || n < 0) {
    throw new UsageError(`--${name} ${JSON.stringify(String(raw))} is not a whole number (0 or more)`);
  }
  return n;
}

/**
 * Set (to 1) by a host that runs a command here for its own user over ssh
 * (lib/cli/across-hosts.ts): our stdin is a pipe that ends exactly when that
 * connection does, so the command ends then too, rather than go on waiting
 * or following for nobody.
 */
export const END_WITH_STDIN = 'MOSAIC_END_WITH_STDIN';

function endWithStdin(): void {
  const stdin = process.stdin as NodeJS.ReadStream & { unref?: () => void };
  stdin.on('end', () => process.exit(EXIT.failure));
  stdin.on('error', () => process.exit(EXIT.failure));
  stdin.resume();
  // Watching must not keep the process alive once its command is done.
  stdin.unref?.();
}

/**
 * Run an entry point: its return value is the exit code; errors print one
 * line on stderr (a stack trace too with --verbose) and set 1 or 2.
 */
export async function runMain(tool: string, env: NodeJS.ProcessEnv, main: (argv: string[]) => Promise<number | void>): Promise<void> {
  const argv = process.argv.slice(2);
  exitWhenOutputCloses();
  if (env[END_WITH_STDIN] === '1') endWithStdin();
  // MOSAIC_DEBUG=1: every program the tool runs, with its time and exit, on stderr.
  if (env.MOSAIC_DEBUG && env.MOSAIC_DEBUG !== '0') trace.write = (line) => process.stderr.write(`${tool}: ${line}\n`);
  try {
    process.exitCode = (await main(argv)) ?? EXIT.ok;
  } catch (err) {
    process.stderr.write(formatError(tool, err) + '\n');
    if (argv.includes('--verbose') && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = exitCodeOf(err);
  }
}

/**
 * End quietly (exit 0) once whoever reads the output has gone, as Unix tools
 * do: `mosaic-agent logs x | head -1` closes the pipe after one line, and
 * Node would otherwise die of the EPIPE with a stack trace (issue #13).
 * Exiting at once also ends a command that would go on writing (logs -f).
 */
function exitWhenOutputCloses(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      process.exit(EXIT.ok);
    });
  }
}
