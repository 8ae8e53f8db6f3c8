// Typos never create or touch agents (issue #13): every command that takes
// agent names refuses a name the fleet does not know, before any systemctl or
// tmux action. The integration tier has no user manager; a systemctl on PATH
// records every call, to show that none could have started or stopped a unit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestFleet, waitFor, type TestFleet } from '../helpers/fleet.js';
import { agentPaneOf } from '../../lib/tmux/tmux.js';

let fleet: TestFleet;
let calls: string;
let shimPath: string;
const roster = () => join(fleet.env.MOSAIC_FLEET_CONFIG_DIR!, 'roster.yaml');
const ROSTER = 'defaults: { runtime: shell }\nagents:\n  typo1: {}\n  notes: {}\n';

before(async () => {
  fleet = await startTestFleet();
  const shim = join(fleet.dir, 'shim');
  mkdirSync(shim);
  calls = join(fleet.dir, 'systemctl-calls');
  writeFileSync(calls, '');
  // Answers as a machine without a user manager does, after writing down what it was asked.
  writeFileSync(join(shim, 'systemctl'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${calls}'\necho 'Failed to connect to bus: No medium found' >&2\nexit 1\n`);
  chmodSync(join(shim, 'systemctl'), 0o755);
  shimPath = `${shim}:${process.env.PATH}`;
  // Known agents: one in a session, two in the roster only, one with an env file only.
  const { result } = await fleet.startAgent('scribe', { MOSAIC_AGENT_RUNTIME: 'shell' });
  assert.equal(result.code, 0, result.stderr);
  await waitFor(async () => (await fleet.tmux.capture(await paneId('scribe'))).trim() !== '', { what: 'the prompt' });
  mkdirSync(join(fleet.env.MOSAIC_FLEET_CONFIG_DIR!, 'agents'), { recursive: true });
  writeFileSync(roster(), ROSTER);
  writeFileSync(join(fleet.env.MOSAIC_FLEET_CONFIG_DIR!, 'agents', 'nosuch1.env'), 'MOSAIC_AGENT_RUNTIME=shell\n');
});
after(async () => {
  await fleet?.close();
});

async function paneId(name: string): Promise<string> {
  return agentPaneOf((await fleet.tmux.listPanes())!, name)!.paneId;
}

function run(tool: string, ...args: string[]) {
  return fleet.run(tool, args, { env: { PATH: shimPath } });
}

/** The systemctl calls made so far that could have started, stopped or reset a unit. */
function actingCalls(): string[] {
  return readFileSync(calls, 'utf8').split('\n').filter((l) => /\b(start|restart|stop|reset-failed|enable|kill)\b/.test(l));
}

async function sessions(): Promise<string[]> {
  return ((await fleet.tmux.sessionNames()) ?? []).sort();
}

test('reset, restart, stop, start, status, read, attach and logs refuse an unknown name, suggest a near one, and do nothing', async () => {
  const home = readdirSync(fleet.home);
  const cases: Array<[string[], RegExp]> = [
    [['reset', 'nosuch'], /^mosaic-agent: no agent 'nosuch' \(did you mean 'nosuch1'\?\)\n$/],
    [['restart', 'typo2'], /^mosaic-agent: no agent 'typo2' \(did you mean 'typo1'\?\)\n$/],
    [['stop', 'nosuch2'], /^mosaic-agent: no agent 'nosuch2' \(did you mean 'nosuch1'\?\)\n$/],
    [['status', 'nosuch'], /no agent 'nosuch' \(did you mean 'nosuch1'\?\)/],
    [['read', 'nosuch'], /no agent 'nosuch' \(did you mean 'nosuch1'\?\)/],
    [['attach', 'scirbe'], /no agent 'scirbe' \(did you mean 'scribe'\?\)/],
    [['logs', 'note'], /no agent 'note' \(did you mean 'notes'\?\)/],
    [['start', 'qwerty'], /^mosaic-agent: no agent 'qwerty' \('mosaic-agent status' lists the agents; to add one, put it in the roster and run 'mosaic-agent apply'\)\n$/],
  ];
  for (const [args, stderr] of cases) {
    const r = await run('mosaic-agent', ...args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, stderr, args.join(' '));
    assert.equal(r.stdout, '', args.join(' '));
  }
  assert.match(readFileSync(calls, 'utf8'), /list-units/, 'the recording systemctl is the one the tools ran');
  assert.deepEqual(actingCalls(), []);
  assert.deepEqual(await sessions(), ['_holder', 'scribe']);
  assert.deepEqual(readdirSync(join(fleet.env.MOSAIC_FLEET_CONFIG_DIR!, 'agents')), ['nosuch1.env']);
  assert.deepEqual(readdirSync(fleet.home), home, 'nothing was made in HOME');
});

test('with several names, one unknown name refuses them all and stops none', async () => {
  const r = await run('mosaic-agent', 'stop', 'scribe', 'nosuch', 'typo2');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no agents 'nosuch', 'typo2' \(did you mean 'nosuch1' for 'nosuch', 'typo1' for 'typo2'\?\)/);
  assert.deepEqual(actingCalls(), []);
  assert.deepEqual(await sessions(), ['_holder', 'scribe']);
  assert.ok(existsSync(join(fleet.env.MOSAIC_FLEET_RUNTIME_DIR!, 'running', 'scribe')), 'scribe is still recorded as running');
});

test('an invalid name is still bad usage (exit 2), and an unknown command gets a "did you mean"', async () => {
  const bad = await run('mosaic-agent', 'restart', 'a.b');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /invalid agent name "a\.b"/);
  const typo = await run('mosaic-agent', 'stauts');
  assert.equal(typo.code, 2);
  assert.equal(typo.stderr, `mosaic-agent: unknown command "stauts" (did you mean 'status'?)\n`);
  const far = await run('mosaic-agent', 'frobnicate');
  assert.equal(far.code, 2);
  assert.match(far.stderr, /unknown command "frobnicate" \(see mosaic-agent --help\)/);
  assert.deepEqual(actingCalls(), []);
});

