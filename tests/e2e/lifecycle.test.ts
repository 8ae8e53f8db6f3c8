// End to end on a real systemd user manager (a throwaway user, see
// tests/e2e/harness.ts): install.sh as that user, the holder, agent units
// running a real pi against the mock server, restarts, isolation, re-install
// and uninstall.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, chownSync, readdirSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { createUserManager, e2eSkipReason, waitFor, type UserManager } from './harness.js';
import { startMockOpenAI, writePiConfig, type MockServer } from '../fixtures/mock-openai.js';
import { ROOT } from '../helpers/fleet.js';

const skip = e2eSkipReason();
let um: UserManager;
let mock: MockServer;
let src: string;

const SOCKET = 'mosaic-factory';

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (lstatSync(path).isDirectory()) for (const f of readdirSync(path)) chownTree(join(path, f), uid, gid);
}

async function tmux(...args: string[]) {
  return um.run(['tmux', '-L', SOCKET, ...args]);
}

async function sessions(): Promise<string[]> {
  const r = await tmux('list-sessions', '-F', '#{session_name}');
  return r.code === 0 ? r.stdout.trim().split('\n').sort() : [];
}

async function panePid(name: string): Promise<number | undefined> {
  const r = await tmux('display-message', '-p', '-t', `=${name}:`, '#{pane_pid} #{pane_dead}');
  const [pid, dead] = r.stdout.trim().split(' ');
  return r.code === 0 && dead === '0' ? Number(pid) : undefined;
}

async function show(unit: string, prop: string): Promise<string> {
  return (await um.systemctl('show', '-p', prop, '--value', unit)).stdout.trim();
}

async function writeAgentEnv(name: string, text: string): Promise<void> {
  const dir = join(um.home, '.config', 'mosaic', 'fleet', 'agents');
  await um.run(['mkdir', '-p', dir]);
  const r = await um.run(['tee', join(dir, `${name}.env`)], { input: text });
  assert.equal(r.code, 0, r.stderr);
}

async function piReady(name: string): Promise<boolean> {
  const r = await tmux('capture-pane', '-p', '-t', `=${name}:`);
  return r.code === 0 && (r.stdout.match(/^─{3,}/gm) ?? []).length >= 2;
}

async function install(...args: string[]) {
  return um.run(['bash', join(src, 'install.sh'), ...args], { timeoutMs: 180_000 });
}

before(async () => {
  if (skip) return;
  um = await createUserManager({ prefix: 'mfe2e' });
  mock = await startMockOpenAI();
  // The project as a user would have it, without its sources: install.sh must
  // run from the built tools alone (lib/ absent means no build is attempted).
  src = join(um.home, 'mosaic-fleet');
  mkdirSync(join(src, 'node_modules'), { recursive: true });
  for (const f of ['dist', 'units', 'install.sh', 'package.json', 'README.md']) cpSync(join(ROOT, f), join(src, f), { recursive: true });
  for (const dep of ['yaml', 'minimist']) cpSync(join(ROOT, 'node_modules', dep), join(src, 'node_modules', dep), { recursive: true });
  chownTree(src, um.uid, um.gid);
  await writePiConfig(um.home, mock.baseUrl);
  chownTree(join(um.home, '.pi'), um.uid, um.gid);
  // pi where users install CLIs: ~/.local/bin, which systemd's PATH lacks.
  const piBin = join(ROOT, 'node_modules', '.bin', 'pi');
  await um.run(['mkdir', '-p', join(um.home, '.local', 'bin')]);
  let piTarget = piBin;
  const readable = await um.run(['test', '-x', piBin]);
  if (readable.code !== 0) {
    // The checkout is not readable by the throwaway user: give it its own copy.
    cpSync(join(ROOT, 'node_modules'), join(um.home, 'node_modules'), { recursive: true });
    chownTree(join(um.home, 'node_modules'), um.uid, um.gid);
    piTarget = join(um.home, 'node_modules', '.bin', 'pi');
  }
  await um.run(['ln', '-s', piTarget, join(um.home, '.local', 'bin', 'pi')]);
});

after(async () => {
  await um?.destroy();
  await mock?.close();
});

test('install.sh starts the holder and a demo agent that runs a sent command', { skip }, async () => {
  const r = await install();
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /installing the tools/);
  assert.equal(await show('mosaic-tmux-holder.service', 'ActiveState'), 'active');
  await waitFor(async () => (await sessions()).join(' ') === '_holder demo', { what: 'the demo session', timeoutMs: 20_000 });
  const send = await um.run([join(um.home, '.local', 'bin', 'agent-send'), 'demo', 'echo hello-from-$((6*7))']);
  assert.equal(send.code, 0, send.stderr);
  await waitFor(async () => (await tmux('capture-pane', '-p', '-t', '=demo:')).stdout.includes('hello-from-42'), { what: 'the command output' });
  // The holder's server lives in the holder's cgroup.
  const serverPid = Number((await tmux('display-message', '-p', '#{pid}')).stdout.trim());
  assert.equal(serverPid, Number(await show('mosaic-tmux-holder.service', 'MainPID')));
});

