// The one way the toolkit runs another program: an argv array, never a shell
// string. zx's `$` would do the same, but importing zx costs ~50 ms per call
// here and agent-send must start in about the time of bare Node (issue #4), so
// this is a small typed equivalent of `$({ nothrow: true, quiet: true, timeout })`.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ExecOptions {
  /** Written to the child's stdin, then stdin is closed. */
  input?: string | Buffer;
  /** Kill the child (SIGKILL) after this many milliseconds. */
  timeoutMs?: number;
  /** The child's whole environment, always given by the caller: nothing below bin/ reads the process's own (issue #14). */
  env: NodeJS.ProcessEnv;
  cwd?: string;
}

const TRACE = Symbol.for('mosaic-fleet.trace');

export interface ExecResult {
  /** The exit code; 128+N when killed by signal N; -1 when it could not be started. */
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** The signal that ended it, if one did. */
  signal?: NodeJS.Signals;
}

/**
 * Where each call goes when tracing (MOSAIC_DEBUG=1, set up by lib/cli/cli.ts's
 * runMain): argv, duration and exit code, one line each on stderr. One object
 * for the whole process, kept under a symbol every copy of this module
 * shares: a tool's lazily loaded file carries a copy of its own
 * (lib/build/bundle.cts), and the calls made from there (ssh to other hosts)
 * are traced too.
 */
export const trace: { write?: (line: string) => void } = ((globalThis as { [TRACE]?: { write?: (line: string) => void } })[TRACE] ??= {});

function traced(argv: readonly string[], started: number, r: ExecResult): ExecResult {
  trace.write?.(`+ ${argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ')}  (${Date.now() - started} ms, ${outcomeOf(r)})`);
  return r;
}

function outcomeOf(r: ExecResult): string {
  if (r.code === -1) return `could not start: ${r.stderr.trim()}`;
  if (r.timedOut) return 'timed out';
  if (r.signal) return `killed by ${r.signal}`;
  return `exit ${r.code}`;
}

/**
 * Why a command failed, for an error message, after execa's: whether it
 * could not start, timed out, was killed by a signal or exited N, the command
 * itself, and what it printed on stderr.
 */
export function describeFailure(argv: readonly string[], r: ExecResult, timeoutMs?: number): string {
  const cmd = argv.join(' ');
  const how = r.code === -1 ? `could not start` : r.timedOut ? `timed out after ${timeoutMs ?? '?'} ms` : r.signal ? `was killed by ${r.signal}` : `failed with exit code ${r.code}`;
  const said = r.code === -1 ? r.stderr.trim() : r.stderr.trim().split('\n').slice(-3).join('; ');
  return `${cmd} ${how}${said ? `: ${said}` : ''}`;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/** Run argv[0] with the rest as its arguments and collect its output; never throws. */
export function exec(argv: readonly string[], opts: ExecOptions): Promise<ExecResult> {
  return new Promise((resolve) => {
    const [file, ...args] = argv;
    if (!file) throw new Error('exec: empty argv');
    const child = spawn(file, args, {
      env: opts.env,
      cwd: opts.cwd,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const started = Date.now();
    let timedOut = false;
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, opts.timeoutMs);
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      resolve(traced(argv, started, { code: -1, stdout: '', stderr: e.message, timedOut }));
    });
    let done = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      resolve(traced(argv, started, {
        code: code ?? 128 + (signal ? (SIGNALS[signal] ?? 0) : 0),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
        ...(signal ? { signal } : {}),
      }));
    };
    child.on('close', finish);
    // A child killed at its timeout may have handed its pipes on (an ssh
    // client passes them to its ControlMaster, which keeps them until its own
    // connection gives up): once it has exited, stop waiting for them.
    child.on('exit', (code, signal) => {
      if (!timedOut) return;
      child.stdout!.destroy();
      child.stderr!.destroy();
      child.stdin?.destroy();
      finish(code, signal);
    });
    if (opts.input !== undefined) {
      // A child that exits before reading all of its input raises EPIPE here;
      // its exit code already tells the story.
      child.stdin!.on('error', () => {});
      child.stdin!.end(opts.input);
    }
  });
}

/**
 * exec, blocking the event loop until the child ends: no streams or events
 * are set up, which saves a few ms per call (bench/README.md). For a process
 * that has nothing else to do meanwhile, such as a send to one agent.
 */
export function execBlocking(argv: readonly string[], opts: ExecOptions): ExecResult {
  const [file, ...args] = argv;
  if (!file) throw new Error('exec: empty argv');
  const started = Date.now();
  const r = spawnSync(file, args, {
    env: opts.env,
    cwd: opts.cwd,
    input: opts.input,
    stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    timeout: opts.timeoutMs,
    killSignal: 'SIGKILL',
    maxBuffer: Infinity,
  });
  const error = (r.error as NodeJS.ErrnoException | undefined)?.code;
  const timedOut = error === 'ETIMEDOUT';
  // EPIPE: the child exited before reading all of its input (tmux with no
  // server to talk to, now and then); its exit code and stderr tell the story, as in exec.
  if (r.error && !timedOut && error !== 'EPIPE') return traced(argv, started, { code: -1, stdout: '', stderr: r.error.message, timedOut });
  return traced(argv, started, {
    code: r.status ?? 128 + (r.signal ? (SIGNALS[r.signal] ?? 0) : 0),
    stdout: r.stdout?.toString('utf8') ?? '',
    stderr: r.stderr?.toString('utf8') ?? '',
    timedOut,
    ...(r.signal ? { signal: r.signal } : {}),
  });
}

/** Whether a process exists (signal 0 probes without touching it; EPERM means it exists). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether a process exists and has not ended: a zombie (ended, not yet reaped
 * by its parent, such as the tmux server) counts as ended.
 */
export function isRunning(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name in parentheses may hold spaces: the state follows its ')'.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true; // no /proc: kill(0) is all there is to go by
  }
}
