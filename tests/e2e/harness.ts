// End-to-end harness: a real `systemd --user` manager for a throwaway user.
//
// These machines (and CI) run the tests as root in a container whose PID 1 is
// not systemd, so `systemctl --user` normally has no manager to talk to. This
// module creates a fresh user (mfe2e-<6 hex>), gives it a runtime dir and its
// own child cgroups, and starts `/lib/systemd/systemd --user` for it, following
// the verified recipe in /work/shared/systemd-user-testing.md.
//
// Usage (node:test):
//
//   const skip = e2eSkipReason();
//   let m: UserManager | undefined;
//   before(async () => { if (!skip) m = await createUserManager(); });
//   after(async () => { await m?.destroy(); });      // ALWAYS tear down in after()
//   test('…', { skip }, async () => { await m!.systemctl('daemon-reload'); … });
//
// Teardown: tests MUST call `destroy()` (in `after()`); it is async and is the
// only complete teardown. A synchronous best-effort safety net also runs on
// process 'exit' and on SIGINT/SIGTERM/SIGHUP (SIGTERM the manager, SIGKILL
// everything else of the uid, remove cgroups, runtime dir and user), but it
// cannot await anything and does not run if the process is SIGKILLed.
//
// Things a test should know:
// - The user gets a random uid in 20000..59999 (never reused from a previous
//   run). Its ~/.config/systemd/user.conf is written by the harness so that
//   units' stdout/stderr land in managerLog() (there is no journald).
// - PID 1 on these machines (process_api) reaps orphans only periodically
//   (seen: ~1.5-2 s later): a process that outlived its parent (e.g. a tmux
//   server started with run(), not from a unit) stays a zombie of the uid for
//   a while after it is killed. pidsOfUid() leaves zombies out; `pgrep -u UID`
//   lists them. destroy() waits up to 3 s for them to be reaped.
// - stopManager() defaults to a clean "reboot": SIGTERM (the manager stops its
//   units), then SIGKILL whatever of the uid is left, then empty the runtime dir.
//
// Everything is argv based: no shell strings are ever built from variable
// data. The one shell script used (to move the manager into its cgroups before
// exec) is a fixed string that takes its variable parts as positional args.

import { spawn, execFileSync, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  chownSync,
  closeSync,
  constants as fsConstants,
  type Dirent,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

const SYSTEMD = '/lib/systemd/systemd';
const USER_PATH = '/usr/local/bin:/usr/bin:/bin';
const DEFAULT_RUN_TIMEOUT_MS = 60_000;
const MANAGER_START_TIMEOUT_MS = 10_000;

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  env?: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
}

export interface StopManagerOptions {
  /** SIGTERM (default) makes the user manager start exit.target, i.e. stop its units cleanly, then exit: like `reboot`. SIGKILL simulates a crash/power loss. */
  signal?: 'SIGTERM' | 'SIGKILL';
  /** How long to wait for the manager to exit after `signal` before SIGKILLing it. Default 15 s. */
  timeoutMs?: number;
  /** After the manager is gone, SIGKILL every remaining process of the uid (nothing survives a reboot). Default true. */
  killUserProcesses?: boolean;
  /** Empty the runtime dir (/run/user/UID is a tmpfs wiped by a reboot), keeping the dir itself. Default true. */
  clearRuntimeDir?: boolean;
}

