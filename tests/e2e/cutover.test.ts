// End to end: moving hand-run agents from the default tmux server onto the
// fleet (mosaic-agent cutover), and upgrading the toolkit while agents run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { e2eSkipReason } from './harness.js';
import { setUpE2E, type E2E } from './setup.js';
import { waitFor } from '../helpers/fleet.js';

const skip = e2eSkipReason();
let e: E2E;
let roster: string;
const old = (...args: string[]) => e.um.run(['tmux', ...args]); // the user's default server
const hasOld = async (name: string) => (await old('has-session', '-t', `=${name}`)).code === 0;

const ROSTER = (brokenCommand: string) => `agents:
  alpha: { runtime: pi, resume: true, env: { PI_OFFLINE: "1" } }
  beta: { runtime: shell, kickstart: "echo kicked-beta" }
  broken: { runtime: shell, command: "${brokenCommand}" }
`;

before(async () => {
  if (skip) return;
  e = await setUpE2E('mfe2c');
  const r = await e.install('--no-demo');
  assert.equal(r.code, 0, r.stderr);
  roster = join(e.um.home, '.config', 'mosaic', 'fleet', 'roster.yaml');
  await e.write(roster, ROSTER('exit 3'));
  // Agents started by hand on the default server, the way people run them today.
  const pi = join(e.um.home, '.local', 'bin', 'pi');
  assert.equal((await old('new-session', '-d', '-s', 'alpha', '-x', '200', '-y', '50', '-c', e.um.home, '-e', 'PI_OFFLINE=1', pi)).code, 0);
  assert.equal((await old('new-session', '-d', '-s', 'beta', 'bash')).code, 0);
  assert.equal((await old('new-session', '-d', '-s', 'broken', 'bash')).code, 0);
  assert.equal((await old('new-session', '-d', '-s', 'bystander', 'sleep 3600')).code, 0);
  // A conversation with the hand-run pi that the move must carry over.
  await waitFor(async () => ((await old('capture-pane', '-p', '-t', '=alpha:')).stdout.match(/^─{3,}/gm) ?? []).length >= 2, { what: 'the old pi ready', timeoutMs: 30_000 });
  await old('send-keys', '-t', '=alpha:', '-l', 'remember the word walnut');
  await new Promise((r) => setTimeout(r, 100));
  await old('send-keys', '-t', '=alpha:', 'Enter');
  await e.mock.waitForMessages(1, 20_000);
});
after(async () => {
  await e?.close();
});

test('cutover --dry-run shows what would move and what is left alone, and changes nothing', { skip }, async () => {
  const r = await e.tool('mosaic-agent', 'cutover', '--dry-run');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /alpha\s+would move/);
  assert.match(r.stdout, /beta\s+would move/);
  assert.match(r.stdout, /left alone \(not in the roster\): bystander/);
  assert.deepEqual(await e.sessions(), ['_holder']);
  for (const s of ['alpha', 'beta', 'broken', 'bystander']) assert.ok(await hasOld(s), s);
});

test('cutover moves each agent only once it is ready, and leaves a failing one running where it was', { skip }, async () => {
  const r = await e.tool('mosaic-agent', 'cutover', '--keep-going');
  assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /alpha\s+moved\s+yes\s+yes\s+yes\s+yes/);
  assert.match(r.stdout, /beta\s+moved\s+yes\s+yes\s+yes\s+yes/);
  assert.match(r.stdout, /broken\s+failed\s+no/);
  assert.equal(await hasOld('alpha'), false);
  assert.equal(await hasOld('beta'), false);
  assert.ok(await hasOld('broken'), 'the failed agent keeps its old session');
  assert.ok(await hasOld('bystander'), 'a session not in the roster is never touched');
  // The failed agent's fleet pane stays dead, showing why (mosaic-agent read broken); its unit is stopped.
  assert.deepEqual(await e.sessions(), ['_holder', 'alpha', 'beta', 'broken']);
  assert.equal(await e.panePid('broken'), undefined);
  assert.equal(await e.show('mosaic-agent@broken.service', 'ActiveState'), 'inactive');
  await waitFor(async () => (await e.tmux('capture-pane', '-p', '-t', '=beta:')).stdout.includes('kicked-beta'), { what: 'the kickstart on the fleet' });
});

