// End to end: the roster-driven fleet (mosaic-agent apply, status, logs) on a
// real user manager, installed by install.sh as a throwaway user.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { e2eSkipReason } from './harness.js';
import { setUpE2E, type E2E } from './setup.js';
import { waitFor } from '../helpers/fleet.js';

const skip = e2eSkipReason();
let e: E2E;
let roster: string;
let agentsDir: string;

before(async () => {
  if (skip) return;
  e = await setUpE2E('mfe2f');
  const r = await e.install('--no-demo');
  assert.equal(r.code, 0, r.stderr);
  roster = join(e.um.home, '.config', 'mosaic', 'fleet', 'roster.yaml');
  agentsDir = join(e.um.home, '.config', 'mosaic', 'fleet', 'agents');
  await e.um.run(['mkdir', '-p', join(e.um.home, 'work', 'a'), join(e.um.home, 'work', 'b')]);
});
after(async () => {
  await e?.close();
});

const ROSTER_V1 = `defaults: { runtime: shell, workdir: ~/work }
agents:
  one: { workdir: ~/work/a, env: { GREETING: "hello one" } }
  two: { env: { GREETING: "hello two" } }
  three: { kickstart: "echo kickstarted-three" }
`;

/** ROSTER_V1 after the tests below changed two and dropped three. */
const ROSTER_V2 = ROSTER_V1.replace('hello two', 'hello again').replace(/  three: .*\n/, '');

async function listEnvFiles(): Promise<string> {
  return (await e.um.run(['ls', agentsDir])).stdout.split('\n').filter(Boolean).sort().join(' ');
}

test('apply --dry-run prints the plan and changes nothing', { skip }, async () => {
  await e.write(roster, ROSTER_V1);
  const r = await e.tool('mosaic-agent', 'apply', '--dry-run');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /dry run[\s\S]*create\s+one[\s\S]*create\s+two[\s\S]*create\s+three/);
  assert.equal(await listEnvFiles(), '');
  assert.deepEqual(await e.sessions(), ['_holder']);
});

test('apply starts a roster of three agents with their env files', { skip }, async () => {
  const r = await e.tool('mosaic-agent', 'apply');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await listEnvFiles(), 'one.env three.env two.env');
  const mode = (await e.um.run(['stat', '-c', '%a', join(agentsDir, 'one.env')])).stdout.trim();
  assert.equal(mode, '600');
  await waitFor(async () => (await e.sessions()).join(' ') === '_holder one three two', { what: 'three sessions', timeoutMs: 20_000 });
  for (const n of ['one', 'two', 'three']) assert.equal(await e.show(`mosaic-agent@${n}.service`, 'UnitFileState'), 'enabled');
  const s = await e.tool('agent-send', 'one', 'echo "$GREETING from $PWD"');
  assert.equal(s.code, 0, s.stderr);
  await waitFor(async () => (await e.tmux('capture-pane', '-p', '-t', '=one:')).stdout.includes(`hello one from ${join(e.um.home, 'work', 'a')}`), { what: 'the agent env and workdir' });
  await waitFor(async () => (await e.tmux('capture-pane', '-p', '-t', '=three:')).stdout.includes('kickstarted-three'), { what: 'the kickstart' });
});

test('apply with no change does nothing and says so', { skip }, async () => {
  const pids = [await e.panePid('one'), await e.panePid('two'), await e.panePid('three')];
  const r = await e.tool('mosaic-agent', 'apply');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /nothing to do/);
  assert.deepEqual([await e.panePid('one'), await e.panePid('two'), await e.panePid('three')], pids);
});