export interface UserManager {
  user: string;
  uid: number;
  gid: number;
  home: string;
  runtimeDir: string;
  managerPid(): number | undefined;
  /** run argv (never a shell string) as the throwaway user with a clean env: HOME, USER, LOGNAME, SHELL=/bin/bash, PATH=/usr/local/bin:/usr/bin:/bin plus opts.env, XDG_RUNTIME_DIR; default timeout 60s */
  run(argv: string[], opts?: RunOptions): Promise<RunResult>;
  /** The argv that runs argv as the user with run's environment, for a process the test drives itself (an MCP client's server). */
  argvAs(argv: string[], env?: Record<string, string>): string[];
  /** systemctl --user ... as the user */
  systemctl(...args: string[]): Promise<RunResult>;
  /** stop the manager (signal its pid, wait for it to go), keeping the user and its files: used to simulate a reboot. See StopManagerOptions for the defaults. */
  stopManager(opts?: StopManagerOptions): Promise<void>;
  /** (re)start the manager and wait for /run/user/UID/systemd/private. A no-op if it is already running. */
  startManager(): Promise<void>;
  /** stop the manager, kill every remaining process of the uid, remove the cgroup dirs, the runtime dir and the user (userdel -r). Safe to call twice and after partial failures. Tests must call it in after(). */
  destroy(): Promise<void>;
  /** contents of the manager's log file (all starts appended); still available after destroy() */
  managerLog(): string;
}

// ---------------------------------------------------------------------------
// small utilities

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function errMsg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Find an executable by name in PATH plus the usual sbin dirs (root's PATH may lack them). */
function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = join(d, name);
    try {
      accessSync(p, fsConstants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      /* keep looking */
    }
  }
  return undefined;
}

/** Spawn argv, collect output, enforce a timeout (kills the whole process group). Never uses a shell. */
function spawnCollect(
  file: string,
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; what?: string } = {},
): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS;
  const what = opts.what ?? [file, ...args].map((a) => JSON.stringify(a)).join(' ');
  return new Promise<RunResult>((resolve, reject) => {
    let child: ChildProcessWithoutNullStreams;
    try {
      child = spawn(file, args, {
        cwd: opts.cwd,
        env: opts.env ?? process.env,
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true, // own process group, so a timeout can kill the whole tree it did not daemonize
      });
    } catch (e) {
      reject(new Error(`cannot spawn ${what}: ${errMsg(e)}`));
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {
      /* EPIPE when the command does not read its input */
    });
    let settled = false;
    let exitCode: number | undefined;
    let closeGrace: NodeJS.Timeout | undefined;
    const result = (): RunResult => ({
      code: exitCode ?? -1,
      stdout: Buffer.concat(out).toString('utf8'),
      stderr: Buffer.concat(err).toString('utf8'),
    });
    const finish = (e?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (closeGrace) clearTimeout(closeGrace);
      child.stdout.destroy();
      child.stderr.destroy();
      if (e) reject(e);
      else resolve(result());
    };
    const timer = setTimeout(() => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      const r = result();
      finish(new Error(`timed out after ${timeoutMs} ms: ${what}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`));
    }, timeoutMs);
    child.on('error', (e) => finish(new Error(`cannot run ${what}: ${e.message}`)));
    child.on('exit', (code, signal) => {
      exitCode = code ?? 128 + (signal ? (osSignalNumber(signal) ?? 0) : 0);
      // A daemon it started may keep stdout/stderr open: do not wait for 'close' forever.
      closeGrace = setTimeout(() => finish(), 500);
    });
    child.on('close', () => finish());
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };
function osSignalNumber(signal: string): number | undefined {
  return SIGNAL_NUMBERS[signal];
}

/** Run a command as root (the test process) and require exit 0. */
async function rootRun(argv: string[], opts: { okCodes?: number[]; timeoutMs?: number } = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error('rootRun: empty argv');
  const r = await spawnCollect(file, args, { timeoutMs: opts.timeoutMs ?? 30_000 });
  if (!(opts.okCodes ?? [0]).includes(r.code)) {
    throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return r;
}

// ---------------------------------------------------------------------------
// processes by uid

interface ProcInfo {
  pid: number;
  uids: number[];
  state: string;
  name: string;
}

function readProc(pid: number): ProcInfo | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (k: string) => text.match(new RegExp(`^${k}:\\s*(.*)$`, 'm'))?.[1] ?? '';
  return {
    pid,
    uids: field('Uid').split(/\s+/).filter(Boolean).map(Number),
    state: field('State').charAt(0),
    name: field('Name'),
  };
}

