// Agent events (issue #15) on a real tmux server with real pi and bash
// agents against the mock LLM: the runtimes' own hooks (pi's extension,
// bash's PS0 and PROMPT_COMMAND) report busy and idle with the reply, and
// wait, ask, output and events read them. The other runtimes' hooks are
// tested in tests/runtimes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestFleet, waitFor, ROOT, type TestFleet } from '../helpers/fleet.js';
import { startMockOpenAI, writePiConfig, type MockServer } from '../fixtures/mock-openai.js';
import { agentPaneOf } from '../../lib/tmux/tmux.js';
import { inputBoxText } from '../../lib/runtimes/screen.js';
import { allEvents, appendEvent, eventLogFile, lastEvents, replyOf } from '../../lib/events/event-log.js';
import { agentState } from '../../lib/events/agent-state.js';
import { agentProfile } from '../../lib/runtimes/profiles.js';

let fleet: TestFleet;
let mock: MockServer;
const PI_PATH = `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`;
const PI_VERSION = JSON.parse(readFileSync(join(ROOT, 'node_modules', '@mariozechner', 'pi-coding-agent', 'package.json'), 'utf8')).version as string;
// Quotes, a backslash, unicode and several lines: the reply must come back byte for byte.
const REPLY = `He said "hi" — café ✓ 'q' \\ back\nsecond line <b>&amp;\n\nfourth 🚀`;
let userFiles: Record<string, string>;

async function paneOf(name: string) {
  return agentPaneOf((await fleet.tmux.listPanes())!, name)!;
}

async function piReady(name: string): Promise<boolean> {
  const screen = await fleet.tmux.screen((await paneOf(name)).paneId);
  return inputBoxText(screen.lines) === '';
}

const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

before(async () => {
  fleet = await startTestFleet();
  mock = await startMockOpenAI();
  await writePiConfig(fleet.home, mock.baseUrl);
  // pi records the version whose changelog it showed on its first start: as if it had run before.
  const piSettings = join(fleet.home, '.pi', 'agent', 'settings.json');
  writeFileSync(piSettings, JSON.stringify({ ...JSON.parse(readFileSync(piSettings, 'utf8')), lastChangelogVersion: PI_VERSION }, null, 2) + '\n');
  // The user's own pi extension, which must still run beside the fleet's.
  const ext = join(fleet.home, '.pi', 'agent', 'extensions');
  mkdirSync(ext, { recursive: true });
  writeFileSync(
    join(ext, 'mine.ts'),
    `import { appendFileSync } from 'node:fs';\nexport default function (pi: any) { pi.on('agent_end', () => { appendFileSync(${JSON.stringify(join(fleet.dir, 'mine.log'))}, 'ran\\n'); }); }\n`,
  );
  // The user's own bash prompt hook, which must still run.
  writeFileSync(join(fleet.home, '.bashrc'), `PROMPT_COMMAND='echo x >> ${join(fleet.dir, 'bashrc.log')}'\n`);
  writeFileSync(join(fleet.home, '.profile'), `. ~/.bashrc\n`);
  userFiles = Object.fromEntries(
    ['.pi/agent/settings.json', '.pi/agent/models.json', '.pi/agent/extensions/mine.ts', '.bashrc', '.profile'].map((f) => [f, sha(join(fleet.home, f))]),
  );
  mock.setReply(() => REPLY);
  const pi = await fleet.startAgent('pia', { MOSAIC_AGENT_RUNTIME: 'pi', PATH: PI_PATH, PI_OFFLINE: '1' });
  assert.equal(pi.result.code, 0, pi.result.stderr);
  const sh = await fleet.startAgent('sha', { MOSAIC_AGENT_RUNTIME: 'shell', SHELL: '/bin/bash' });
  assert.equal(sh.result.code, 0, sh.result.stderr);
  const custom = await fleet.startAgent('custom', { MOSAIC_AGENT_RUNTIME: 'shell', MOSAIC_AGENT_COMMAND: 'exec bash --norc -i' });
  assert.equal(custom.result.code, 0, custom.result.stderr);
  await waitFor(() => piReady('pia'), { what: 'pi to draw its editor', timeoutMs: 30_000, intervalMs: 100 });
});

after(async () => {
  await fleet?.close();
  await mock?.close();
});

test('ask prints the reply of a pi agent byte for byte, taken from its extension event', async () => {
  const r = await fleet.run('mosaic-agent', ['ask', 'pia', 'say something tricky']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, REPLY);
  const kinds = allEvents('pia', fleet.env).map((e) => `${e.kind}:${e.via}`);
  assert.deepEqual(kinds.slice(0, 1), ['started:fleet']);
  assert.ok(kinds.includes('busy:pi:agent_start') && kinds.includes('idle:pi:agent_end'), kinds.join(' '));
  assert.ok(kinds.indexOf('busy:pi:agent_start') < kinds.lastIndexOf('idle:pi:agent_end'));
});

test('ask --json says where the reply came from and how long the turn took', async () => {
  const r = await fleet.run('mosaic-agent', ['ask', '--json', 'pia', 'again']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.reply, REPLY);
  assert.equal(out.replySource, 'event');
  assert.equal(out.via, 'pi:agent_end');
  assert.ok(out.turnMs >= 0 && out.turnMs < 60_000, String(out.turnMs));
});

// status itself needs a user manager: tests/e2e/fleet.test.ts runs it on these events.
test('output prints the last reply; the state is the latest event\'s, and since when', async () => {
  const out = await fleet.run('mosaic-agent', ['output', 'pia']);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, REPLY);
  const pane = await paneOf('pia');
  const st = agentState('pia', agentProfile(pane.runtime, pane.profileJson, fleet.env), lastEvents('pia', 16, fleet.env), 'idle', Date.now(), fleet.env);
  assert.equal(st.activity, 'idle');
  assert.equal(st.source, 'event');
  assert.equal(st.via, 'pi:agent_end');
  assert.ok(Date.now() - st.since! < 120_000);
});

