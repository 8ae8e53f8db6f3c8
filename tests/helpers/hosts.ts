// Remote hosts for the tests and benchmarks of a fleet on several hosts
// (issue #19): each a network namespace made here with a veth pair and a /30
// of its own, running sshd from Debian's openssh-server, logged into as a
// throwaway user with its own systemd user manager. Root only (skipReason
// says why not). Whoever makes a host removes it with destroyHost, also when
// a test fails; processes are ended by the pids started here, never by name.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createUserManager, e2eSkipReason, type UserManager } from '../e2e/harness.js';
import { setUpE2E, type E2E } from '../e2e/setup.js';
import { waitFor } from './fleet.js';

const SSHD = '/usr/sbin/sshd';
export const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => existsSync(p));

export function skipReason(): string | undefined {
  const e2e = e2eSkipReason();
  if (e2e) return e2e;
  if (!IP) return 'ip (iproute2) is not installed, so no network namespace can be made: skipped.';
  if (!existsSync(SSHD)) return `${SSHD} is missing (apt-get install openssh-server), so there is no second host: skipped.`;
  for (const t of ['ssh', 'ssh-keygen']) if (spawnSync('sh', ['-c', 'command -v "$1"', 'sh', t]).status !== 0) return `${t} is not installed: skipped.`;
  const probe = `mfhp${randomBytes(3).toString('hex')}`;
  const r = spawnSync(IP, ['netns', 'add', probe], { encoding: 'utf8' });
  if (r.status !== 0) return `ip netns add fails here (${r.stderr.trim()}): skipped.`;
  spawnSync(IP, ['netns', 'delete', probe]);
  return undefined;
}

const id = randomBytes(3).toString('hex');

/** A remote host: a network namespace with a veth pair and a /30 of its own, its sshd, its user and user manager. */
export interface FarHost {
  label: string;
  ns: string;
  vethHost: string;
  vethNs: string;
  net: string;
  addr: string;
  cfgDir: string;
  sshd?: ChildProcess;
  um?: UserManager;
  /** The far host with pi and its own mock LLM (the pi agents' host). */
  e2e?: E2E;
  made: { netns: boolean; veth: boolean };
}

export function farHost(label: string, n: number): FarHost {
  const ns = `mfh${id}${n}`;
  return { label, ns, vethHost: `${ns}h`, vethNs: `${ns}n`, net: '', addr: '', cfgDir: '', made: { netns: false, veth: false } };
}

