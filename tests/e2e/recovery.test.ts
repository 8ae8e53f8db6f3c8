// After a crash or restart of the holder or its tmux server, exactly what was
// running comes back, enabled or not, and what a person stopped stays stopped;
// a boot brings back the enabled agents; restarts resume the agent's own
// conversation; failed and pruned agents (issue #12). Real user manager,
// real units, real pi against the mock server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { e2eSkipReason } from './harness.js';
import { setUpE2E, type E2E } from './setup.js';
import { waitFor } from '../helpers/fleet.js';

const skip = e2eSkipReason();
let e: E2E;
let roster: string;

const unit = (n: string) => `mosaic-agent@${n}.service`;
const active = async (n: string) => (await e.show(unit(n), 'ActiveState')) === 'active' && (await e.panePid(n)) !== undefined;

/** Wait until exactly `up` run and `down` do not, and stay so for a while (nothing comes back late). */
async function settle(up: string[], down: string[]): Promise<void> {
  await waitFor(async () => (await Promise.all(up.map(active))).every(Boolean), { what: `${up.join(', ')} running`, timeoutMs: 30_000 });
  await new Promise((r) => setTimeout(r, 3000));
  for (const n of up) assert.ok(await active(n), `${n} should run`);
  for (const n of down) assert.equal(await e.show(unit(n), 'ActiveState'), 'inactive', `${n} should stay stopped`);
  const sessions = await e.sessions();
  assert.deepEqual(sessions, ['_holder', ...up].sort(), 'one session per running agent, none for a stopped one');
}

before(async () => {
  if (skip) return;
  e = await setUpE2E('mfe2v');
  roster = join(e.um.home, '.config', 'mosaic', 'fleet', 'roster.yaml');
  await e.write(roster, `agents:
  kept: { runtime: shell }
  cx: { runtime: shell }
`);
  const r = await e.install('--no-demo');
  assert.equal(r.code, 0, r.stderr);
  // Two agents that are not in the roster and not enabled, started the two ways a person would.
  const agents = join(e.um.home, '.config', 'mosaic', 'fleet', 'agents');
  await e.write(join(agents, 'alpha2.env'), 'MOSAIC_AGENT_RUNTIME=shell\n');
  await e.write(join(agents, 'beta2.env'), 'MOSAIC_AGENT_RUNTIME=shell\n');
  assert.equal((await e.um.systemctl('start', unit('alpha2'))).code, 0);
  const s = await e.tool('mosaic-agent', 'start', 'beta2');
  assert.equal(s.code, 0, s.stderr);
  // An enabled agent a person stopped.
  const stop = await e.tool('mosaic-agent', 'stop', 'cx');
  assert.equal(stop.code, 0, stop.stderr);
  assert.equal(await e.show(unit('alpha2'), 'UnitFileState'), 'disabled');
  await settle(['kept', 'alpha2', 'beta2'], ['cx']);
});
after(async () => {
  await e?.close();
});

test('after a kill -9 of the tmux server exactly the running agents come back, enabled or not', { skip }, async () => {
  process.kill(Number(await e.show('mosaic-tmux-holder.service', 'MainPID')), 'SIGKILL');
  await waitFor(async () => (await e.show('mosaic-tmux-holder.service', 'ActiveState')) === 'active', { what: 'the holder back', timeoutMs: 20_000 });
  await settle(['kept', 'alpha2', 'beta2'], ['cx']);
});

test('after a restart of the holder exactly the running agents come back, enabled or not', { skip }, async () => {
  const r = await e.um.systemctl('restart', 'mosaic-tmux-holder');
  assert.equal(r.code, 0, r.stderr);
  await settle(['kept', 'alpha2', 'beta2'], ['cx']);
});

test('an agent stopped with systemctl stays stopped after the next server crash', { skip }, async () => {
  assert.equal((await e.um.systemctl('stop', unit('beta2'))).code, 0);
  process.kill(Number(await e.show('mosaic-tmux-holder.service', 'MainPID')), 'SIGKILL');
  await waitFor(async () => (await e.show('mosaic-tmux-holder.service', 'ActiveState')) === 'active', { what: 'the holder back', timeoutMs: 20_000 });
  await settle(['kept', 'alpha2'], ['cx', 'beta2']);
});

test('a restart of the user manager (a boot) starts the enabled agents only', { skip }, async () => {
  await e.um.stopManager();
  await e.um.startManager();
  // cx is enabled: a boot starts it although a person had stopped it; alpha2 was never enabled.
  await settle(['kept', 'cx'], ['alpha2', 'beta2']);
});

/** Apply a roster with an agent 'flaky' whose command exits at once, until its unit gives up (failed). */
async function applyFailingFlaky(): Promise<void> {
  await e.write(roster, `agents:
  kept: { runtime: shell }
  cx: { runtime: shell }
  flaky: { runtime: shell, command: "exit 3" }
`);
  await e.tool('mosaic-agent', 'apply');
  await waitFor(async () => (await e.show(unit('flaky'), 'ActiveState')) === 'failed', { what: 'flaky to end failed', timeoutMs: 60_000 });
}

test('a unit that hit its start limit starts at once once the roster is fixed', { skip }, async () => {
  await applyFailingFlaky();
  await e.write(roster, `agents:
  kept: { runtime: shell }
  cx: { runtime: shell }
  flaky: { runtime: shell }
`);
  const r = await e.tool('mosaic-agent', 'apply');
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  await waitFor(() => active('flaky'), { what: 'flaky running', timeoutMs: 20_000 });
});