test("the user's own pi extension and bash prompt hook still run, and none of their files changed", async () => {
  assert.ok(readFileSync(join(fleet.dir, 'mine.log'), 'utf8').includes('ran'), "the user's extension did not run");
  await waitFor(() => {
    try {
      return readFileSync(join(fleet.dir, 'bashrc.log'), 'utf8').includes('x');
    } catch {
      return false;
    }
  }, { what: "the user's PROMPT_COMMAND" });
  for (const [f, sum] of Object.entries(userFiles)) assert.equal(sha(join(fleet.home, f)), sum, `${f} changed`);
});

test('agent-send --wait returns at the end of the turn; wait --until busy is woken by the event', async () => {
  mock.setDelay(1500);
  try {
    const waiting = fleet.run('mosaic-agent', ['wait', 'pia', '--until', 'busy', '--timeout', '30']);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    const send = await fleet.run('agent-send', ['--wait', 'pia', 'slow one']);
    assert.equal(send.code, 0, send.stderr);
    assert.ok(Date.now() - t0 >= 1500, 'agent-send --wait returned before the reply');
    assert.match(send.stdout, /turn ended \(pi:agent_end/);
    const w = await waiting;
    assert.equal(w.code, 0, w.stderr);
    assert.match(w.stdout, /pia: busy \(pi:agent_start\)/);
  } finally {
    mock.setDelay(0);
  }
});

test('a wait that runs out of time exits 5 and says what the agent is doing', async () => {
  mock.setDelay(4000);
  try {
    const send = await fleet.run('agent-send', ['pia', 'slow again']);
    assert.equal(send.code, 0, send.stderr);
    await waitFor(() => allEvents('pia', fleet.env).at(-1)?.kind === 'busy', { what: 'pi to be busy' });
    const w = await fleet.run('mosaic-agent', ['wait', 'pia', '--timeout', '1']);
    assert.equal(w.code, 5, w.stderr);
    assert.match(w.stderr, /timed out .*pia \(busy\)/);
    const done = await fleet.run('mosaic-agent', ['wait', 'pia', '--timeout', '30']);
    assert.equal(done.code, 0, done.stderr);
  } finally {
    mock.setDelay(0);
  }
});

test('a bash agent reports each command: busy, then idle with its exit status; ask returns what the pane printed', async () => {
  const r = await fleet.run('mosaic-agent', ['ask', '--json', 'sha', 'printf "a b\\nc\\n"; false']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.reply, 'a b\nc');
  assert.equal(out.replySource, 'screen');
  const last = allEvents('sha', fleet.env).filter((e) => e.via.startsWith('bash:')).slice(-2);
  assert.deepEqual(last.map((e) => e.kind), ['busy', 'idle']);
  assert.deepEqual(last[1]!.data, { status: 1 });
  assert.equal(replyOf(last[1]!), undefined);
});

test('an agent run by a command of its own falls back to its screen', async () => {
  const pane = await paneOf('custom');
  assert.equal(agentState('custom', agentProfile(pane.runtime, pane.profileJson, fleet.env), lastEvents('custom', 16, fleet.env), 'idle', Date.now(), fleet.env).source, 'screen');
  const started = allEvents('custom', fleet.env).find((e) => e.kind === 'started');
  assert.deepEqual((started!.data as { hooks: unknown }).hooks, null);
  const r = await fleet.run('mosaic-agent', ['ask', 'custom', 'echo from-custom']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'from-custom');
});

test('events prints the log, and --json the events with their replies; the log is the user\'s alone', async () => {
  const r = await fleet.run('mosaic-agent', ['events', 'pia', '-n', '2', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  assert.equal(lines[1].kind, 'idle');
  assert.equal(lines[1].reply, REPLY);
  const text = await fleet.run('mosaic-agent', ['events', 'pia']);
  assert.match(text.stdout, /busy +pi:agent_start/);
  assert.equal(statSync(eventLogFile('pia', fleet.env)).mode & 0o777, 0o600);
});

test('wait on an agent that is not running exits 1 with the reason; a bad --until is a usage error', async () => {
  const bad = await fleet.run('mosaic-agent', ['wait', 'pia', '--until', 'sleeping']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--until "sleeping" is not a state to wait for/);
  await fleet.startAgent('doomed', { MOSAIC_AGENT_RUNTIME: 'shell', SHELL: '/bin/bash' });
  const waiting = fleet.run('mosaic-agent', ['wait', 'doomed', '--until', 'busy', '--timeout', '30']);
  await new Promise((r) => setTimeout(r, 500));
  await fleet.tmux.run(['kill-session', '-t', '=doomed']);
  const w = await waiting;
  assert.equal(w.code, 1, w.stderr);
  assert.match(w.stderr, /agent 'doomed' (has no session|exited)/);
});

test("an agent whose start lies more than 16 events back is still waited on by its events, not its screen", async () => {
  // As after eight turns: the fleet's `started`, which says the run has hooks, is no longer among the last 16.
  await waitFor(() => allEvents('pia', fleet.env).at(-1)?.kind === 'idle', { what: 'pi to be idle' });
  for (let i = 0; i < 10; i++) {
    appendEvent('pia', 'busy', 'pi:agent_start', null, fleet.env);
    appendEvent('pia', 'idle', 'pi:agent_end', null, fleet.env);
  }
  const w = await fleet.run('mosaic-agent', ['wait', 'pia', '--until', 'idle', '--timeout', '10']);
  assert.equal(w.code, 0, w.stderr);
  assert.equal(w.stdout, 'pia: idle (pi:agent_end)\n');
});
