// A send to another host's agent over the warm ssh connection, with no
// program started on either side but this one (issue #19): the host's
// dispatcher serves sends on its send socket (lib/send/send-socket.ts), and
// the ssh master connection to that host forwards a socket here to it. The
// forward is set up after the first send to the host (which goes the slow
// way, through that host's agent-send) and lives as long as the master
// connection does; a send finds it gone (the master ended after
// ControlPersist) by a refused connection, and sets it up again.
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { isAbsolute, join } from 'node:path';
import { lstatSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { exec } from '../core/exec.js';
import { sshControlDir, sshRun, sshSocketForwardArgv, type SshHost } from '../core/ssh.js';
import { requestOverSocket, type SendSocketRequest, type SocketSendResult } from '../send/send-socket.js';

type Env = NodeJS.ProcessEnv;

/** How long a host whose toolkit has no send socket (an older release) is not asked again. */
const OFF_FOR_MS = 10 * 60_000;
/** How long the far dispatcher may take to greet: the warm link's round trip and a busy host. */
const HELLO_MS = 5000;

/**
 * This host's end of the forward to `host`'s send socket. Named after the
 * ssh destination too: a roster that points the host name at another box
 * must not reach the old box through a forward left from before.
 */
export function forwardSocketPath(host: SshHost, env: Env, controlDir = sshControlDir(env)): string {
  const id = createHash('sha256').update(`${host.ssh}\0${host.port ?? ''}`).digest('hex').slice(0, 12);
  return join(controlDir, `send-${host.name.replace(/[^A-Za-z0-9_.-]/g, '_')}-${id}.sock`);
}

function isOff(local: string): boolean {
  try {
    return Date.now() - statSync(`${local}.off`).mtimeMs < OFF_FOR_MS;
  } catch {
    return false;
  }
}

/**
 * Send over the forward to `host`'s dispatcher; undefined when the host is
 * known to have none (its toolkit is older), or MOSAIC_SEND_FORWARD=off says
 * every send goes as an ssh command. `answerMs` bounds the send.
 */
export async function sendOverForward(host: SshHost, req: SendSocketRequest, answerMs: number, env: Env): Promise<SocketSendResult | undefined> {
  if (env.MOSAIC_SEND_FORWARD === 'off') return undefined;
  const local = forwardSocketPath(host, env);
  if (isOff(local)) return undefined;
  return requestOverSocket(local, req, HELLO_MS, answerMs);
}

/**
 * Set up the forward to `host`'s send socket on its master connection (up:
 * a command just ran over it). Asks the host where its socket is; a host
 * that cannot say (an older toolkit) is left alone for a while. Never
 * throws: without a forward, sends go the slow way.
 */
export async function setUpForward(host: SshHost, env: Env): Promise<void> {
  const local = forwardSocketPath(host, env);
  const r = await sshRun(host, ['mosaic-agent', 'hosts', 'socket'], { env, timeoutMs: 30_000 });
  const remote = r.stdout.trim();
  if (r.sshFailed) return;
  if (r.code !== 0 || !isAbsolute(remote) || remote.includes('\n') || remote.includes(':')) {
    off(local, `mosaic-agent hosts socket on ${host.name} gave exit ${r.code}: ${r.stderr.trim().slice(0, 200)}`);
    return;
  }
  // Only called after a connection to `local` was refused or found nothing,
  // so a socket file there is one a master that has ended left behind,
  // unless another send set the forward up meanwhile.
  if (await listening(local)) return;
  try {
    if (lstatSync(local).isSocket()) unlinkSync(local);
  } catch {
    // not there
  }
  const f = await exec(sshSocketForwardArgv(host, local, remote, env), { env, timeoutMs: 10_000 });
  // A master that will not forward (ClearAllForwardings in the user's ssh
  // config, say) is not asked again for a while: each send would otherwise
  // pay for this set-up on top of the ssh command.
  if (f.code !== 0 && !(await listening(local))) off(local, `ssh -O forward for ${host.name} gave exit ${f.code}: ${f.stderr.trim().slice(0, 200)}`);
}

function off(local: string, why: string): void {
  writeFileSync(`${local}.off`, `${why}\n`, { mode: 0o600 });
}

/** Forget that `host` could not forward (its toolkit was just installed or upgraded). */
export function forgetNoForward(host: SshHost, env: Env): void {
  try {
    unlinkSync(`${forwardSocketPath(host, env)}.off`);
  } catch {
    // none
  }
}

function listening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(path, () => {
      sock.destroy();
      resolve(true);
    });
    sock.on('error', () => resolve(false));
  });
}