test('mosaic-agent start clears a failed state too', { skip }, async () => {
  await e.write(join(e.um.home, '.config', 'mosaic', 'fleet', 'agents', 'byhand.env'), "MOSAIC_AGENT_RUNTIME=shell\nMOSAIC_AGENT_COMMAND='exit 4'\n");
  await e.um.systemctl('start', unit('byhand'));
  await waitFor(async () => (await e.show(unit('byhand'), 'ActiveState')) === 'failed', { what: 'byhand to end failed', timeoutMs: 60_000 });
  await e.write(join(e.um.home, '.config', 'mosaic', 'fleet', 'agents', 'byhand.env'), 'MOSAIC_AGENT_RUNTIME=shell\n');
  const r = await e.tool('mosaic-agent', 'start', 'byhand');
  assert.equal(r.code, 0, r.stderr);
  await waitFor(() => active('byhand'), { what: 'byhand running', timeoutMs: 20_000 });
  assert.equal((await e.tool('mosaic-agent', 'stop', 'byhand')).code, 0);
});

test('a pruned agent that had failed leaves nothing behind in status or doctor', { skip }, async () => {
  await applyFailingFlaky();
  await e.write(roster, `agents:
  kept: { runtime: shell }
  cx: { runtime: shell }
`);
  const r = await e.tool('mosaic-agent', 'apply', '--prune');
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const st = JSON.parse((await e.tool('mosaic-agent', 'status', '--json')).stdout);
  assert.ok(!st.agents.some((a: { name: string }) => a.name === 'flaky'), `flaky still in status: ${JSON.stringify(st.agents.map((a: { name: string }) => a.name))}`);
  const doc = await e.tool('mosaic-agent', 'doctor');
  assert.doesNotMatch(doc.stdout, /flaky/);
});

test('with resume: true, a restart by a person resumes the conversation', { skip }, async () => {
  await e.write(roster, `agents:
  kept: { runtime: shell }
  cx: { runtime: shell }
  res: { runtime: pi, resume: true, env: { PI_OFFLINE: "1" } }
`);
  const r = await e.tool('mosaic-agent', 'apply');
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  await waitFor(() => e.piReady('res'), { what: 'pi ready', timeoutMs: 30_000 });
  let n = e.mock.userMessages().length;
  assert.equal((await e.tool('agent-send', 'res', 'remember the word quince')).code, 0);
  await e.mock.waitForMessages(n + 1, 20_000);
  assert.equal((await e.tool('mosaic-agent', 'restart', 'res')).code, 0);
  await waitFor(() => e.piReady('res'), { what: 'pi ready after restart', timeoutMs: 30_000 });
  n = e.mock.userMessages().length;
  assert.equal((await e.tool('agent-send', 'res', 'what was the word?')).code, 0);
  await e.mock.waitForMessages(n + 1, 20_000);
  assert.ok(JSON.stringify(e.mock.requests.at(-1)!.body.messages).includes('remember the word quince'), 'the restart by a person carried the conversation over');
});

test('after a reset, the next restart resumes the fresh conversation, not the one reset', { skip }, async () => {
  const r = await e.tool('mosaic-agent', 'reset', 'res');
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.equal((await e.tool('mosaic-agent', 'restart', 'res')).code, 0);
  await waitFor(() => e.piReady('res'), { what: 'pi ready after restart', timeoutMs: 30_000 });
  const n = e.mock.userMessages().length;
  assert.equal((await e.tool('agent-send', 'res', 'anything left?')).code, 0);
  await e.mock.waitForMessages(n + 1, 20_000);
  assert.doesNotMatch(JSON.stringify(e.mock.requests.at(-1)!.body.messages), /quince/);
});

test('two pi agents in one workdir each resume their own conversation', { skip }, async () => {
  await e.write(roster, `defaults: { workdir: ~/shared }
agents:
  kept: { runtime: shell }
  cx: { runtime: shell }
  w1: { runtime: pi, resume: true, env: { PI_OFFLINE: "1" } }
  w2: { runtime: pi, resume: true, env: { PI_OFFLINE: "1" } }
`);
  await e.um.run(['mkdir', '-p', join(e.um.home, 'shared')]);
  const r = await e.tool('mosaic-agent', 'apply', '--prune');
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  for (const [agent, word] of [['w1', 'apple'], ['w2', 'banana']] as const) {
    await waitFor(() => e.piReady(agent), { what: `${agent} ready`, timeoutMs: 30_000 });
    const n = e.mock.userMessages().length;
    assert.equal((await e.tool('agent-send', agent, `remember the word ${word}`)).code, 0);
    await e.mock.waitForMessages(n + 1, 20_000);
  }
  // w2 spoke last: a directory-wide "continue the newest" would hand w1 the banana.
  const pid = (await e.panePid('w1'))!;
  process.kill(pid, 'SIGKILL');
  await waitFor(async () => { const p = await e.panePid('w1'); return p !== undefined && p !== pid; }, { what: 'w1 back', timeoutMs: 20_000 });
  await waitFor(() => e.piReady('w1'), { what: 'w1 ready', timeoutMs: 30_000 });
  const n = e.mock.userMessages().length;
  assert.equal((await e.tool('agent-send', 'w1', 'which word?')).code, 0);
  await e.mock.waitForMessages(n + 1, 20_000);
  const texts = JSON.stringify(e.mock.requests.at(-1)!.body.messages);
  assert.match(texts, /apple/);
  assert.doesNotMatch(texts, /banana/);
});