export function run(argv: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', input, timeout: 30_000 });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export function must(argv: string[]): string {
  const r = run(argv);
  assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A /30 (10.231.N.0) no route of this machine touches, and not `taken`. */
function freeNet(taken: string[]): string {
  const routes = run([IP!, '-4', 'route', 'show', 'table', 'all']).stdout;
  for (let n = 0; n < 256; n++) {
    const third = (parseInt(id.slice(0, 2), 16) + n) % 256;
    const net = `10.231.${third}`;
    if (!routes.includes(`${net}.`) && !taken.includes(net)) return net;
  }
  throw new Error('no free 10.231.N.0/30 for the test network');
}

/** The pids whose parent is `pid`, and theirs (from /proc). */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/** Stop the sshd this test started for `h`, and its connection processes: the host goes down. */
export async function stopSshd(h: FarHost): Promise<void> {
  const pid = h.sshd?.pid;
  if (pid === undefined || h.sshd?.exitCode !== null) return;
  const kids = descendants(pid);
  const gone = new Promise<void>((r) => h.sshd!.once('exit', () => r()));
  for (const p of [pid, ...kids]) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
}

export function startSshd(h: FarHost): void {
  h.sshd = spawn(IP!, ['netns', 'exec', h.ns, SSHD, '-D', '-f', join(h.cfgDir, 'sshd_config'), '-E', join(h.cfgDir, 'sshd.log')], { stdio: 'ignore' });
}

export async function sshdListening(h: FarHost): Promise<boolean> {
  // From this side of the veth, as the client connects: a TCP connect to port 22, bounded.
  return waitFor(async () => run(['timeout', '2', 'bash', '-c', 'exec 3<>"/dev/tcp/$1/22"', 'bash', h.addr]).code === 0, { timeoutMs: 15_000 }).then(() => true, () => false);
}

/** A command of the fleet's tools as the local (client) user. */
/** The network, the user (with pi and a mock LLM where asked) and the sshd of one far host; returns its host key. */
export async function makeHost(h: FarHost, taken: string[], clientKey: string, withPi: boolean): Promise<string> {
  h.cfgDir = mkdtempSync(join(tmpdir(), `mfh-${id}-${h.label}-`));
  h.net = freeNet(taken);
  h.addr = `${h.net}.2`;
  must([IP!, 'netns', 'add', h.ns]);
  h.made.netns = true;
  must([IP!, 'link', 'add', h.vethHost, 'type', 'veth', 'peer', 'name', h.vethNs]);
  h.made.veth = true;
  must([IP!, 'link', 'set', h.vethNs, 'netns', h.ns]);
  must([IP!, 'addr', 'add', `${h.net}.1/30`, 'dev', h.vethHost]);
  must([IP!, 'link', 'set', h.vethHost, 'up']);
  must([IP!, '-n', h.ns, 'addr', 'add', `${h.addr}/30`, 'dev', h.vethNs]);
  must([IP!, '-n', h.ns, 'link', 'set', h.vethNs, 'up']);
  must([IP!, '-n', h.ns, 'link', 'set', 'lo', 'up']);
  if (withPi) {
    // Its agents run under its user manager, outside the namespace: pi reaches that host's own mock on loopback.
    h.e2e = await setUpE2E(`mfh${h.label[0]}`);
    h.um = h.e2e.um;
  } else {
    h.um = await createUserManager({ prefix: `mfh${h.label[0]}` });
  }
  must(['usermod', '-p', '*', h.um.user]); // a locked account (!) is refused by sshd even with a key
  must(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', join(h.cfgDir, 'host_ed25519')]);
  const fssh = join(h.um.home, '.ssh');
  await h.um.run(['mkdir', '-m', '700', '-p', fssh]);
  assert.equal((await h.um.run(['tee', join(fssh, 'authorized_keys')], { input: clientKey })).code, 0);
  await h.um.run(['chmod', '600', join(fssh, 'authorized_keys')]);
  // sshd, in the namespace, with its own key and pid file; the user's runtime dir
  // given as pam_systemd would give it on a real host (here PAM is off).
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  writeFileSync(
    join(h.cfgDir, 'sshd_config'),
    [
      'Port 22',
      // stranger's port: another connection (ControlPath's %C hashes host, port and user), so its key is checked.
      'Port 2222',
      `ListenAddress ${h.addr}`,
      `HostKey ${join(h.cfgDir, 'host_ed25519')}`,
      `PidFile ${join(h.cfgDir, 'sshd.pid')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'PubkeyAuthentication yes',
      'AuthorizedKeysFile .ssh/authorized_keys',
      `AllowUsers ${h.um.user}`,
      `SetEnv XDG_RUNTIME_DIR=/run/user/${h.um.uid}`,
      'MaxStartups 100',
      'MaxSessions 100',
      '',
    ].join('\n'),
  );
  startSshd(h);
  assert.ok(await sshdListening(h), `sshd did not listen on ${h.addr}:22: ${existsSync(join(h.cfgDir, 'sshd.log')) ? readFileSync(join(h.cfgDir, 'sshd.log'), 'utf8') : ''}`);
  return readFileSync(join(h.cfgDir, 'host_ed25519.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
}

/** The client's ssh config entry for a host. */
export function sshConfig(alias: string, h: FarHost, knownHosts: string, port = 22): string[] {
  return [`Host ${alias}`, `  HostName ${h.addr}`, `  User ${h.um!.user}`, '  IdentityFile ~/.ssh/id_ed25519', `  UserKnownHostsFile ~/.ssh/${knownHosts}`, ...(port === 22 ? [] : [`  Port ${port}`])];
}

/** Remove everything made for `h`, each step on its own so one failure does not leave the others behind. */
export async function destroyHost(h: FarHost): Promise<void> {
  const steps: Array<[string, () => unknown]> = [
    ['sshd', () => stopSshd(h)],
    ['user', () => (h.e2e ? h.e2e.close() : h.um?.destroy())],
    ['veth', () => h.made.veth && run([IP!, 'link', 'delete', h.vethHost])],
    ['netns', () => h.made.netns && run([IP!, 'netns', 'delete', h.ns])],
    ['config', () => h.cfgDir && rmSync(h.cfgDir, { recursive: true, force: true })],
  ];
  for (const [what, fn] of steps) {
    try {
      await fn();
    } catch (err) {
      process.stderr.write(`host ${h.label}: cleaning up ${what} failed: ${String(err)}\n`);
    }
  }
}
