// A private fleet for one test: its own tmux server on a random socket under
// a temporary TMUX_TMPDIR, its own HOME and runtime dir, started by the real
// holder code, and reaped afterwards even if the server already died.
import { pollUntil } from '../../lib/core/poll.js';
import { mkdtempSync, readdirSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { exec, type ExecResult } from '../../lib/core/exec.js';
import { Tmux } from '../../lib/tmux/tmux.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');

/** The argv that runs a compiled entry point (tests run against dist/, as installed). */
export function binArgv(tool: string, args: string[]): string[] {
  return [process.execPath, join(ROOT, 'dist', 'bin', `${tool}.js`), ...args];
}

export interface TestFleet {
  dir: string;
  home: string;
  socket: string;
  env: NodeJS.ProcessEnv;
  tmux: Tmux;
  /** Run a toolkit entry point with this fleet's environment. */
  run(tool: string, args: string[], opts?: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<ExecResult>;
  /** Start an agent the way its unit would; returns the waiter's pid. */
  startAgent(name: string, env?: NodeJS.ProcessEnv): Promise<{ result: ExecResult; waiterPid: number | undefined }>;
  close(): Promise<void>;
}

export async function startTestFleet(opts: { holder?: boolean } = {}): Promise<TestFleet> {
  const dir = mkdtempSync(join(tmpdir(), 'mf-test-'));
  const home = join(dir, 'home');
  mkdirSync(home);
  const socket = `mf-${randomBytes(4).toString('hex')}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    USER: process.env.USER ?? 'root',
    LANG: 'C.UTF-8',
    TMUX_TMPDIR: dir,
    MOSAIC_TMUX_SOCKET: socket,
    MOSAIC_TMUX_CONF: '/dev/null',
    MOSAIC_FLEET_RUNTIME_DIR: join(dir, 'run'),
    MOSAIC_FLEET_CONFIG_DIR: join(dir, 'config'),
    MOSAIC_FLEET_STATE_DIR: join(dir, 'state'),
    XDG_CONFIG_HOME: join(home, '.config'),
  };
  const tmux = new Tmux(env, socket);
  const run: TestFleet['run'] = (tool, args, o = {}) =>
    exec(binArgv(tool, args), { env: { ...env, ...o.env }, input: o.input, timeoutMs: o.timeoutMs ?? 60_000 });
  const fleet: TestFleet = {
    dir,
    home,
    socket,
    env,
    tmux,
    run,
    async startAgent(name, extra = {}) {
      const pidFile = join(dir, 'run', `agent-${name}.pid`);
      const result = await run('start-agent-session', ['--pid-file', pidFile, name], { env: extra });
      let waiterPid: number | undefined;
      try {
        waiterPid = Number(readFileSync(pidFile, 'utf8').trim());
      } catch {
        waiterPid = undefined;
      }
      return { result, waiterPid };
    },
    async close() {
      await exec(['tmux', '-L', socket, 'kill-server'], { env });
      // Waiters end by themselves within 0.5 s of their agent; end any left at once.
      for (const f of safeReaddir(join(dir, 'run')).filter((f) => f.endsWith('.pid'))) {
        const pid = Number(readFileSync(join(dir, 'run', f), 'utf8').trim());
        try {
          if (pid > 1) process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
      // A runtime may still be writing into the home as it dies: try again a little later.
      for (let attempt = 0; ; attempt++) {
        try {
          rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
          break;
        } catch (err) {
          if (attempt >= 5) throw err;
          await new Promise((r) => setTimeout(r, 300));
        }
      }
    },
  };
  if (opts.holder !== false) {
    const r = await run('mosaic-holder', ['start', '--pid-file', join(dir, 'run', 'holder.pid')]);
    if (r.code !== 0) throw new Error(`holder did not start: ${r.stderr}`);
  }
  return fleet;
}

function safeReaddir(d: string): string[] {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
}

/** What to wait for and how long: `what` names it in the time-out's error (else the check's own source does). */
export interface WaitOptions {
  what?: string;
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * The tests' one wait: poll `fn` (lib/core/poll.ts) until it returns a truthy
 * value, and return that value; after `timeoutMs` throw an error that names
 * what was waited for and the last value or error `fn` gave.
 */
export async function waitFor<T>(fn: () => Promise<T> | T, opts: WaitOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  let last: { value: T } | { error: unknown } | undefined;
  // A check that throws is a "not yet": its error is what the time-out reports.
  const got = await pollUntil(async () => {
    try {
      const value = await fn();
      last = { value };
      return value ? { value } : undefined;
    } catch (error) {
      last = { error };
      return undefined;
    }
  }, Date.now() + timeoutMs, opts.intervalMs ?? 50);
  if (got) return got.value;
  const what = opts.what ?? fn.toString().replace(/\s+/g, ' ').slice(0, 160);
  const lastText =
    last === undefined ? 'nothing'
    : 'error' in last ? `error: ${last.error instanceof Error ? last.error.message : String(last.error)}`
    : `value: ${inspect(last.value, { depth: 4, breakLength: Infinity })}`;
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last ${lastText}`);
}

/**
 * Whether a process runs. A zombie counts as gone: a waiter whose parent
 * exited is an orphan, and the init of a test container may take seconds to
 * reap it (under systemd, the manager reaps its services' processes at once).
 */
export function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZXx]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

export type { ExecResult };