test('changing one agent restarts only it, and --prune removes a dropped one', { skip }, async () => {
  const onePid = await e.panePid('one');
  const twoPid = await e.panePid('two');
  await e.write(roster, ROSTER_V2);
  const listed = await e.tool('mosaic-agent', 'apply');
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /update\s+two: .*GREETING/);
  assert.match(listed.stdout, /orphan\s+three: .*--prune/);
  await waitFor(async () => { const p = await e.panePid('two'); return p !== undefined && p !== twoPid; }, { what: 'two restarted' });
  assert.equal(await e.panePid('one'), onePid, 'the unchanged agent kept its pid');
  assert.ok(await e.panePid('three'), 'without --prune the dropped agent keeps running');
  const pruned = await e.tool('mosaic-agent', 'apply', '--prune');
  assert.equal(pruned.code, 0, pruned.stderr);
  assert.match(pruned.stdout, /prune\s+three/);
  assert.equal(await e.show('mosaic-agent@three.service', 'ActiveState'), 'inactive');
  assert.equal(await listEnvFiles(), 'one.env two.env');
  assert.equal(await e.panePid('one'), onePid);
});

test('an invalid roster is refused with line and column, and nothing changes', { skip }, async () => {
  const before = (await e.um.run(['cat', join(agentsDir, 'one.env')])).stdout;
  const onePid = await e.panePid('one');
  await e.write(roster, 'agents:\n  one: { runtime: shell, colour: blue }\n  "bad.name": { runtime: shell }\n');
  const r = await e.tool('mosaic-agent', 'apply');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /roster\.yaml has 2 problems:\n  line 2, column \d+: .*colour/);
  assert.match(r.stderr, /^  line 3, column \d+: .*bad\.name/m);
  assert.equal((await e.um.run(['cat', join(agentsDir, 'one.env')])).stdout, before);
  assert.equal(await listEnvFiles(), 'one.env two.env');
  assert.equal(await e.panePid('one'), onePid);
  await e.write(roster, ROSTER_V2);
});

test('an agent started by hand with an env file works and apply leaves it alone', { skip }, async () => {
  await e.write(join(agentsDir, 'manual.env'), 'MOSAIC_AGENT_RUNTIME=shell\n');
  await e.um.run(['chmod', '600', join(agentsDir, 'manual.env')]); // doctor flags env files others can read
  assert.equal((await e.um.systemctl('enable', '--now', 'mosaic-agent@manual')).code, 0);
  await waitFor(() => e.panePid('manual'), { what: 'the manual agent' });
  const pid = await e.panePid('manual');
  const r = await e.tool('mosaic-agent', 'apply', '--prune');
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /manual/);
  assert.equal(await e.panePid('manual'), pid);
});

test('status shows the holder and every agent, as a table and as JSON', { skip }, async () => {
  const t = await e.tool('mosaic-agent', 'status');
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /^holder: active \(running\)/);
  assert.match(t.stdout, /one\s+active\/running\s+yes\s+shell\s+\d+/);
  const j = await e.tool('mosaic-agent', 'status', '--json');
  const st = JSON.parse(j.stdout);
  assert.equal(st.holder.server, true);
  const one = st.agents.find((a: { name: string }) => a.name === 'one');
  assert.deepEqual([one.unit.active, one.session, one.runtime, one.activity], ['active', true, 'shell', 'idle']);
  assert.equal(one.pid, await e.panePid('one'));
  const three = st.agents.find((a: { name: string }) => a.name === 'three');
  assert.equal(three, undefined, 'a pruned agent is gone from the status');
  await e.tool('agent-send', 'two', 'sleep 5');
  await waitFor(async () => JSON.parse((await e.tool('mosaic-agent', 'status', '--json', 'two')).stdout).agents[0].activity === 'busy', { what: 'two busy' });
});

