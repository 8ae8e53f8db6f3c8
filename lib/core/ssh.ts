// The ssh gateway (issue #19): the only place that builds ssh argv. A command
// for another host is an argv array like any other (lib/core/exec.ts); ssh
// joins its words into one string for the remote user's shell, so every word
// is quoted here, one by one, and nothing a user typed is ever concatenated
// into it unquoted. Message text and file contents go on stdin, never into
// the command.
//
// Every call: BatchMode (no password or passphrase prompt, no question about
// a host key: an unknown or changed key fails, and the fix is printed), the
// user's own keys, ~/.ssh/config and known_hosts (StrictHostKeyChecking is
// never turned off), and one multiplexed connection per host (ControlMaster,
// sockets in the fleet's runtime directory, mode 0700), so a call after the
// first costs one round trip.
import { mkdirSync, chmodSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { exec, type ExecResult } from './exec.js';
import { FleetError } from './errors.js';
import { runtimeDir } from './paths.js';

type Env = NodeJS.ProcessEnv;

/** A host as the roster names it: its name, and how ssh reaches it. */
export interface SshHost {
  name: string;
  /** user@box, box, or a Host alias of ~/.ssh/config. */
  ssh: string;
  port?: number;
}

/** How long ssh may take to connect (ssh's ConnectTimeout), in seconds, unless MOSAIC_SSH_CONNECT_TIMEOUT says otherwise. */
export const CONNECT_TIMEOUT_S = 5;
/** How long a master connection stays up after its last use (ControlPersist), in seconds. */
const CONTROL_PERSIST_S = 60;
/** ssh's own exit status for its own failures (connection, authentication, host key). */
export const SSH_FAILED = 255;

/**
 * The remote tools are looked for in ~/.local/bin (where install.sh links
 * them) before the remote PATH, which for an ssh command is the system's
 * bare one. A fixed prefix: no user text in it. It needs a POSIX-like login
 * shell on the host (sh, bash, dash, zsh, ksh).
 */
const REMOTE_PATH_PREFIX = 'PATH="$HOME/.local/bin:$PATH"';

/**
 * One word quoted for a POSIX shell: inside single quotes nothing is special
 * but the single quote itself, which is written as '\'' (close, an escaped
 * quote, reopen). So spaces, $, backticks, backslashes, globs, newlines and
 * quotes all arrive as they were.
 */
export function quoteWord(word: string): string {
  if (word.includes('\0')) throw new FleetError('a command word for a remote host holds a NUL byte, which no shell can carry', 'remove it');
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The one string ssh hands the remote shell for `argv`: every word quoted, the tools' PATH first. */
export function remoteCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('remoteCommand: empty argv');
  return `${REMOTE_PATH_PREFIX} ${argv.map(quoteWord).join(' ')}`;
}

/** Where the multiplexed connections' sockets live: the fleet's runtime directory, mode 0700. */
export function sshControlDir(env: Env): string {
  const dir = join(runtimeDir(env), 'ssh');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new FleetError(`${dir} is not a directory`, 'remove it; the fleet keeps its ssh sockets there');
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
  return dir;
}

function connectTimeout(env: Env): number {
  const v = Number(env.MOSAIC_SSH_CONNECT_TIMEOUT);
  return Number.isFinite(v) && v > 0 ? Math.ceil(v) : CONNECT_TIMEOUT_S;
}

/** The whole ssh argv for running `argv` on `host` (with `tty`, a terminal there: attach). */
export function sshArgv(host: SshHost, argv: readonly string[], env: Env, controlDir = sshControlDir(env), tty = false): string[] {
  if (host.ssh.startsWith('-') || host.ssh === '') throw new FleetError(`host ${host.name}: ${JSON.stringify(host.ssh)} is not an ssh destination`, 'fix the roster');
  return [
    env.MOSAIC_SSH || 'ssh',
    '-o', 'BatchMode=yes',
    '-o', `ConnectTimeout=${connectTimeout(env)}`,
    '-o', 'ControlMaster=auto',
    '-o', `ControlPath=${join(controlDir, '%C')}`,
    '-o', `ControlPersist=${CONTROL_PERSIST_S}`,
    // Keep-alives find a host that went away under a live master connection.
    '-o', 'ServerAliveInterval=5',
    '-o', 'ServerAliveCountMax=2',
    tty ? '-t' : '-T',
    ...(host.port === undefined ? [] : ['-p', String(host.port)]),
    '--',
    host.ssh,
    remoteCommand(argv),
  ];
}

/**
 * The ssh argv that asks `host`'s master connection (it must be up) to
 * forward the local socket `localPath` to `remotePath` on that host for as
 * long as the master lives (ssh -O forward -L): a connection to it is a new
 * channel of the warm connection, with no ssh client or remote shell started.
 */
export function sshSocketForwardArgv(host: SshHost, localPath: string, remotePath: string, env: Env, controlDir = sshControlDir(env)): string[] {
  if (host.ssh.startsWith('-') || host.ssh === '') throw new FleetError(`host ${host.name}: ${JSON.stringify(host.ssh)} is not an ssh destination`, 'fix the roster');
  // ssh splits a -L socket forward at the colon.
  if (localPath.includes(':') || remotePath.includes(':')) throw new FleetError(`a socket path to forward holds a colon: ${localPath} ${remotePath}`);
  return [
    env.MOSAIC_SSH || 'ssh',
    '-o', 'BatchMode=yes',
    '-o', `ControlPath=${join(controlDir, '%C')}`,
    '-O', 'forward',
    '-L', `${localPath}:${remotePath}`,
    ...(host.port === undefined ? [] : ['-p', String(host.port)]),
    '--',
    host.ssh,
  ];
}

export interface SshOptions {
  /** Written to the remote command's stdin (message text, file contents). */
  input?: string | Buffer;
  /** Kill ssh after this long; default: the connect timeout plus 60 s. */
  timeoutMs?: number;
  env: Env;
}

/** What an ssh call gave: the remote command's exit status, or 255 for ssh's own failures. */
export interface SshResult extends ExecResult {
  /** ssh itself failed, not the remote command: the host is unreachable, refused us, or its key is not trusted. */
  sshFailed: boolean;
  /** The host's key is unknown or changed: nothing was run there. */
  hostKey: boolean;
}

/** Run `argv` on `host` over ssh; never throws (see sshFailure for what to say when it failed). */
export async function sshRun(host: SshHost, argv: readonly string[], opts: SshOptions): Promise<SshResult> {
  const env = opts.env;
  const full = sshArgv(host, argv, env);
  const r = await exec(full, {
    env,
    timeoutMs: opts.timeoutMs ?? (connectTimeout(env) + 60) * 1000,
    ...(opts.input === undefined ? {} : { input: opts.input }),
  });
  const hostKey = r.code === SSH_FAILED && HOST_KEY_RE.test(r.stderr);
  return { ...r, sshFailed: r.code === SSH_FAILED || r.code === -1 || r.timedOut, hostKey };
}

export interface ForwardOptions {
  /**
   * inherit: our stdin goes to the remote command (ask -, attach). hold: a
   * pipe we keep open and never write, so the remote command's stdin ends
   * exactly when this connection does (a command told to end with its stdin
   * then ends with us: a Ctrl-C here ends a logs -f there). { input }: that
   * text, then the end (a roster given to the remote command on stdin).
   */
  stdin: 'inherit' | 'hold' | { input: string };
  /** A terminal on the remote side (attach). */
  tty?: boolean;
  /** Keep the remote stdout instead of passing it through (to merge several hosts' JSON). */
  captureStdout?: boolean;
  /** Ends the call (its ssh client, so the remote command's stdin ends). */
  signal?: AbortSignal;
  env: Env;
}

/**
 * Run `argv` on `host` as if it ran here: its stdout and stderr pass through
 * as they come (logs -f, events -f), its exit status comes back. ssh's own
 * failures are told apart as sshRun does; stderr is also kept (its end) to
 * say what went wrong.
 */
export function sshForward(host: SshHost, argv: readonly string[], opts: ForwardOptions): Promise<SshResult> {
  const env = opts.env;
  const full = sshArgv(host, argv, env, sshControlDir(env), opts.tty === true);
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    const child = spawn(full[0]!, full.slice(1), {
      env,
      stdio: [opts.stdin === 'inherit' ? 'inherit' : 'pipe', opts.captureStdout ? 'pipe' : 'inherit', opts.tty ? 'inherit' : 'pipe'],
    });
    if (typeof opts.stdin === 'object') {
      child.stdin?.on('error', () => undefined); // ssh gone before reading it: its failure says why
      child.stdin?.end(opts.stdin.input);
    }
    const end = () => child.kill('SIGTERM');
    opts.signal?.addEventListener('abort', end, { once: true });
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => {
      process.stderr.write(d);
      stderr = (stderr + d.toString()).slice(-4096);
    });
    child.on('error', (err) => resolve({ code: -1, stdout, stderr: String(err), timedOut: false, sshFailed: true, hostKey: false }));
    child.on('close', (code, signal) => {
      opts.signal?.removeEventListener('abort', end);
      const c = code ?? (signal ? 128 : -1);
      resolve({ code: c, stdout, stderr, timedOut: false, sshFailed: c === SSH_FAILED, hostKey: c === SSH_FAILED && HOST_KEY_RE.test(stderr) });
    });
  });
}