function ownedBy(info: ProcInfo, uid: number): boolean {
  return info.uids.some((u) => u === uid);
}

/**
 * Pids whose real, effective, saved or fs uid is `uid`. Zombies are left out
 * unless asked for: here PID 1 reaps orphans only every couple of seconds, so
 * a process that was reparented to PID 1 and then killed lingers as a zombie
 * for a while (it holds no resources, only a pid, and userdel ignores it).
 */
export function pidsOfUid(uid: number, opts: { includeZombies?: boolean } = {}): number[] {
  const pids: number[] = [];
  for (const ent of readdirSync('/proc')) {
    if (!/^\d+$/.test(ent)) continue;
    const info = readProc(Number(ent));
    if (!info || !ownedBy(info, uid)) continue;
    if (info.state === 'Z' && !opts.includeZombies) continue;
    pids.push(info.pid);
  }
  return pids;
}

/** Is pid alive (not gone, not a zombie)? */
function alive(pid: number): boolean {
  const info = readProc(pid);
  return info !== undefined && info.state !== 'Z';
}

function assertThrowawayUid(uid: number): void {
  if (!Number.isInteger(uid) || uid < 1000 || uid === 65534) throw new Error(`refusing to act on uid ${uid}: not a throwaway user uid`);
}

/** SIGKILL every live process of uid, pid by pid, re-checking the owner right before each kill. Returns survivors. */
function killUidRound(uid: number): number[] {
  assertThrowawayUid(uid);
  const pids = pidsOfUid(uid);
  for (const pid of pids) {
    const info = readProc(pid);
    if (!info || !ownedBy(info, uid) || info.state === 'Z') continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* raced with its exit */
    }
  }
  return pids;
}

async function killAllOfUid(uid: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (killUidRound(uid).length === 0) return;
    if (Date.now() > deadline) {
      const left = pidsOfUid(uid).map((p) => `${p} (${readProc(p)?.name ?? '?'})`);
      if (left.length === 0) return;
      throw new Error(`processes of uid ${uid} survive SIGKILL: ${left.join(', ')}`);
    }
    await sleep(50);
  }
}

// ---------------------------------------------------------------------------
// cgroups

/** The hierarchies in which the manager needs a child cgroup of its own. */
function cgroupRoots(): string[] {
  const roots = ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified'].filter((d) => existsSync(join(d, 'cgroup.procs')));
  // Pure cgroup v2 host: the unified hierarchy is mounted at /sys/fs/cgroup itself.
  if (roots.length === 0 && existsSync('/sys/fs/cgroup/cgroup.controllers')) roots.push('/sys/fs/cgroup');
  return roots;
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  for (const ent of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, ent.name);
    if (ent.isDirectory()) chownTree(p, uid, gid);
    else {
      try {
        chownSync(p, uid, gid);
      } catch {
        /* some cgroup files cannot be chowned; systemd only needs the dir and cgroup.procs etc. */
      }
    }
  }
}

/** rmdir a cgroup and its children, deepest first. Returns paths that could not be removed. */
function removeCgroupTree(path: string): string[] {
  if (!existsSync(path)) return [];
  const failed: string[] = [];
  let entries: Dirent[] = [];
  try {
    entries = readdirSync(path, { withFileTypes: true });
  } catch {
    /* vanished */
  }
  for (const ent of entries) if (ent.isDirectory()) failed.push(...removeCgroupTree(join(path, ent.name)));
  try {
    rmdirSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') failed.push(`${path} (${(e as NodeJS.ErrnoException).code ?? errMsg(e)})`);
  }
  return failed;
}