test("an agent's state comes from its shell's events; wait returns on them, and a stop is an exited event that ends a wait with exit 1", { skip }, async () => {
  // two runs `sleep 5` (the test before): its end is a PROMPT_COMMAND event.
  const w = await e.tool('mosaic-agent', 'wait', 'two', '--timeout', '30');
  assert.equal(w.code, 0, w.stderr);
  assert.match(w.stdout, /two: idle \(bash:PROMPT_COMMAND\)/);
  const two = JSON.parse((await e.tool('mosaic-agent', 'status', '--json', 'two')).stdout).agents[0];
  assert.deepEqual([two.activity, two.activitySource, two.activityVia], ['idle', 'event', 'bash:PROMPT_COMMAND']);
  assert.match((await e.tool('mosaic-agent', 'status', 'two')).stdout, /two .* idle \d+s/);
  const waiting = e.tool('mosaic-agent', 'wait', 'one', '--until', 'change', '--timeout', '60');
  await new Promise((r) => setTimeout(r, 1000));
  const stop = await e.tool('mosaic-agent', 'stop', 'one');
  assert.equal(stop.code, 0, stop.stderr);
  const ended = await waiting;
  assert.equal(ended.code, 1, ended.stdout + ended.stderr);
  assert.match(ended.stderr, /agent 'one' (exited|has no session)/);
  const events = (await e.tool('mosaic-agent', 'events', 'one', '--json')).stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual([events.at(-1).kind, events.at(-1).data.reason], ['exited', 'stopped']);
  assert.equal(events[0].kind, 'started');
  const start = await e.tool('mosaic-agent', 'start', 'one');
  assert.equal(start.code, 0, start.stderr);
  await waitFor(async () => (await e.sessions()).includes('one'), { what: 'one back' });
});

test('a killed agent gives an exited event, which ends a wait on it with exit 1, and its restart a started one', { skip }, async () => {
  const pid = await e.panePid('two');
  const waiting = e.tool('mosaic-agent', 'wait', 'two', '--until', 'busy', '--timeout', '60');
  await new Promise((r) => setTimeout(r, 1000));
  process.kill(pid!, 'SIGKILL');
  const w = await waiting;
  assert.equal(w.code, 1, w.stdout + w.stderr);
  assert.match(w.stderr, /agent 'two' (exited|has no session)/);
  await waitFor(async () => {
    const events = (await e.tool('mosaic-agent', 'events', 'two', '--json')).stdout.trim().split('\n').map((l) => JSON.parse(l));
    const exited = events.map((x: { kind: string }) => x.kind).lastIndexOf('exited');
    return exited >= 0 && events[exited].data.reason === 'ended by itself' && events.slice(exited).some((x: { kind: string; via: string }) => x.kind === 'started' && x.via === 'fleet');
  }, { what: 'exited, then started again', timeoutMs: 30_000 });
  await waitFor(async () => (await e.panePid('two')) !== pid && (await e.panePid('two')) !== undefined, { what: 'two back', timeoutMs: 30_000 });
});

test('status --watch redraws when an agent reports a turn, well before its 5 s refresh', { skip }, async () => {
  const watching = e.um.run(['timeout', '-s', 'INT', '4', join(e.um.home, '.local', 'bin', 'mosaic-agent'), 'status', '--watch', 'two'], { timeoutMs: 30_000 });
  await new Promise((r) => setTimeout(r, 1500));
  await e.tool('agent-send', 'two', 'sleep 1');
  const out = await watching;
  // Not a terminal: each drawing follows the last. The first shows idle; one drawn on the event shows busy.
  const drawings = out.stdout.split(/\n(?=holder: )/).filter((d) => d.trim() !== '');
  assert.ok(drawings.length >= 2, out.stdout + out.stderr);
  assert.match(drawings[0]!, /two .* idle/);
  assert.ok(drawings.slice(1).some((d) => /two .* busy/.test(d)), out.stdout);
});

test('status lists a roster agent that was never applied as not applied', { skip }, async () => {
  await e.write(roster, `${ROSTER_V2}  later: {}\n`);
  try {
    const t = await e.tool('mosaic-agent', 'status');
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /^later\s+not applied\s+no\s+-\s+-\s+-\s+0\s+0\s+not applied$/m);
    const st = JSON.parse((await e.tool('mosaic-agent', 'status', '--json')).stdout);
    const later = st.agents.find((a: { name: string }) => a.name === 'later');
    assert.deepEqual([later.applied, later.unit.active, later.activity, later.session], [false, 'not applied', 'not applied', false]);
    assert.equal(st.agents.find((a: { name: string }) => a.name === 'one').applied, true);
    assert.equal(JSON.parse((await e.tool('mosaic-agent', 'status', '--json', 'later')).stdout).agents[0].activity, 'not applied');
  } finally {
    await e.write(roster, ROSTER_V2);
  }
});

