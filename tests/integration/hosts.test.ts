// One fleet across hosts over real OpenSSH (issue #19). A second "host" is an
// sshd from Debian's openssh-server in a network namespace this test makes
// (a veth pair, a /30 of its own), logged into as a throwaway user with its
// own systemd user manager; the client is another throwaway user whose
// ~/.ssh/config, key and known_hosts the test writes. Root only: skipped with
// the reason otherwise. Everything made here (namespace, veth, sshd, users,
// keys) is removed in after(), also when a test fails; processes are ended by
// the pids this test started, never by name.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createUserManager, e2eSkipReason, type UserManager } from '../e2e/harness.js';
import { setUpE2E, waitFor, SOCKET, type E2E } from '../e2e/setup.js';

const SSHD = '/usr/sbin/sshd';
const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => existsSync(p));

function skipReason(): string | undefined {
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

const skip = skipReason();
const id = randomBytes(3).toString('hex');
const NS = `mfh${id}`;
const VETH_HOST = `mfh${id}h`;
const VETH_NS = `mfh${id}n`;
// A /30 of the private range, inside this test's own namespace pair only; a free one is picked in before().
let net = '';
let farAddr = '';
let cfgDir = '';
let sshd: ChildProcess | undefined;
let local: E2E | undefined;
let far: UserManager | undefined;
let rosterPath = '';
const made = { netns: false, veth: false };

function run(argv: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', input, timeout: 30_000 });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function must(argv: string[]): string {
  const r = run(argv);
  assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A /30 (10.231.N.0) no route of this machine touches. */
function freeNet(): string {
  const routes = run([IP!, '-4', 'route', 'show', 'table', 'all']).stdout;
  for (let n = 0; n < 256; n++) {
    const third = (parseInt(id.slice(0, 2), 16) + n) % 256;
    if (!routes.includes(`10.231.${third}.`)) return `10.231.${third}`;
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

/** Stop the sshd this test started, and its connection processes: the host goes down. */
async function stopSshd(): Promise<void> {
  const pid = sshd?.pid;
  if (pid === undefined || sshd?.exitCode !== null) return;
  const kids = descendants(pid);
  const gone = new Promise<void>((r) => sshd!.once('exit', () => r()));
  for (const p of [pid, ...kids]) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
}

function startSshd(): void {
  sshd = spawn(IP!, ['netns', 'exec', NS, SSHD, '-D', '-f', join(cfgDir, 'sshd_config'), '-E', join(cfgDir, 'sshd.log')], { stdio: 'ignore' });
}

async function sshdListening(): Promise<boolean> {
  // From this side of the veth, as the client connects: a TCP connect to port 22, bounded.
  return waitFor(async () => run(['timeout', '2', 'bash', '-c', 'exec 3<>"/dev/tcp/$1/22"', 'bash', farAddr]).code === 0, { timeoutMs: 15_000 }).then(() => true, () => false);
}

/** A command of the fleet's tools as the local (client) user. */
function tool(name: string, args: string[], opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}) {
  return local!.um.run(['node', join(local!.src, 'dist', 'bin', `${name}.js`), ...args], { timeoutMs: opts.timeoutMs ?? 60_000, ...(opts.input === undefined ? {} : { input: opts.input }), env: { MOSAIC_SSH_CONNECT_TIMEOUT: '2', ...opts.env } });
}

/** The remote agent's screen, read on its host's own tmux server (that user's socket). */
async function farScreen(name: string): Promise<string> {
  const r = await far!.run(['tmux', '-L', SOCKET, 'capture-pane', '-p', '-J', '-S', '-200', '-t', `=${name}:`]);
  return r.stdout;
}

before(async () => {
  if (skip) return;
  cfgDir = mkdtempSync(join(tmpdir(), `mfh-${id}-`));
  // The network: a namespace, a veth pair, a /30, links up.
  net = freeNet();
  farAddr = `${net}.2`;
  must([IP!, 'netns', 'add', NS]);
  made.netns = true;
  must([IP!, 'link', 'add', VETH_HOST, 'type', 'veth', 'peer', 'name', VETH_NS]);
  made.veth = true;
  must([IP!, 'link', 'set', VETH_NS, 'netns', NS]);
  must([IP!, 'addr', 'add', `${net}.1/30`, 'dev', VETH_HOST]);
  must([IP!, 'link', 'set', VETH_HOST, 'up']);
  must([IP!, '-n', NS, 'addr', 'add', `${farAddr}/30`, 'dev', VETH_NS]);
  must([IP!, '-n', NS, 'link', 'set', VETH_NS, 'up']);
  must([IP!, '-n', NS, 'link', 'set', 'lo', 'up']);

  // The two users: the client (its fleet local) and the far host's.
  local = await setUpE2E('mfhl');
  assert.equal((await local.install('--no-demo')).code, 0);
  far = await createUserManager({ prefix: 'mfhf' });
  must(['usermod', '-p', '*', far.user]); // a locked account (!) is refused by sshd even with a key

  // Keys made for this run: the client's, and the far host's.
  const lssh = join(local.um.home, '.ssh');
  await local.um.run(['mkdir', '-m', '700', '-p', lssh]);
  assert.equal((await local.um.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', join(lssh, 'id_ed25519')])).code, 0);
  must(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', join(cfgDir, 'host_ed25519')]);
  const fssh = join(far.home, '.ssh');
  await far.run(['mkdir', '-m', '700', '-p', fssh]);
  assert.equal((await far.run(['tee', join(fssh, 'authorized_keys')], { input: readFileSync(join(lssh, 'id_ed25519.pub'), 'utf8') })).code, 0);
  await far.run(['chmod', '600', join(fssh, 'authorized_keys')]);

  // sshd, in the namespace, with its own key and pid file; the far user's runtime dir
  // given as pam_systemd would give it on a real host (here PAM is off).
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  writeFileSync(
    join(cfgDir, 'sshd_config'),
    [
      'Port 22',
      // stranger's port: another connection (ControlPath's %C hashes host, port and user), so its key is checked.
      'Port 2222',
      `ListenAddress ${farAddr}`,
      `HostKey ${join(cfgDir, 'host_ed25519')}`,
      `PidFile ${join(cfgDir, 'sshd.pid')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'PubkeyAuthentication yes',
      'AuthorizedKeysFile .ssh/authorized_keys',
      `AllowUsers ${far.user}`,
      `SetEnv XDG_RUNTIME_DIR=/run/user/${far.uid}`,
      'MaxStartups 100',
      'MaxSessions 100',
      '',
    ].join('\n'),
  );
  startSshd();
  assert.ok(await sshdListening(), `sshd did not listen on ${farAddr}:22: ${existsSync(join(cfgDir, 'sshd.log')) ? readFileSync(join(cfgDir, 'sshd.log'), 'utf8') : ''}`);

  // The client's ssh config and known_hosts (pinned); `stranger` is the same box with no known key.
  const hostKey = readFileSync(join(cfgDir, 'host_ed25519.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
  await local.write(join(lssh, 'known_hosts'), `${farAddr} ${hostKey}\n`);
  await local.write(join(lssh, 'known_hosts_none'), '');
  await local.write(
    join(lssh, 'config'),
    [
      'Host far',
      `  HostName ${farAddr}`,
      `  User ${far.user}`,
      '  IdentityFile ~/.ssh/id_ed25519',
      '  UserKnownHostsFile ~/.ssh/known_hosts',
      'Host stranger',
      `  HostName ${farAddr}`,
      `  User ${far.user}`,
      '  IdentityFile ~/.ssh/id_ed25519',
      '  Port 2222',
      '  UserKnownHostsFile ~/.ssh/known_hosts_none',
      '',
    ].join('\n'),
  );
  await local.um.run(['chmod', '600', join(lssh, 'config')]);
  rosterPath = join(local.um.home, '.config', 'mosaic', 'fleet', 'roster.yaml');
});

after(async () => {
  // Each step on its own, so one failure does not leave the others behind.
  const steps: Array<[string, () => unknown]> = [
    ['sshd', () => stopSshd()],
    ['far user', () => far?.destroy()],
    ['local user', () => local?.close()],
    ['veth', () => made.veth && run([IP!, 'link', 'delete', VETH_HOST])],
    ['netns', () => made.netns && run([IP!, 'netns', 'delete', NS])],
    ['config', () => cfgDir && rmSync(cfgDir, { recursive: true, force: true })],
  ];
  for (const [what, fn] of steps) {
    try {
      await fn();
    } catch (err) {
      process.stderr.write(`hosts test: cleaning up ${what} failed: ${String(err)}\n`);
    }
  }
});

const ROSTER = (farHostOf: string) => `defaults: { runtime: shell }
hosts:
  far: { ssh: far }
  stranger: { ssh: stranger }
agents:
  here: {}
  there: { host: ${farHostOf} }
`;

test('hosts install puts the toolkit on the far host over ssh; hosts lists it reachable with its version', { skip, timeout: 300_000 }, async () => {
  await local!.write(rosterPath, ROSTER('far'));
  // From the installed toolkit (its release carries install.sh), as a user runs it.
  const inst = await local!.um.run([join(local!.um.home, '.local', 'bin', 'mosaic-agent'), 'hosts', 'install', 'far'], { timeoutMs: 240_000 });
  assert.equal(inst.code, 0, `${inst.stdout}\n${inst.stderr}`);
  assert.match(inst.stdout, /^far: installed/m);
  assert.equal((await far!.run([join(far!.home, '.local', 'bin', 'mosaic-agent'), '--version'])).code, 0);
  const hosts = await tool('mosaic-agent', ['hosts', '--json']);
  const rows = JSON.parse(hosts.stdout) as Array<{ host: string; reachable: boolean; version: string | null; agents: number; error?: string }>;
  const farRow = rows.find((r) => r.host === 'far')!;
  assert.equal(farRow.reachable, true, farRow.error);
  assert.match(farRow.version ?? '', /\d+\.\d+\.\d+/);
  assert.equal(farRow.agents, 1);
  // stranger: the same box with no known key, refused with the fix.
  const strangerRow = rows.find((r) => r.host === 'stranger')!;
  assert.equal(strangerRow.reachable, false);
  assert.match(strangerRow.error ?? '', /not in known_hosts/);
});

test('apply puts the remote agent on its host (env file 0600 there, its unit started there) and the local one here', { skip, timeout: 180_000 }, async () => {
  await local!.write(rosterPath, ROSTER('far'));
  const r = await tool('mosaic-agent', ['apply'], { timeoutMs: 120_000 });
  // stranger (no agents, but every host is asked for stale copies) does not answer: exit 1, naming it; the others are applied.
  assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, /stranger: nothing applied there: .*not in known_hosts/);
  assert.match(r.stdout, /^local:\n  create  here: /m);
  assert.match(r.stdout, /^far:\n  create  there: /m);
  const envFile = join(far!.home, '.config', 'mosaic', 'fleet', 'agents', 'there.env');
  const st = await far!.run(['stat', '-c', '%a', envFile]);
  assert.equal(st.stdout.trim(), '600');
  assert.equal(existsSync(join(local!.um.home, '.config', 'mosaic', 'fleet', 'agents', 'there.env')), false, 'the remote agent has no env file here');
  await waitFor(async () => (await far!.systemctl('is-active', 'mosaic-agent@there')).stdout.trim() === 'active', { timeoutMs: 30_000 });
  await waitFor(async () => (await local!.um.systemctl('is-active', 'mosaic-agent@here')).stdout.trim() === 'active', { timeoutMs: 30_000 });
});

test('agent-send to the remote shell agent delivers awkward text exactly, through its host\'s own agent-send', { skip, timeout: 120_000 }, async () => {
  // The shell runs the message: printf prints its argument back, byte for byte.
  const payload = `it's "q" $HOME \`id\` $(id) \\back; & | * ~ #x !y`;
  const marker = `M${randomBytes(4).toString('hex')}`;
  const msg = `printf '%s\\n' ${shQuote(marker + ' ' + payload)}`;
  await waitFor(async () => (await farScreen('there')) !== '', { timeoutMs: 30_000 });
  const r = await tool('agent-send', ['there', msg]);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /there: delivered/);
  await waitFor(async () => (await farScreen('there')).split('\n').some((l) => l === `${marker} ${payload}`), { timeoutMs: 15_000 });
  // On stdin too, and a local agent in the same call.
  const r2 = await tool('agent-send', ['here,there', '-'], { input: `echo both-${marker}` });
  assert.equal(r2.code, 0, `${r2.stdout}\n${r2.stderr}`);
  await waitFor(async () => (await farScreen('there')).includes(`\nboth-${marker}`), { timeoutMs: 15_000 });
  // Exit codes come back as the remote gave them: a usage error there is 2 here.
  const bad = await tool('agent-send', ['there', 'bad \x1b escape']);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /ESC/);
});

test('status shows both hosts\' agents; a stopped sshd makes the far ones unreachable within the bound, the local one normal', { skip, timeout: 180_000 }, async () => {
  const s = await tool('mosaic-agent', ['status', '--json']);
  assert.equal(s.code, 0, s.stderr);
  const st = JSON.parse(s.stdout) as { agents: Array<{ name: string; host?: string; activity: string; session: boolean }>; hosts: Array<{ host: string; reachable: boolean }> };
  const there = st.agents.find((a) => a.name === 'there');
  assert.equal(there?.host, 'far');
  assert.equal(there?.session, true);
  assert.equal(st.agents.find((a) => a.name === 'here')?.session, true);
  const text = await tool('mosaic-agent', ['status']);
  assert.match(text.stdout, /^there\s+far\s+active/m);

  await stopSshd();
  const started = Date.now();
  const down = await tool('mosaic-agent', ['status', '--json']);
  const took = Date.now() - started;
  assert.equal(down.code, 0, down.stderr);
  const dst = JSON.parse(down.stdout) as typeof st;
  assert.equal(dst.agents.find((a) => a.name === 'there')?.activity, 'unreachable');
  assert.equal(dst.agents.find((a) => a.name === 'here')?.session, true);
  assert.equal(dst.hosts.find((h) => h.host === 'far')?.reachable, false);
  // The bound: ConnectTimeout (2 s here) plus 5 s, and Node's start.
  assert.ok(took < 12_000, `status took ${took} ms with the far host down`);
  // A send to it: not delivered, exit 1, naming the host.
  const send = await tool('agent-send', ['there', 'echo nope']);
  assert.equal(send.code, 1, send.stderr);
  assert.match(send.stderr, /host far/);
  startSshd();
  assert.ok(await sshdListening());
  // A host that says nothing at all (its link down: no refusal, no answer) is bounded the same way.
  assert.equal((await tool('mosaic-agent', ['status', '--json'])).code, 0);
  must([IP!, '-n', NS, 'link', 'set', VETH_NS, 'down']);
  try {
    const t0 = Date.now();
    const silent = await tool('mosaic-agent', ['status', '--json']);
    const silentMs = Date.now() - t0;
    const sst = JSON.parse(silent.stdout) as typeof st;
    assert.equal(sst.agents.find((a) => a.name === 'there')?.activity, 'unreachable');
    assert.equal(sst.agents.find((a) => a.name === 'here')?.session, true);
    assert.ok(silentMs < 12_000, `status took ${silentMs} ms with the far host silent`);
  } finally {
    must([IP!, '-n', NS, 'link', 'set', VETH_NS, 'up']);
    assert.ok(await sshdListening(), 'the far host came back');
  }
});

test('an unknown host key is refused with the fix printed, and nothing is sent', { skip, timeout: 120_000 }, async () => {
  await local!.write(rosterPath, ROSTER('stranger'));
  const marker = `S${randomBytes(4).toString('hex')}`;
  const r = await tool('agent-send', ['there', `echo ${marker}`]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /host key is not in known_hosts, so nothing was sent there/);
  assert.match(r.stderr, /ssh-keyscan|ssh stranger once/);
  await new Promise((res) => setTimeout(res, 500));
  assert.doesNotMatch(await farScreen('there'), new RegExp(marker));
  await local!.write(rosterPath, ROSTER('far'));
});

test('moving an agent is a roster change plus apply: stopped and removed on the old host, started on the new, and apply says its conversation stays', { skip, timeout: 180_000 }, async () => {
  const moved = ROSTER('far').replace('  there: { host: far }', '  there: { host: local }').replace(/  stranger: .*\n/, '');
  await local!.write(rosterPath, moved);
  const r = await tool('mosaic-agent', ['apply'], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /moved   there: .*stopped and removed here/);
  assert.match(r.stdout, /move    there: far -> local; its conversation stays on far and does not move/);
  assert.equal(existsSync(join(far!.home, '.config', 'mosaic', 'fleet', 'agents', 'there.env')), false);
  assert.notEqual((await far!.systemctl('is-active', 'mosaic-agent@there')).stdout.trim(), 'active');
  await waitFor(async () => (await local!.um.systemctl('is-active', 'mosaic-agent@there')).stdout.trim() === 'active', { timeoutMs: 30_000 });
  // And back.
  await local!.write(rosterPath, moved.replace('  there: { host: local }', '  there: { host: far }'));
  const back = await tool('mosaic-agent', ['apply'], { timeoutMs: 120_000 });
  assert.equal(back.code, 0, `${back.stdout}\n${back.stderr}`);
  assert.match(back.stdout, /move    there: local -> far/);
  await waitFor(async () => (await far!.systemctl('is-active', 'mosaic-agent@there')).stdout.trim() === 'active', { timeoutMs: 30_000 });
  assert.equal(existsSync(join(local!.um.home, '.config', 'mosaic', 'fleet', 'agents', 'there.env')), false);
});

function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