// ---------------------------------------------------------------------------
// the manager launcher: a FIXED script; variable parts are positional args.
// Its stdout/stderr go to the log file. The manager's own messages are mostly
// NOT there: a user manager always reopens /dev/console for its console log
// target (not writable by the user) and there is no journal, so only errors
// printed before its log is set up (e.g. a failed startup) appear. What units
// print does appear, thanks to MANAGER_CONF below.
//   $1 uid  $2 gid  $3 home  $4 user  $5 runtime dir  $6 systemd binary  $7.. cgroup.procs files
/**
 * Written to ~/.config/systemd/user.conf (which the user manager reads instead
 * of /etc/systemd/user.conf). Without journald the units' stdout/stderr would
 * go to /dev/null; "inherit" sends them to the manager's stdout/stderr, i.e.
 * the log file, so managerLog() shows what units printed. (Units that set
 * StandardOutput= themselves are unaffected.) The --default-standard-output=
 * command-line flag is not enough: daemon-reload re-reads the config files and
 * forgets it.
 */
const MANAGER_CONF = `[Manager]
DefaultStandardOutput=inherit
DefaultStandardError=inherit
`;

const LAUNCH_SCRIPT = [
  'uid=$1; gid=$2; home=$3; user=$4; rt=$5; systemd=$6',
  'shift 6',
  'for procs in "$@"; do',
  '  echo $$ > "$procs" || { echo "mfe2e launcher: cannot move pid $$ into $procs" >&2; exit 97; }',
  'done',
  'exec setpriv --reuid="$uid" --regid="$gid" --init-groups env -i HOME="$home" USER="$user" LOGNAME="$user" PATH=/usr/local/bin:/usr/bin:/bin XDG_RUNTIME_DIR="$rt" "$systemd" --user',
].join('\n');

// ---------------------------------------------------------------------------
// skip reason

export function e2eSkipReason(): string | undefined {
  if (process.platform !== 'linux') return `the e2e tier needs Linux (this is ${process.platform}), so it is skipped.`;
  if (process.getuid?.() !== 0) return 'the e2e tier needs root (it creates a throwaway user and starts a systemd --user manager for it), so it is skipped.';
  try {
    accessSync(SYSTEMD, fsConstants.X_OK);
  } catch {
    return `${SYSTEMD} is not present, so no systemd --user manager can be started and the e2e tier is skipped.`;
  }
  const missing = ['useradd', 'userdel', 'setpriv', 'getent'].filter((t) => !findExecutable(t));
  if (missing.length) return `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not installed, so the e2e tier is skipped.`;
  if (cgroupRoots().length === 0) return 'no cgroup hierarchy was found under /sys/fs/cgroup, so the e2e tier is skipped.';
  return undefined;
}

// ---------------------------------------------------------------------------
// node reachability for the throwaway user

function otherCanExec(path: string): boolean {
  try {
    return (statSync(path).mode & 0o001) !== 0;
  } catch {
    return false;
  }
}

function checkNodeReachable(): void {
  const exe = process.execPath;
  // Every directory on the way to the running node binary must be traversable by others.
  const blocked: string[] = [];
  for (let d = dirname(exe); ; d = dirname(d)) {
    if (!otherCanExec(d)) blocked.push(d);
    if (d === '/') break;
  }
  const onPath = USER_PATH.split(':')
    .map((d) => join(d, 'node'))
    .find((p) => existsSync(p) && otherCanExec(p));
  if (!onPath) {
    const why = blocked.length
      ? `node runs from ${exe}, and ${blocked.join(', ')} ${blocked.length === 1 ? 'is' : 'are'} not world-searchable`
      : `node runs from ${exe}, which is not on the user's PATH (${USER_PATH})`;
    throw new Error(`the throwaway user cannot reach node: ${why}. Install node (or a symlink to it) in /usr/local/bin or /usr/bin.`);
  }
}

// ---------------------------------------------------------------------------
// safety net for managers whose destroy() was never awaited