test('a typo of an agent name is refused and makes no unit, session or agent', { skip }, async () => {
  const before = await e.sessions();
  const reset = await e.tool('mosaic-agent', 'reset', 'nosuch');
  assert.equal(reset.code, 1);
  assert.match(reset.stderr, /no agent 'nosuch'/);
  const restart = await e.tool('mosaic-agent', 'restart', 'onee');
  assert.equal(restart.code, 1);
  assert.match(restart.stderr, /no agent 'onee' \(did you mean 'one'\?\)/);
  const send = await e.tool('agent-send', 'tow', 'echo should-not-run');
  assert.equal(send.code, 1);
  assert.match(send.stderr, /no agent 'tow' \(did you mean 'two'\?\)/);
  for (const n of ['nosuch', 'onee', 'tow']) assert.equal(await e.show(`mosaic-agent@${n}.service`, 'ActiveState'), 'inactive', n);
  assert.deepEqual(await e.sessions(), before);
  assert.equal((await e.tool('mosaic-agent', 'status', 'one')).code, 0, 'a known name still works');
});

test('doctor passes on a healthy fleet (linger aside: this machine has no logind)', { skip }, async () => {
  const r = await e.tool('mosaic-agent', 'doctor');
  const fails = r.stdout.split('\n').filter((l) => l.startsWith('FAIL'));
  assert.deepEqual(fails.map((l) => l.split(':')[0]), ['FAIL linger'], r.stdout);
  assert.match(r.stdout, /FAIL linger: not enabled for mfe2f-\w+ \(no \/var\/lib\/systemd\/linger\/mfe2f-\w+; loginctl could not tell/);
  assert.equal(r.code, 1);
  for (const name of ['tmux', 'tmux server', 'node', 'user manager', 'units', 'holder', 'socket']) assert.match(r.stdout, new RegExp(`^ok +${name}:`, 'm'));
});

test('without logind, doctor reads linger from logind\'s own file', { skip }, async () => {
  const dir = '/var/lib/systemd/linger';
  const made = !existsSync(dir);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, e.um.user), '');
  try {
    const r = await e.tool('mosaic-agent', 'doctor');
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, new RegExp(`^ok +linger: enabled for ${e.um.user} \\(${dir}/${e.um.user}`, 'm'));
  } finally {
    rmSync(join(dir, e.um.user), { force: true });
    if (made) rmSync(dir, { recursive: true, force: true });
  }
});

