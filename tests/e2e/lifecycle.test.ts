// End to end on a real systemd user manager (a throwaway user, see
// tests/e2e/harness.ts): install.sh as that user, the holder, agent units
// running a real pi against the mock server, restarts, isolation, re-install
// and uninstall.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { e2eSkipReason } from './harness.js';
import { setUpE2E, type E2E } from './setup.js';
import { waitFor } from '../helpers/fleet.js';

const skip = e2eSkipReason();
let e: E2E;

before(async () => {
  if (!skip) e = await setUpE2E('mfe2e');
});
after(async () => {
  await e?.close();
});

const writeAgentEnv = (name: string, text: string) => e.write(join(e.um.home, '.config', 'mosaic', 'fleet', 'agents', `${name}.env`), text);

test('install.sh starts the holder and a demo agent that runs a sent command', { skip }, async () => {
  const r = await e.install();
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /installing the tools/);
  assert.equal(await e.show('mosaic-tmux-holder.service', 'ActiveState'), 'active');
  await waitFor(async () => (await e.sessions()).join(' ') === '_holder demo', { what: 'the demo session', timeoutMs: 20_000 });
  const send = await e.um.run([join(e.um.home, '.local', 'bin', 'agent-send'), 'demo', 'echo hello-from-$((6*7))']);
  assert.equal(send.code, 0, send.stderr);
  await waitFor(async () => (await e.tmux('capture-pane', '-p', '-t', '=demo:')).stdout.includes('hello-from-42'), { what: 'the command output' });
  // The holder's server lives in the holder's cgroup.
  const serverPid = Number((await e.tmux('display-message', '-p', '#{pid}')).stdout.trim());
  assert.equal(serverPid, Number(await e.show('mosaic-tmux-holder.service', 'MainPID')));
});

test('the installed units pass systemd-analyze verify', { skip }, async () => {
  const dir = join(e.um.home, '.config', 'systemd', 'user');
  const r = await e.um.run(['systemd-analyze', '--user', 'verify', join(dir, 'mosaic-tmux-holder.service'), join(dir, 'mosaic-fleet.target'), join(dir, 'mosaic-agent@demo.service')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr.trim(), '');
});

test('a pi agent started by its unit answers a message through the mock', { skip }, async () => {
  await writeAgentEnv('alpha', 'MOSAIC_AGENT_RUNTIME=pi\nPI_OFFLINE=1\n');
  const r = await e.um.systemctl('start', 'mosaic-agent@alpha');
  assert.equal(r.code, 0, r.stderr);
  await waitFor(() => e.piReady('alpha'), { what: 'pi to draw its editor', timeoutMs: 30_000 });
  const send = await e.um.run([join(e.um.home, '.local', 'bin', 'agent-send'), 'alpha', 'hello pi, from e2e']);
  assert.equal(send.code, 0, send.stderr);
  const got = await e.mock.waitForMessages(1, 20_000);
  assert.equal(got.at(-1), 'hello pi, from e2e');
});

test('killing the agent process makes its unit restart it', { skip }, async () => {
  const before = await e.panePid('alpha');
  assert.ok(before);
  const restarts = Number(await e.show('mosaic-agent@alpha.service', 'NRestarts'));
  process.kill(before, 'SIGKILL');
  await waitFor(async () => Number(await e.show('mosaic-agent@alpha.service', 'NRestarts')) > restarts, { what: 'the unit to restart', timeoutMs: 15_000 });
  await waitFor(async () => { const p = await e.panePid('alpha'); return p !== undefined && p !== before; }, { what: 'a new agent process', timeoutMs: 15_000 });
  await waitFor(() => e.piReady('alpha'), { what: 'pi to come back', timeoutMs: 30_000 });
  const n = e.mock.userMessages().length;
  const send = await e.um.run([join(e.um.home, '.local', 'bin', 'agent-send'), 'alpha', 'after the restart']);
  assert.equal(send.code, 0, send.stderr);
  assert.equal((await e.mock.waitForMessages(n + 1, 20_000)).at(-1), 'after the restart');
  assert.equal(await e.show('mosaic-agent@alpha.service', 'ActiveState'), 'active');
});

test('stopping alpha leaves alpha2 and a session on the default socket untouched', { skip }, async () => {
  await writeAgentEnv('alpha2', 'MOSAIC_AGENT_RUNTIME=shell\n');
  assert.equal((await e.um.systemctl('start', 'mosaic-agent@alpha2')).code, 0);
  await waitFor(() => e.panePid('alpha2'), { what: 'alpha2' });
  const alpha2 = await e.panePid('alpha2');
  const other = await e.um.run(['tmux', 'new-session', '-d', '-s', 'alpha', 'sleep 600']);
  assert.equal(other.code, 0, other.stderr);
  const r = await e.um.systemctl('stop', 'mosaic-agent@alpha');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await e.show('mosaic-agent@alpha.service', 'ActiveState'), 'inactive');
  assert.deepEqual(await e.sessions(), ['_holder', 'alpha2', 'demo']);
  assert.equal(await e.panePid('alpha2'), alpha2);
  assert.equal((await e.um.run(['tmux', 'has-session', '-t', '=alpha'])).code, 0);
});