const live = new Set<{ destroySync(): void }>();
let safetyNetInstalled = false;

function installSafetyNet(): void {
  if (safetyNetInstalled) return;
  safetyNetInstalled = true;
  process.on('exit', () => {
    for (const m of [...live]) m.destroySync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = () => {
      for (const m of [...live]) m.destroySync();
      process.removeListener(sig, handler);
      // Re-raise with the default disposition unless someone else handles it.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, handler);
  }
}

// ---------------------------------------------------------------------------
// createUserManager

const UID_RANGE = [20_000, 60_000] as const; // inside login.defs' usual UID_MIN..UID_MAX, clear of real users

/** A uid in UID_RANGE with no passwd entry, no process (not even a zombie) and no runtime dir; undefined lets useradd choose. */
function pickFreshUid(): number | undefined {
  for (let i = 0; i < 50; i++) {
    const uid = UID_RANGE[0] + (randomBytes(4).readUInt32BE(0) % (UID_RANGE[1] - UID_RANGE[0]));
    try {
      execFileSync('getent', ['passwd', String(uid)], { stdio: 'ignore' });
      continue; // taken
    } catch {
      /* free */
    }
    if (existsSync(`/run/user/${uid}`) || existsSync(`/tmp/tmux-${uid}`)) continue;
    if (pidsOfUid(uid, { includeZombies: true }).length) continue;
    return uid;
  }
  return undefined;
}

export async function createUserManager(opts: { prefix?: string } = {}): Promise<UserManager> {
  const skip = e2eSkipReason();
  if (skip) throw new Error(`createUserManager: ${skip}`);
  const prefix = opts.prefix ?? 'mfe2e';
  if (!/^[a-z_][a-z0-9_]{0,23}$/.test(prefix)) throw new Error(`createUserManager: bad prefix ${JSON.stringify(prefix)} (lowercase letters, digits, _; at most 24 chars)`);
  checkNodeReachable();

  const user = `${prefix}-${randomBytes(3).toString('hex')}`;
  const logDir = mkdtempSync(join(tmpdir(), `${user}-log-`));
  const logFile = join(logDir, 'manager.log');
  const cgroupDirs = cgroupRoots().map((r) => join(r, `probe-${user}`));

  // State; uid/gid/home are filled in once useradd succeeded.
  let uid = -1;
  let gid = -1;
  let home = '';
  let runtimeDir = '';
  let userCreated = false;
  let child: ChildProcess | undefined;
  let childExited = true;
  let cachedLog: string | undefined;
  let destroyed = false;
  let destroying: Promise<void> | undefined;

  const managerLog = (): string => {
    if (cachedLog !== undefined) return cachedLog;
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };

  const managerPid = (): number | undefined => {
    const pid = child?.pid;
    if (pid === undefined || childExited || !alive(pid)) return undefined;
    return pid;
  };

  const userEnv = (extra?: Record<string, string>): string[] => {
    const env: Record<string, string> = {
      HOME: home,
      USER: user,
      LOGNAME: user,
      SHELL: '/bin/bash',
      PATH: USER_PATH,
      XDG_RUNTIME_DIR: runtimeDir,
      ...extra,
    };
    return Object.entries(env).map(([k, v]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`bad environment variable name ${JSON.stringify(k)}`);
      if (v.includes('\0')) throw new Error(`environment variable ${k} contains a NUL byte`);
      return `${k}=${v}`;
    });
  };

  const run = (argv: string[], ropts: RunOptions = {}): Promise<RunResult> => {
    if (destroyed) return Promise.reject(new Error(`run: user ${user} was destroyed`));
    if (argv.length === 0) return Promise.reject(new Error('run: empty argv'));
    if (argv[0]!.includes('=')) return Promise.reject(new Error(`run: argv[0] ${JSON.stringify(argv[0])} contains '=' (env would take it for an assignment)`));
    let envArgs: string[];
    try {
      envArgs = userEnv(ropts.env);
    } catch (e) {
      return Promise.reject(e);
    }
    return spawnCollect(
      'setpriv',
      [`--reuid=${uid}`, `--regid=${gid}`, '--init-groups', 'env', '-i', '--', ...envArgs, ...argv],
      {
        input: ropts.input,
        cwd: ropts.cwd ?? home,
        timeoutMs: ropts.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS,
        env: { PATH: process.env.PATH ?? USER_PATH },
        what: `[as ${user}] ${argv.map((a) => JSON.stringify(a)).join(' ')}`,
      },
    );
  };

  const argvAs = (argv: string[], env?: Record<string, string>): string[] => ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--init-groups', 'env', '-i', '--', ...userEnv(env), ...argv];

  const systemctl = (...args: string[]): Promise<RunResult> => run(['systemctl', '--user', ...args]);

  const prepareRuntime = (): void => {
    assertThrowawayUid(uid);
    mkdirSync('/run/systemd/system', { recursive: true }); // sd_booted() checks this
    mkdirSync('/run/user', { recursive: true, mode: 0o755 });
    if (!existsSync(runtimeDir)) mkdirSync(runtimeDir, { mode: 0o700 });
    chownSync(runtimeDir, uid, gid);
    chmodSync(runtimeDir, 0o700); // mkdir's mode is filtered by the umask
    for (const dir of cgroupDirs) {
      if (!existsSync(dir)) mkdirSync(dir);
      chownTree(dir, uid, gid);
    }
  };

  const writeManagerConf = (): void => {
    let dir = home;
    for (const part of ['.config', 'systemd']) {
      dir = join(dir, part);
      if (!existsSync(dir)) {
        mkdirSync(dir, { mode: 0o755 });
        chownSync(dir, uid, gid);
      }
    }
    const conf = join(dir, 'user.conf');
    writeFileSync(conf, MANAGER_CONF, { mode: 0o644 });
    chownSync(conf, uid, gid);
  };

  const clearRuntimeDir = (): void => {
    if (!runtimeDir || !existsSync(runtimeDir)) return;
    for (const ent of readdirSync(runtimeDir)) rmSync(join(runtimeDir, ent), { recursive: true, force: true });
  };

  const startManager = async (): Promise<void> => {
    if (destroyed) throw new Error(`startManager: user ${user} was destroyed`);
    if (managerPid() !== undefined) return;
    prepareRuntime();
    const socket = join(runtimeDir, 'systemd', 'private');
    try {
      unlinkSync(socket); // stale from a previous manager: we must see the new one appear
    } catch {
      /* not there */
    }
    const logFd = openSync(logFile, 'a');
    writeSync(logFd, `=== mfe2e: starting ${SYSTEMD} --user for ${user} (uid ${uid}) at ${new Date().toISOString()} ===\n`);
    let exitInfo = '';
    try {
      const procsFiles = cgroupDirs.map((d) => join(d, 'cgroup.procs'));
      const c = spawn('/bin/sh', ['-c', LAUNCH_SCRIPT, 'mfe2e-launcher', String(uid), String(gid), home, user, runtimeDir, SYSTEMD, ...procsFiles], {
        cwd: home,
        env: { PATH: process.env.PATH ?? USER_PATH },
        stdio: ['ignore', logFd, logFd],
        detached: true, // setsid: its own session, survives nothing of ours
      });
      child = c;
      childExited = false;
      c.on('exit', (code, signal) => {
        if (child === c) childExited = true;
        exitInfo = signal ? `signal ${signal}` : `exit code ${code}`;
      });
      c.on('error', (e) => {
        if (child === c) childExited = true;
        exitInfo = `spawn error: ${e.message}`;
      });
      c.unref();
    } finally {
      closeSync(logFd);
    }
    const deadline = Date.now() + MANAGER_START_TIMEOUT_MS;
    for (;;) {
      try {
        if (lstatSync(socket).isSocket()) return;
      } catch {
        /* not yet */
      }
      if (childExited) throw new Error(`systemd --user for ${user} exited during startup (${exitInfo}). Log:\n${managerLog()}`);
      if (Date.now() > deadline) throw new Error(`systemd --user for ${user} did not create ${socket} within ${MANAGER_START_TIMEOUT_MS} ms. Log:\n${managerLog()}`);
      await sleep(25);
    }
  };

  const waitGone = async (pid: number, timeoutMs: number): Promise<boolean> => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!alive(pid)) return true;
      await sleep(25);
    }
    return !alive(pid);
  };

  const stopManager = async (sopts: StopManagerOptions = {}): Promise<void> => {
    const pid = managerPid();
    if (pid !== undefined) {
      const info = readProc(pid);
      if (info && ownedBy(info, uid)) {
        try {
          process.kill(pid, sopts.signal ?? 'SIGTERM');
        } catch {
          /* gone */
        }
        if (!(await waitGone(pid, sopts.timeoutMs ?? 15_000))) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* gone */
          }
          await waitGone(pid, 5_000);
        }
      }
    }
    if (uid >= 0 && (sopts.killUserProcesses ?? true)) await killAllOfUid(uid);
    if (sopts.clearRuntimeDir ?? true) clearRuntimeDir();
  };

  const removeUserFiles = (): string[] => {
    const problems: string[] = [];
    for (const dir of cgroupDirs) {
      const failed = removeCgroupTree(dir);
      if (failed.length) problems.push(`cgroup dirs left: ${failed.join(', ')}`);
    }
    if (runtimeDir) rmSync(runtimeDir, { recursive: true, force: true });
    if (uid >= 0) {
      // tmux's default socket dir for this uid (a later useradd could reuse the uid).
      const tmuxDir = `/tmp/tmux-${uid}`;
      try {
        if (lstatSync(tmuxDir).uid === uid) rmSync(tmuxDir, { recursive: true, force: true });
      } catch {
        /* not there */
      }
    }
    return problems;
  };

  /** Is `user` in passwd with our uid? (never touch a user we did not create) */
  const ourUserExists = (): boolean => {
    try {
      const line = execFileSync('getent', ['passwd', user], { encoding: 'utf8' }).trim();
      return line.split(':')[2] === String(uid);
    } catch {
      return false;
    }
  };

  const finishLogs = (keep: boolean): void => {
    cachedLog = managerLog();
    if (!keep && process.env.MFE2E_KEEP_LOGS !== '1') rmSync(logDir, { recursive: true, force: true });
  };

  const doDestroy = async (): Promise<void> => {
    destroyed = true;
    const problems: string[] = [];
    const step = async (what: string, fn: () => unknown) => {
      try {
        await fn();
      } catch (e) {
        problems.push(`${what}: ${errMsg(e)}`);
      }
    };
    if (uid >= 0) {
      await step('stop manager', () => stopManager({ signal: 'SIGTERM', timeoutMs: 5_000, killUserProcesses: false, clearRuntimeDir: false }));
      await step('kill processes', () => killAllOfUid(uid));
      // Best effort: give PID 1 a moment to reap killed orphans, so `pgrep -u` is empty too.
      const zombieDeadline = Date.now() + 3_000;
      while (pidsOfUid(uid, { includeZombies: true }).length && Date.now() < zombieDeadline) await sleep(50);
    }
    await step('remove files', () => problems.push(...removeUserFiles()));
    if (userCreated || uid >= 0) {
      await step('userdel', async () => {
        for (let attempt = 0; ourUserExists(); attempt++) {
          const r = await rootRun(['userdel', '-r', user], { okCodes: [0, 6, 8, 12] });
          if (r.code === 8 && attempt < 5) {
            // "user is currently used by process": something raced in; kill again and retry
            if (uid >= 0) await killAllOfUid(uid);
            await sleep(200);
            continue;
          }
          if (r.code !== 0 && r.code !== 6 && r.code !== 12) throw new Error(`userdel -r ${user} exited ${r.code}: ${r.stderr.trim()}`);
          break;
        }
        if (ourUserExists()) throw new Error(`user ${user} still exists after userdel`);
        if (home && existsSync(home) && lstatSync(home).uid === uid) rmSync(home, { recursive: true, force: true });
      });
    }
    finishLogs(problems.length > 0);
    if (problems.length) throw new Error(`destroy(${user}) incomplete (log kept in ${logDir}):\n  ${problems.join('\n  ')}`);
    live.delete(handle);
  };

  const destroy = (): Promise<void> => {
    if (!destroying) {
      destroying = doDestroy().catch((e: unknown) => {
        destroying = undefined; // allow a retry
        throw e;
      });
    }
    return destroying;
  };

  /** Synchronous best effort, for the exit/signal safety net only. */
  const destroySync = (): void => {
    destroyed = true;
    live.delete(handle);
    try {
      if (uid >= 1000) {
        const pid = managerPid();
        if (pid !== undefined) {
          // SIGTERM first: the manager stops and reaps its units' processes itself
          // (orphans we SIGKILL stay zombies until PID 1 gets round to them).
          try {
            process.kill(pid, 'SIGTERM');
          } catch {
            /* gone */
          }
          const stopDeadline = Date.now() + 3_000;
          while (alive(pid) && Date.now() < stopDeadline) sleepSync(25);
        }
        const deadline = Date.now() + 3_000;
        while (killUidRound(uid).length > 0 && Date.now() < deadline) sleepSync(50);
      }
      removeUserFiles();
      if (ourUserExists()) execFileSync('userdel', ['-r', user], { stdio: 'ignore' });
    } catch {
      /* best effort */
    }
    try {
      finishLogs(false);
    } catch {
      /* best effort */
    }
  };

  const handle = { destroySync };
  installSafetyNet();
  live.add(handle);

  try {
    // A random uid, not useradd's next free one, so a run never inherits anything
    // of an earlier run's uid (zombies not yet reaped by PID 1, stale /tmp files).
    for (let attempt = 0; ; attempt++) {
      const wanted = pickFreshUid();
      const r = await rootRun(['useradd', '-m', '-U', '-l', '-s', '/bin/bash', ...(wanted ? ['-u', String(wanted)] : []), user], { okCodes: [0, 4] });
      if (r.code === 0) break;
      if (attempt >= 5) throw new Error(`useradd ${user}: ${r.stderr.trim()}`); // 4: uid taken meanwhile
    }
    userCreated = true;
    const pw = (await rootRun(['getent', 'passwd', user])).stdout.trim().split(':');
    uid = Number(pw[2]);
    gid = Number(pw[3]);
    home = pw[5] ?? '';
    assertThrowawayUid(uid);
    if (!home || !existsSync(home)) throw new Error(`useradd did not create a home for ${user} (${home})`);
    writeManagerConf();
    runtimeDir = `/run/user/${uid}`;
    // The uid may be reused from an earlier throwaway user: whatever is left for it is stale.
    if (pidsOfUid(uid).length) await killAllOfUid(uid);
    if (existsSync(runtimeDir)) rmSync(runtimeDir, { recursive: true, force: true });
    await startManager();
  } catch (e) {
    const log = managerLog();
    await destroy().catch(() => {});
    const err = new Error(`createUserManager failed: ${errMsg(e)}${log && !errMsg(e).includes(log) ? `\nmanager log:\n${log}` : ''}`);
    throw err;
  }

  return {
    user,
    uid,
    gid,
    home,
    runtimeDir,
    managerPid,
    run,
    argvAs,
    systemctl,
    stopManager,
    startManager,
    destroy,
    managerLog,
  };
}