test('the installed units pass systemd-analyze verify', { skip }, async () => {
  const dir = join(um.home, '.config', 'systemd', 'user');
  const r = await um.run(['systemd-analyze', '--user', 'verify', join(dir, 'mosaic-tmux-holder.service'), join(dir, 'mosaic-fleet.target'), join(dir, 'mosaic-agent@demo.service')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr.trim(), '');
});

test('a pi agent started by its unit answers a message through the mock', { skip }, async () => {
  await writeAgentEnv('alpha', 'MOSAIC_AGENT_RUNTIME=pi\nPI_OFFLINE=1\n');
  const r = await um.systemctl('start', 'mosaic-agent@alpha');
  assert.equal(r.code, 0, r.stderr);
  await waitFor(() => piReady('alpha'), { what: 'pi to draw its editor', timeoutMs: 30_000 });
  const send = await um.run([join(um.home, '.local', 'bin', 'agent-send'), 'alpha', 'hello pi, from e2e']);
  assert.equal(send.code, 0, send.stderr);
  const got = await mock.waitForMessages(1, 20_000);
  assert.equal(got.at(-1), 'hello pi, from e2e');
});

test('killing the agent process makes its unit restart it', { skip }, async () => {
  const before = await panePid('alpha');
  assert.ok(before);
  const restarts = Number(await show('mosaic-agent@alpha.service', 'NRestarts'));
  process.kill(before, 'SIGKILL');
  await waitFor(async () => Number(await show('mosaic-agent@alpha.service', 'NRestarts')) > restarts, { what: 'the unit to restart', timeoutMs: 15_000 });
  await waitFor(async () => { const p = await panePid('alpha'); return p !== undefined && p !== before; }, { what: 'a new agent process', timeoutMs: 15_000 });
  await waitFor(() => piReady('alpha'), { what: 'pi to come back', timeoutMs: 30_000 });
  const n = mock.userMessages().length;
  const send = await um.run([join(um.home, '.local', 'bin', 'agent-send'), 'alpha', 'after the restart']);
  assert.equal(send.code, 0, send.stderr);
  assert.equal((await mock.waitForMessages(n + 1, 20_000)).at(-1), 'after the restart');
  assert.equal(await show('mosaic-agent@alpha.service', 'ActiveState'), 'active');
});

test('stopping alpha leaves alpha2 and a session on the default socket untouched', { skip }, async () => {
  await writeAgentEnv('alpha2', 'MOSAIC_AGENT_RUNTIME=shell\n');
  assert.equal((await um.systemctl('start', 'mosaic-agent@alpha2')).code, 0);
  await waitFor(() => panePid('alpha2'), { what: 'alpha2' });
  const alpha2 = await panePid('alpha2');
  const other = await um.run(['tmux', 'new-session', '-d', '-s', 'alpha', 'sleep 600']);
  assert.equal(other.code, 0, other.stderr);
  const r = await um.systemctl('stop', 'mosaic-agent@alpha');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await show('mosaic-agent@alpha.service', 'ActiveState'), 'inactive');
  assert.deepEqual(await sessions(), ['_holder', 'alpha2', 'demo']);
  assert.equal(await panePid('alpha2'), alpha2);
  assert.equal((await um.run(['tmux', 'has-session', '-t', '=alpha'])).code, 0);
});

test('a unit for a name tmux would rewrite fails and creates no session', { skip }, async () => {
  for (const bad of ['a.b', 'a:b']) {
    const r = await um.systemctl('start', `mosaic-agent@${bad}.service`);
    assert.notEqual(r.code, 0);
  }
  assert.deepEqual(await sessions(), ['_holder', 'alpha2', 'demo']);
});

test('re-running install.sh keeps running agents and the holder', { skip }, async () => {
  const demo = await panePid('demo');
  const alpha2 = await panePid('alpha2');
  const holder = await show('mosaic-tmux-holder.service', 'MainPID');
  const r = await install();
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /already up to date|already installed/);
  assert.match(r.stderr, /keeping your fleet config/);
  assert.equal(await panePid('demo'), demo);
  assert.equal(await panePid('alpha2'), alpha2);
  assert.equal(await show('mosaic-tmux-holder.service', 'MainPID'), holder);
});

test('a tmux server killed with SIGKILL comes back with every enabled agent', { skip }, async () => {
  const server = Number(await show('mosaic-tmux-holder.service', 'MainPID'));
  process.kill(server, 'SIGKILL');
  await waitFor(async () => { const p = Number(await show('mosaic-tmux-holder.service', 'MainPID')); return p > 0 && p !== server; }, { what: 'a new tmux server', timeoutMs: 20_000 });
  await waitFor(async () => (await panePid('demo')) !== undefined, { what: 'the demo agent back', timeoutMs: 20_000 }).catch(async (err) => {
    const status = await um.systemctl('status', '--no-pager', 'mosaic-agent@demo', 'mosaic-tmux-holder', 'mosaic-fleet.target');
    throw new Error(`${err.message}\n${status.stdout}\n${um.managerLog().slice(-3000)}`);
  });
  await waitFor(async () => (await show('mosaic-agent@demo.service', 'ActiveState')) === 'active', { what: 'the demo unit active' });
  assert.equal((await sessions()).filter((s) => s === 'demo').length, 1);
});

test('uninstall removes units and tools, keeps the config and other tmux sessions', { skip }, async () => {
  const r = await install('--uninstall');
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await um.run(['test', '-e', join(um.home, '.config', 'systemd', 'user', 'mosaic-agent@.service')])).code, 1);
  assert.equal((await um.run(['test', '-e', join(um.home, '.config', 'mosaic', 'tools', 'fleet')])).code, 1);
  assert.equal((await um.run(['test', '-f', join(um.home, '.config', 'mosaic', 'fleet', 'agents', 'demo.env')])).code, 0);
  assert.deepEqual(await sessions(), []);
  assert.equal((await um.run(['tmux', 'has-session', '-t', '=alpha'])).code, 0);
});
