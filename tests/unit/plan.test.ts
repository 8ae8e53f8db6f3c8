// The apply plan: one action per agent against the env files apply wrote, and
// which updates a running agent takes without a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AgentConfig, Roster } from '../../lib/fleet/roster.js';
import { renderEnvFile } from '../../lib/fleet/env-files.js';
import { LIVE_PROFILE_FIELDS, liveChange, planApply } from '../../lib/fleet/plan.js';

function agent(overrides: Partial<AgentConfig> & { name: string }): AgentConfig {
  return { runtime: 'pi', workdir: '/srv/w', env: {}, enabled: true, resume: false, ...overrides };
}

function rosterOf(...agents: AgentConfig[]): Roster {
  return { file: '/home/u/.config/mosaic/fleet/roster.yaml', agents };
}

test('planApply creates, updates, keeps, disables and lists orphans, never touching hand-made files', () => {
  const old = rosterOf(agent({ name: 'same' }), agent({ name: 'changed', env: { A: '1', GONE: 'x' } }), agent({ name: 'stale' }));
  const current = new Map(old.agents.map((a) => [a.name, renderEnvFile(a, old.file)]));
  const desired = rosterOf(
    agent({ name: 'same' }),
    agent({ name: 'changed', runtime: 'shell', env: { A: '2', NEW: 'y' } }),
    agent({ name: 'fresh' }),
    agent({ name: 'off', enabled: false }),
    agent({ name: 'mine' }),
  );
  const plan = planApply(desired, current, new Set(['mine', 'handonly']));
  assert.deepEqual(
    plan.map((p) => [p.kind, p.name]),
    [
      ['unchanged', 'same'],
      ['update', 'changed'],
      ['create', 'fresh'],
      ['disable', 'off'],
      ['unchanged', 'mine'],
      ['orphan', 'stale'],
    ],
  );
  const reason = (name: string) => plan.find((p) => p.name === name)!.reason;
  assert.equal(reason('changed'), 'changed.env: changed A, MOSAIC_AGENT_RUNTIME; added NEW; removed GONE');
  assert.match(reason('fresh'), /new agent/);
  assert.match(reason('off'), /^enabled: false in the roster; create: /);
  assert.match(reason('mine'), /not written by apply and is left as it is/);
  assert.match(reason('stale'), /no longer in the roster \(removed with --prune\)/);
  assert.ok(!plan.some((p) => p.name === 'handonly'), 'a hand-made file outside the roster gets no action');
});

test('planApply says a new agent\'s env file will be written in a plan, and was written by a real apply', () => {
  const desired = rosterOf(agent({ name: 'fresh' }));
  assert.equal(planApply(desired, new Map(), new Set())[0]!.reason, 'new agent: fresh.env will be written');
  assert.equal(planApply(desired, new Map(), new Set(), true)[0]!.reason, 'new agent: fresh.env written');
});

test('planApply says when only the roster path or the formatting changed', () => {
  const a = agent({ name: 'a' });
  const desired = rosterOf(a);
  const moved = renderEnvFile(a, '/elsewhere/roster.yaml');
  assert.deepEqual(planApply(desired, new Map([['a', moved]]), new Set()), [{ kind: 'update', name: 'a', reason: 'a.env: written from another roster file', live: true }]);
  const reformatted = renderEnvFile(a, desired.file).replace("='pi'", '=pi');
  assert.deepEqual(planApply(desired, new Map([['a', reformatted]]), new Set()), [
    { kind: 'update', name: 'a', reason: 'a.env: edited by hand since apply wrote it (same values, different text)', live: true },
  ]);
});

test('a disabled agent whose file is current is still a disable action', () => {
  const off = agent({ name: 'off', enabled: false });
  const desired = rosterOf(off);
  const plan = planApply(desired, new Map([['off', renderEnvFile(off, desired.file)]]), new Set());
  assert.deepEqual(plan, [{ kind: 'disable', name: 'off', reason: 'enabled: false in the roster; off.env is up to date' }]);
});

/** Whether changing agent `before` into `after` is taken without a restart. */
function live(before: Partial<AgentConfig>, after: Partial<AgentConfig>): boolean {
  return liveChange(renderEnvFile(agent({ name: 'a', ...before }), '/r.yaml'), renderEnvFile(agent({ name: 'a', ...after }), '/r.yaml'));
}

test('a change of submit_delay_ms, or of profile fields that only sending and status read, needs no restart', () => {
  assert.equal(live({}, { submit_delay_ms: 200 }), true);
  assert.equal(live({ submit_delay_ms: 100 }, {}), true);
  assert.equal(live({ profile: { busy: ['Working'] } }, { profile: { busy: ['Thinking'], idle: ['>'], submit_key: 'C-m', clear: [] } }), true);
  assert.equal(live({}, { profile: { reset: '/clear', reset_confirm: 'cleared', bracketed: false, approval: ['Allow?'], input_prompt: '>>', input_placeholder: 'Ask' } }), true);
  assert.equal(live({}, { profile: { submit_delay_ms: 80 } }), true);
});

test('a change of how the agent is launched, its env or its workdir needs a restart', () => {
  assert.equal(live({}, { profile: { launch: ['pi', '--fast'] } }), false);
  assert.equal(live({}, { profile: { resume: ['pi', '-c'] } }), false);
  assert.equal(live({}, { profile: { extends: 'codex' } }), false);
  assert.equal(live({}, { profile: { busy: ['x'], launch: ['pi'] } }), false, 'a live field beside a launch field still restarts');
  assert.equal(live({}, { submit_delay_ms: 10, env: { A: '1' } }), false);
  assert.equal(live({}, { workdir: '/elsewhere' }), false);
  assert.equal(live({}, { runtime: 'shell' }), false);
  assert.equal(live({}, { command: 'pi --x' }), false);
  assert.equal(live({}, { kickstart: 'hello' }), false);
  assert.equal(live({}, { resume: true }), false);
});

test('the fields taken without a restart are exactly those only sending, status and reset read', () => {
  assert.deepEqual([...LIVE_PROFILE_FIELDS].sort(), ['approval', 'bracketed', 'busy', 'clear', 'idle', 'input_placeholder', 'input_prompt', 'reset', 'reset_confirm', 'submit_delay_ms', 'submit_key']);
});

test('planApply marks an update a running agent takes in place', () => {
  const before = rosterOf(agent({ name: 'a' }), agent({ name: 'b' }));
  const current = new Map(before.agents.map((x) => [x.name, renderEnvFile(x, before.file)]));
  const plan = planApply(rosterOf(agent({ name: 'a', submit_delay_ms: 300 }), agent({ name: 'b', env: { X: '1' } })), current, new Set());
  assert.deepEqual(plan.map((p) => [p.name, p.kind, p.live ?? false]), [['a', 'update', true], ['b', 'update', false]]);
});