test('doctor names each problem of a broken fleet with its fix', { skip }, async () => {
  const env = join(agentsDir, 'ghost.env');
  const cmdEnv = join(agentsDir, 'ghostcmd.env');
  await e.write(env, 'MOSAIC_AGENT_RUNTIME=no-such-runtime\n');
  await e.write(cmdEnv, "MOSAIC_AGENT_RUNTIME=shell\nMOSAIC_AGENT_COMMAND='no-such-program --provider x'\n");
  await e.um.run(['chmod', '644', env]);
  await e.um.run(['chmod', '600', cmdEnv]);
  try {
    const r = await e.tool('mosaic-agent', 'doctor');
    assert.equal(r.code, 1);
    assert.match(r.stdout, /FAIL agent ghost: .*no-such-runtime.*not found/);
    assert.match(r.stdout, /FAIL agent ghostcmd: .*'no-such-program' not found on the agent PATH \(.*\.local\/bin/);
    assert.match(r.stdout, /FAIL env files: [\s\S]*fix: chmod 600 .*ghost\.env/);
  } finally {
    await e.um.run(['rm', '-f', env, cmdEnv]);
  }
});

test('a shell agent and a command agent run the fleet\'s tools from inside (the fleet\'s PATH survives a login shell)', { skip }, async () => {
  const marker = join(e.um.home, 'work', 'cmd-version');
  await e.write(roster, `${ROSTER_V2}  pathsh: {}\n  pathcmd: { command: "mosaic-agent --version > ${marker}; until agent-send pathsh 'echo sent-by-$((6*7))'; do sleep 0.5; done; exec sleep 1000" }\n`);
  try {
    const r = await e.tool('mosaic-agent', 'apply');
    assert.equal(r.code, 0, r.stderr);
    await waitFor(async () => (await e.tmux('capture-pane', '-p', '-t', '=pathsh:')).stdout.includes('sent-by-42'), { what: 'agent-send from the command agent', timeoutMs: 20_000 });
    assert.match((await e.um.run(['cat', marker])).stdout, /\d+\.\d+/);
    const s = await e.tool('agent-send', 'pathsh', 'mosaic-agent --version && agent-send pathsh "echo inner-$((40+3))"');
    assert.equal(s.code, 0, s.stderr);
    await waitFor(async () => (await e.tmux('capture-pane', '-p', '-t', '=pathsh:')).stdout.includes('inner-43'), { what: 'agent-send from the shell agent' });
    // /etc/profile resets PATH; the fleet's rcfile puts the fleet's back in front.
    const path = await e.tool('agent-send', 'pathsh', '[ -n "$MOSAIC_FLEET_PATH" ] && [ "${PATH#"$MOSAIC_FLEET_PATH"}" != "$PATH" ] && echo fleet-path-$((1+1))');
    assert.equal(path.code, 0, path.stderr);
    await waitFor(async () => (await e.tmux('capture-pane', '-p', '-t', '=pathsh:')).stdout.includes('fleet-path-2'), { what: 'the fleet PATH first in the shell' });
  } finally {
    await e.write(roster, ROSTER_V2);
    assert.equal((await e.tool('mosaic-agent', 'apply', '--prune')).code, 0);
  }
});

test('apply refuses a roster agent whose runtime or command is not installed, dry run included, and changes nothing', { skip }, async () => {
  const before = await listEnvFiles();
  await e.write(roster, `${ROSTER_V2}  norun: { runtime: no-such-runtime }\n  nocmd: { command: "no-such-program --provider x" }\n`);
  try {
    for (const args of [['apply', '--dry-run'], ['apply']]) {
      const r = await e.tool('mosaic-agent', ...args);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, /2 agents would not start, so nothing was changed/);
      assert.match(r.stderr, /norun: runtime 'no-such-runtime' .*command 'no-such-runtime' not found on the agent PATH \(.*\.local\/bin/);
      assert.match(r.stderr, /nocmd: command of agent 'nocmd': 'no-such-program' not found on the agent PATH \(/);
    }
    assert.equal(await listEnvFiles(), before);
    for (const n of ['norun', 'nocmd']) assert.equal(await e.show(`mosaic-agent@${n}.service`, 'ActiveState'), 'inactive', n);
  } finally {
    await e.write(roster, ROSTER_V2);
  }
});

test('a start that fails anyway is reported with the start error itself, not systemd\'s', { skip }, async () => {
  await e.write(roster, `${ROSTER_V2}  dies: { command: "sh -c 'echo broken-on-purpose; exit 3'" }\n`);
  try {
    const r = await e.tool('mosaic-agent', 'apply');
    assert.equal(r.code, 1);
    // The status is given once tmux has reaped the agent, which a loaded machine may not have done within the second allowed.
    assert.match(r.stderr, /could not start agents; the start said:\ndies: start-agent-session: agent 'dies' exited (with status 3 )?right after it started; its last lines:\nbroken-on-purpose/);
    assert.doesNotMatch(r.stderr, /control process exited/);
    const again = await e.tool('mosaic-agent', 'restart', 'dies');
    assert.equal(again.code, 1);
    assert.match(again.stderr, /dies: start-agent-session: agent 'dies' exited (with status 3 )?right after it started; its last lines:\nbroken-on-purpose/);
  } finally {
    await e.write(roster, ROSTER_V2);
    assert.equal((await e.tool('mosaic-agent', 'apply', '--prune')).code, 0);
  }
});

test('a submit_delay_ms change takes effect in place, and a busy agent is not restarted without --restart-busy', { skip }, async () => {
  const recordedProfile = async (name: string) => {
    const r = await e.tmux('show-options', '-v', '-t', `=${name}:`, '@mosaic_profile');
    return Buffer.from(r.stdout.trim(), 'base64').toString('utf8');
  };
  const onePid = await e.panePid('one');
  await e.write(roster, ROSTER_V2.replace('one: {', 'one: { submit_delay_ms: 777,'));
  const live = await e.tool('mosaic-agent', 'apply');
  assert.equal(live.code, 0, live.stderr);
  assert.match(live.stdout, /update\s+one: .*MOSAIC_AGENT_SUBMIT_DELAY_MS.*\(in place, no restart\)/);
  assert.equal(await e.panePid('one'), onePid, 'the agent kept its pid');
  assert.equal(await recordedProfile('one'), '{"submit_delay_ms":777}');
  const sent = await e.tool('agent-send', '--json', 'one', 'echo still-$((20+1))');
  assert.equal(sent.code, 0, sent.stderr);
  // The send waited the new delay before its Enter: the change took effect without a restart.
  assert.ok(JSON.parse(sent.stdout)[0].ms >= 777, sent.stdout);
  await waitFor(async () => (await e.tmux('capture-pane', '-p', '-t', '=one:')).stdout.includes('still-21'), { what: 'a send after the change' });

  const twoPid = await e.panePid('two');
  const twoEnv = (await e.um.run(['cat', join(agentsDir, 'two.env')])).stdout;
  assert.equal((await e.tool('agent-send', 'two', 'sleep 60')).code, 0);
  await waitFor(async () => JSON.parse((await e.tool('mosaic-agent', 'status', '--json', 'two')).stdout).agents[0].activity === 'busy', { what: 'two busy' });
  await e.write(roster, ROSTER_V2.replace('hello again', 'hello busy'));
  const dry = await e.tool('mosaic-agent', 'apply', '--dry-run');
  assert.match(dry.stdout, /busy\s+two: .*GREETING.*--restart-busy/);
  const held = await e.tool('mosaic-agent', 'apply');
  assert.equal(held.code, 1);
  assert.match(held.stdout, /busy\s+two: .*not restarted while it works/);
  assert.match(held.stderr, /'two' is busy, so its change was not applied .*--restart-busy/);
  assert.equal(await e.panePid('two'), twoPid, 'the busy agent kept running');
  assert.equal((await e.um.run(['cat', join(agentsDir, 'two.env')])).stdout, twoEnv, 'its env file waits for the restart');
  const forced = await e.tool('mosaic-agent', 'apply', '--restart-busy');
  assert.equal(forced.code, 0, forced.stderr);
  await waitFor(async () => { const p = await e.panePid('two'); return p !== undefined && p !== twoPid; }, { what: 'two restarted' });
  await e.write(roster, ROSTER_V2);
  assert.equal((await e.tool('mosaic-agent', 'apply')).code, 0);
});

test('the transcript survives an agent restart', { skip }, async () => {
  await e.tool('agent-send', 'one', 'echo before-restart-$((40+2))');
  await waitFor(async () => (await e.tool('mosaic-agent', 'logs', 'one')).stdout.includes('before-restart-42'), { what: 'the transcript' });
  process.kill((await e.panePid('one'))!, 'SIGKILL');
  await waitFor(async () => (await e.show('mosaic-agent@one.service', 'ActiveState')) === 'active' && (await e.panePid('one')) !== undefined, { what: 'one back', timeoutMs: 15_000 });
  await e.tool('agent-send', 'one', 'echo after-restart-$((40+3))');
  await waitFor(async () => (await e.tool('mosaic-agent', 'logs', 'one')).stdout.includes('after-restart-43'), { what: 'the transcript after the restart' });
  const log = (await e.tool('mosaic-agent', 'logs', 'one')).stdout;
  assert.ok(log.indexOf('before-restart-42') < log.indexOf('after-restart-43'));
});

test('reset of a runtime without a reset command restarts the agent', { skip }, async () => {
  const pid = await e.panePid('two');
  const r = await e.tool('mosaic-agent', 'reset', 'two');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /two: restarted .*has no reset command/);
  await waitFor(async () => { const p = await e.panePid('two'); return p !== undefined && p !== pid; }, { what: 'two restarted' });
});

test('apply with worktree: true starts a shell agent in a worktree of its own, and --prune keeps it while it holds work', { skip }, async () => {
  const repo = join(e.um.home, 'work', 'repo');
  const tree = join(e.um.home, 'work', 'repo.worktrees', 'wt');
  for (const argv of [['init', '-q', '-b', 'main', repo], ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '-q', '--allow-empty', '-m', 'first']]) {
    const r = await e.um.run(['git', ...argv]);
    assert.equal(r.code, 0, r.stderr);
  }
  await e.write(roster, `${ROSTER_V2}  wt: { workdir: ~/work/repo, worktree: true }\n`);
  try {
    const r = await e.tool('mosaic-agent', 'apply');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`worktree wt: ${tree} made on a new branch agent/wt from main`));
    await waitFor(() => e.panePid('wt'), { what: 'the worktree agent' });
    const s = await e.tool('agent-send', 'wt', 'echo "in:$(pwd):$(git branch --show-current)"');
    assert.equal(s.code, 0, s.stderr);
    await waitFor(async () => (await e.tool('mosaic-agent', 'read', 'wt')).stdout.includes(`in:${tree}:agent/wt`), { what: 'pwd in the worktree' });
    const listed = await e.tool('mosaic-agent', 'worktree', 'wt');
    assert.match(listed.stdout, /^wt\s+made\s+agent\/wt\s+main\s+0\s+0\s+0\s/m);
    const busy = await e.tool('mosaic-agent', 'worktree', 'remove', 'wt');
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, /agent 'wt' runs in its worktree .*stop it first/);
    assert.equal((await e.tool('mosaic-agent', 'apply')).stdout.trim(), 'nothing to do: the fleet matches ' + roster);
    assert.match((await e.tool('mosaic-agent', 'doctor')).stdout, /^ok +git: git version [\d.]+ \(agent wt has a worktree\)$/m);
    await e.write(join(tree, 'wip'), 'unfinished\n');
  } finally {
    await e.write(roster, ROSTER_V2);
  }
  const pruned = await e.tool('mosaic-agent', 'apply', '--prune');
  assert.equal(pruned.code, 0, pruned.stderr);
  assert.match(pruned.stdout, /prune\s+wt/);
  assert.match(pruned.stdout, /kept {4}wt: worktree .*wt: 1 uncommitted file \(mosaic-agent worktree remove wt --force removes it\)/);
  assert.equal((await e.um.run(['cat', join(tree, 'wip')])).stdout, 'unfinished\n');
});

test('uninstall then install brings the same roster and enabled agents back', { skip }, async () => {
  assert.equal((await e.install('--uninstall')).code, 0);
  assert.deepEqual(await e.sessions(), []);
  assert.equal((await e.um.run(['test', '-f', join(e.um.home, 'work', 'repo.worktrees', 'wt', 'wip')])).code, 0, 'uninstall keeps worktrees');
  const r = await e.install();
  assert.equal(r.code, 0, r.stderr);
  await waitFor(async () => (await e.sessions()).join(' ') === '_holder manual one two', { what: 'the fleet back', timeoutMs: 30_000 });
});