test('a unit for a name tmux would rewrite fails and creates no session', { skip }, async () => {
  for (const bad of ['a.b', 'a:b']) {
    const r = await e.um.systemctl('start', `mosaic-agent@${bad}.service`);
    assert.notEqual(r.code, 0);
  }
  assert.deepEqual(await e.sessions(), ['_holder', 'alpha2', 'demo']);
});

test('re-running install.sh keeps running agents and the holder', { skip }, async () => {
  const demo = await e.panePid('demo');
  const alpha2 = await e.panePid('alpha2');
  const holder = await e.show('mosaic-tmux-holder.service', 'MainPID');
  const r = await e.install();
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /already up to date|already installed/);
  assert.match(r.stderr, /keeping your fleet config/);
  assert.equal(await e.panePid('demo'), demo);
  assert.equal(await e.panePid('alpha2'), alpha2);
  assert.equal(await e.show('mosaic-tmux-holder.service', 'MainPID'), holder);
});

test('a tmux server killed with SIGKILL comes back with every enabled agent', { skip }, async () => {
  const server = Number(await e.show('mosaic-tmux-holder.service', 'MainPID'));
  process.kill(server, 'SIGKILL');
  await waitFor(async () => { const p = Number(await e.show('mosaic-tmux-holder.service', 'MainPID')); return p > 0 && p !== server; }, { what: 'a new tmux server', timeoutMs: 20_000 });
  await waitFor(async () => (await e.panePid('demo')) !== undefined, { what: 'the demo agent back', timeoutMs: 20_000 }).catch(async (err) => {
    const status = await e.um.systemctl('status', '--no-pager', 'mosaic-agent@demo', 'mosaic-tmux-holder', 'mosaic-fleet.target');
    throw new Error(`${err.message}\n${status.stdout}\n${e.um.managerLog().slice(-3000)}`);
  });
  await waitFor(async () => (await e.show('mosaic-agent@demo.service', 'ActiveState')) === 'active', { what: 'the demo unit active' });
  assert.equal((await e.sessions()).filter((s) => s === 'demo').length, 1);
});

test('uninstall removes units and tools, keeps the config and other tmux sessions', { skip }, async () => {
  const r = await e.install('--uninstall');
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await e.um.run(['test', '-e', join(e.um.home, '.config', 'systemd', 'user', 'mosaic-agent@.service')])).code, 1);
  assert.equal((await e.um.run(['test', '-e', join(e.um.home, '.config', 'mosaic', 'tools', 'fleet')])).code, 1);
  assert.equal((await e.um.run(['test', '-f', join(e.um.home, '.config', 'mosaic', 'fleet', 'agents', 'demo.env')])).code, 0);
  assert.deepEqual(await e.sessions(), []);
  assert.equal((await e.um.run(['tmux', 'has-session', '-t', '=alpha'])).code, 0);
});