const HOST_KEY_RE = /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No (?:[A-Z0-9-]+ )?host key is known/;

/** A host that ssh could not reach, did not trust, or that refused us. */
export class HostError extends FleetError {
  constructor(readonly host: string, message: string, hint?: string) {
    super(message, hint);
    this.name = 'HostError';
  }
}

/** The error for an ssh call that failed as ssh (not as the remote command), with the fix. */
export function sshFailure(host: SshHost, r: SshResult): HostError {
  const said = r.stderr.trim().split('\n').filter((l) => l.trim() !== '' && !/^@+$/.test(l.trim())).slice(-2).join('; ');
  const port = host.port === undefined ? '' : ` -p ${host.port}`;
  const box = host.ssh.replace(/^[^@]*@/, '');
  if (r.hostKey) {
    const changed = /CHANGED/.test(r.stderr);
    return new HostError(
      host.name,
      `host ${host.name} (${host.ssh}): its ssh host key is ${changed ? 'not the one known_hosts holds (it changed)' : 'not in known_hosts'}, so nothing was sent there`,
      changed
        ? `if the host was really reinstalled, remove the old key with ssh-keygen -R ${host.port === undefined ? box : `'[${box}]:${host.port}'`} and accept the new one with ssh${port} ${host.ssh} once`
        : `check the key's fingerprint, then accept it: ssh${port} ${host.ssh} once (answer yes), or ssh-keyscan${port} ${box} >> ~/.ssh/known_hosts`,
    );
  }
  if (r.timedOut) return new HostError(host.name, `host ${host.name} (${host.ssh}) did not answer in time`, `check that it is up: ssh${port} ${host.ssh} true`);
  if (r.code === -1) return new HostError(host.name, `ssh could not be started: ${said}`, 'install OpenSSH (the ssh client)');
  return new HostError(host.name, `host ${host.name} (${host.ssh}) is unreachable: ${said || `ssh exited with ${r.code}`}`, `check it with: ssh${port} ${host.ssh} true`);
}