test('the moved pi agent answers through the mock and kept its conversation', { skip }, async () => {
  const n = e.mock.userMessages().length;
  const r = await e.tool('agent-send', 'alpha', 'what was the word?');
  assert.equal(r.code, 0, r.stderr);
  await e.mock.waitForMessages(n + 1, 20_000);
  const last = e.mock.requests.at(-1)!.body;
  const texts = JSON.stringify(last.messages);
  assert.ok(texts.includes('what was the word?'));
  assert.ok(texts.includes('remember the word walnut'), 'the conversation carried over (pi -c)');
});

test('with resume: true, a pi agent killed and restarted by its unit continues its conversation', { skip }, async () => {
  const pid = (await e.panePid('alpha'))!;
  process.kill(pid, 'SIGKILL');
  await waitFor(async () => { const p = await e.panePid('alpha'); return p !== undefined && p !== pid; }, { what: 'alpha restarted', timeoutMs: 20_000 });
  await waitFor(() => e.piReady('alpha'), { what: 'pi ready again', timeoutMs: 30_000 });
  const n = e.mock.userMessages().length;
  const r = await e.tool('agent-send', 'alpha', 'and after the restart?');
  assert.equal(r.code, 0, r.stderr);
  await e.mock.waitForMessages(n + 1, 20_000);
  const texts = JSON.stringify(e.mock.requests.at(-1)!.body.messages);
  assert.ok(texts.includes('remember the word walnut') && texts.includes('what was the word?'), 'pi -c carried the conversation over the restart');
});

test('re-running cutover continues where it stopped', { skip }, async () => {
  await e.write(roster, ROSTER('bash'));
  const r = await e.tool('mosaic-agent', 'cutover');
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /alpha\s+already moved/);
  assert.match(r.stdout, /broken\s+moved\s+yes/);
  assert.equal(await hasOld('broken'), false);
  assert.ok(await hasOld('bystander'));
  assert.deepEqual(await e.sessions(), ['_holder', 'alpha', 'beta', 'broken']);
});

test('an upgrade while agents run keeps their pids and records the new version; a downgrade is said', { skip }, async () => {
  const pids = await Promise.all(['alpha', 'beta', 'broken'].map((n) => e.panePid(n)));
  const holder = await e.show('mosaic-tmux-holder.service', 'MainPID');
  const pkgPath = join(e.src, 'package.json');
  const original = readFileSync(pkgPath, 'utf8');
  writeFileSync(pkgPath, original.replace(/"version": "[^"]+"/, '"version": "9.9.9"'));
  const up = await e.install();
  assert.equal(up.code, 0, up.stderr);
  assert.match(up.stderr, /already installed \([^)]+\), updating to 9\.9\.9/);
  assert.equal((await e.tool('mosaic-agent', '--version')).stdout.trim(), 'mosaic-agent 9.9.9');
  assert.deepEqual(await Promise.all(['alpha', 'beta', 'broken'].map((n) => e.panePid(n))), pids);
  assert.equal(await e.show('mosaic-tmux-holder.service', 'MainPID'), holder);
  writeFileSync(pkgPath, original);
  const down = await e.install();
  assert.equal(down.code, 0, down.stderr);
  assert.match(down.stderr, /downgrading the tools from 9\.9\.9/);
  assert.deepEqual(await Promise.all(['alpha', 'beta', 'broken'].map((n) => e.panePid(n))), pids);
  assert.ok(await hasOld('bystander'), 'a session on the default socket survives everything');
});
