// Smoke test of the e2e harness: a real systemd --user manager for a throwaway user.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createUserManager, e2eSkipReason, pidsOfUid, type UserManager } from './harness.js';
import { waitFor } from '../helpers/fleet.js';

const skip = e2eSkipReason();
let m: UserManager | undefined;

function mgr(): UserManager {
  assert.ok(m, 'the user manager was not created');
  return m;
}

function userInPasswd(name: string): boolean {
  try {
    execFileSync('getent', ['passwd', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const UNIT = `[Unit]
Description=mosaic-fleet e2e harness smoke unit

[Service]
ExecStart=/bin/sh -c 'echo mfe2e-sleep started; exec sleep 300'
`;

const ENABLED_UNIT = `[Unit]
Description=mosaic-fleet e2e harness unit that comes back after a reboot

[Service]
ExecStart=/bin/sleep 300

[Install]
WantedBy=default.target
`;

async function writeUnit(u: UserManager, name: string, text: string): Promise<void> {
  const w = await u.run(['sh', '-c', 'mkdir -p "$HOME/.config/systemd/user" && cat > "$HOME/.config/systemd/user/$1"', 'sh', name], { input: text });
  assert.equal(w.code, 0, w.stderr);
}

async function isActive(u: UserManager, unit: string): Promise<string> {
  return (await u.systemctl('is-active', unit)).stdout.trim();
}

before(async () => {
  if (!skip) m = await createUserManager();
});

after(async () => {
  await m?.destroy();
});

test('The user manager answers systemctl --user is-system-running.', { skip }, async () => {
  const r = await mgr().systemctl('is-system-running');
  // is-system-running exits non-zero for "degraded"/"starting": only the connection matters here.
  assert.match(r.stdout.trim(), /^(initializing|starting|running|degraded|maintenance|stopping)$/, `stdout=${r.stdout} stderr=${r.stderr}`);
  assert.ok(mgr().managerPid(), 'the manager pid is known');
});

test('Commands run as the throwaway user with a clean environment.', { skip }, async () => {
  const u = mgr();
  const r = await u.run(['env'], { env: { EXTRA: 'yes' } });
  assert.equal(r.code, 0, r.stderr);
  const env = Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  assert.deepEqual(env, {
    HOME: u.home,
    USER: u.user,
    LOGNAME: u.user,
    SHELL: '/bin/bash',
    PATH: '/usr/local/bin:/usr/bin:/bin',
    XDG_RUNTIME_DIR: u.runtimeDir,
    EXTRA: 'yes',
  });
  const id = await u.run(['id', '-u']);
  assert.equal(id.stdout.trim(), String(u.uid));
  const node = await u.run(['node', '-e', 'process.stdout.write(String(process.getuid()))']);
  assert.equal(node.stdout, String(u.uid), node.stderr);
  const cat = await u.run(['cat'], { input: 'piped input' });
  assert.equal(cat.stdout, 'piped input');
});

test('A unit written to ~/.config/systemd/user starts after daemon-reload and shows active.', { skip }, async () => {
  const u = mgr();
  await writeUnit(u, 'mfe2e-sleep.service', UNIT);
  const reload = await u.systemctl('daemon-reload');
  assert.equal(reload.code, 0, reload.stderr);
  const start = await u.systemctl('start', 'mfe2e-sleep.service');
  assert.equal(start.code, 0, `${start.stderr}\n${u.managerLog()}`);
  await waitFor(async () => (await isActive(u, 'mfe2e-sleep.service')) === 'active', { what: 'mfe2e-sleep.service to be active' });
  const pid = Number((await u.systemctl('show', '-p', 'MainPID', '--value', 'mfe2e-sleep.service')).stdout.trim());
  assert.ok(pid > 0 && pidsOfUid(u.uid).includes(pid), `MainPID ${pid} is a live process of uid ${u.uid}`);
  await waitFor(() => u.managerLog().includes('mfe2e-sleep started'), { what: "the unit's output in the manager log" });
});

test('Stopping and restarting the manager works, the manager answers again and enabled units come back.', { skip }, async () => {
  const u = mgr();
  await writeUnit(u, 'mfe2e-enabled.service', ENABLED_UNIT);
  const enable = await u.systemctl('enable', '--now', 'mfe2e-enabled.service');
  assert.equal(enable.code, 0, enable.stderr);
  await waitFor(async () => (await isActive(u, 'mfe2e-enabled.service')) === 'active', { what: 'mfe2e-enabled.service to be active' });
  const before = u.managerPid();
  await u.stopManager();
  assert.equal(u.managerPid(), undefined, 'the manager is gone');
  assert.deepEqual(pidsOfUid(u.uid), [], 'nothing of the uid survives the simulated reboot');
  assert.ok(existsSync(`${u.home}/.config/systemd/user/mfe2e-sleep.service`), 'the user files are kept');
  await u.startManager();
  const after = u.managerPid();
  assert.ok(after && after !== before, `a new manager runs (before ${before}, after ${after})`);
  const r = await u.systemctl('is-system-running');
  assert.match(r.stdout.trim(), /^(initializing|starting|running|degraded|maintenance)$/, `stdout=${r.stdout} stderr=${r.stderr}`);
  assert.equal(await isActive(u, 'mfe2e-sleep.service'), 'inactive', 'a unit that was not enabled does not come back');
  await waitFor(async () => (await isActive(u, 'mfe2e-enabled.service')) === 'active', { what: 'the enabled unit to come back' });
});

test('destroy() removes the user and leaves no process of its uid, and is safe to call twice.', { skip }, async (t) => {
  const u = mgr();
  await u.systemctl('start', 'mfe2e-sleep.service');
  // An orphan outside any unit too: a tmux server started directly (it daemonizes away from us).
  const tmux = await u.run(['tmux', 'new-session', '-d', '-s', 'orphan', 'sleep 300']);
  assert.equal(tmux.code, 0, tmux.stderr);
  await u.destroy();
  await u.destroy();
  assert.equal(userInPasswd(u.user), false, `${u.user} is gone from passwd`);
  assert.deepEqual(pidsOfUid(u.uid), [], `no live process of uid ${u.uid}`);
  // Killed orphans are reaped by PID 1, which may be slow (or, in some containers, never happen): report, don't fail.
  const zombies = pidsOfUid(u.uid, { includeZombies: true });
  if (zombies.length) t.diagnostic(`zombies of uid ${u.uid} not yet reaped by PID 1: ${zombies.join(', ')}`);
  assert.equal(existsSync(u.home), false, 'the home dir is gone');
  assert.equal(existsSync(u.runtimeDir), false, 'the runtime dir is gone');
  assert.equal(existsSync(`/sys/fs/cgroup/systemd/probe-${u.user}`), false, 'the systemd cgroup is gone');
  assert.equal(existsSync(`/sys/fs/cgroup/unified/probe-${u.user}`), false, 'the unified cgroup is gone');
  assert.match(u.managerLog(), /mfe2e-sleep started/, 'the manager log is still readable');
  await assert.rejects(u.run(['true']), /destroyed/);
});