test('agent-send refuses an unknown name, also among known ones, and types nothing anywhere', async () => {
  const before = await fleet.tmux.capture(await paneId('scribe'));
  const one = await run('agent-send', 'nosuch', 'hi');
  assert.equal(one.code, 1);
  assert.equal(one.stderr, `agent-send: nosuch: not delivered: no agent 'nosuch' (did you mean 'nosuch1'?)\n`);
  const near = await run('agent-send', 'scirbe', 'echo should-not-run');
  assert.match(near.stderr, /no agent 'scirbe' \(did you mean 'scribe'\?\)/);
  const several = await run('agent-send', 'scribe,nosuch', 'echo should-not-run');
  assert.equal(several.code, 1);
  assert.match(several.stderr, /no agent 'nosuch'/);
  const viaMosaic = await run('mosaic-agent', 'send', 'nosuch', 'hi');
  assert.equal(viaMosaic.code, 1);
  assert.match(viaMosaic.stderr, /^mosaic-agent send: nosuch: not delivered: no agent 'nosuch'/);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(await fleet.tmux.capture(await paneId('scribe')), before);
  assert.deepEqual(actingCalls(), []);
  assert.deepEqual(await sessions(), ['_holder', 'scribe']);
});

test('agent-send to a known agent without a session says it is not running and how to start it', async () => {
  const r = await run('agent-send', 'typo1', 'hi');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^agent-send: typo1: not delivered: agent 'typo1' is not running: it has no session on the fleet's tmux server .*\(start it: mosaic-agent start typo1\)\n$/);
  assert.doesNotMatch(r.stderr, /systemctl/);
});

test('a name given twice gets the message once', async () => {
  const r = await run('agent-send', '--json', 'scribe,scribe', 'echo once-$((20+1))');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).map((row: { agent: string }) => row.agent), ['scribe']);
  await waitFor(async () => (await fleet.tmux.capture(await paneId('scribe'))).includes('\nonce-21'), { what: 'the output' });
  await new Promise((res) => setTimeout(res, 300));
  assert.equal((await fleet.tmux.capture(await paneId('scribe'))).split('\n').filter((l) => l === 'once-21').length, 1);
});

test('a broken or missing roster counts as no agents and fails no command', async () => {
  try {
    writeFileSync(roster(), 'agents: [\n');
    const read = await run('mosaic-agent', 'read', 'scribe');
    assert.equal(read.code, 0, read.stderr);
    const gone = await run('mosaic-agent', 'read', 'typo1');
    assert.match(gone.stderr, /no agent 'typo1'/);
    writeFileSync(roster(), ROSTER.replace('  typo1: {}\n', '  typo1: { colour: blue }\n'));
    assert.match((await run('mosaic-agent', 'reset', 'notes')).stderr, /no agent 'notes'/, 'a roster that apply would refuse counts as none');
    rmSync(roster());
    const missing = await run('mosaic-agent', 'read', 'scribe');
    assert.equal(missing.code, 0, missing.stderr);
    const logs = await run('mosaic-agent', 'logs', 'nosuch1');
    assert.match(logs.stderr, /agent 'nosuch1' has no transcript yet/, 'an env file still makes an agent known');
  } finally {
    writeFileSync(roster(), ROSTER);
  }
  assert.deepEqual(actingCalls(), []);
});
