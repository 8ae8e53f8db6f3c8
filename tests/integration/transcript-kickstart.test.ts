// Transcripts, kickstarts and reset on a real tmux server (private socket).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestFleet, waitFor, ROOT, type TestFleet } from '../helpers/fleet.js';
import { startMockOpenAI, writePiConfig, type MockServer } from '../fixtures/mock-openai.js';
import { agentPaneOf } from '../../lib/tmux/tmux.js';
import { inputBoxText } from '../../lib/runtimes/screen.js';

let fleet: TestFleet;
let mock: MockServer;
const PI = { MOSAIC_AGENT_RUNTIME: 'pi', PI_OFFLINE: '1', PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}` };
const log = (name: string) => join(fleet.env.MOSAIC_FLEET_STATE_DIR!, 'logs', `${name}.log`);
const pane = async (name: string) => agentPaneOf((await fleet.tmux.listPanes())!, name)!;

before(async () => {
  fleet = await startTestFleet();
  mock = await startMockOpenAI();
  await writePiConfig(fleet.home, mock.baseUrl);
});
after(async () => {
  await fleet?.close();
  await mock?.close();
});

test('an agent\'s output goes to its transcript, mode 0600, across a restart', async () => {
  await fleet.startAgent('scribe', { MOSAIC_AGENT_RUNTIME: 'shell' });
  const send = await fleet.run('agent-send', ['scribe', 'echo first-$((1+1))']);
  assert.equal(send.code, 0, send.stderr);
  await waitFor(() => existsSync(log('scribe')) && readFileSync(log('scribe'), 'utf8').includes('first-2'), { what: 'the output in the transcript' });
  assert.equal(statSync(log('scribe')).mode & 0o777, 0o600);
  // The agent dies and its unit would start it again: the pane is respawned in place.
  process.kill((await pane('scribe')).panePid, 'SIGKILL');
  await waitFor(async () => (await pane('scribe')).dead, { what: 'the agent to die' });
  const again = await fleet.startAgent('scribe', { MOSAIC_AGENT_RUNTIME: 'shell' });
  assert.equal(again.result.code, 0, again.result.stderr);
  await fleet.run('agent-send', ['scribe', 'echo second-$((2+1))']);
  await waitFor(() => readFileSync(log('scribe'), 'utf8').includes('second-3'), { what: 'the second life in the transcript' });
  const text = readFileSync(log('scribe'), 'utf8');
  assert.ok(text.indexOf('first-2') < text.indexOf('second-3'));
  assert.equal((text.match(/--- mosaic-fleet: agent scribe started/g) ?? []).length, 2);
});

test('mosaic-agent logs prints the transcript as text, or raw, and its last lines', async () => {
  const all = await fleet.run('mosaic-agent', ['logs', 'scribe']);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /first-2[\s\S]*second-3/);
  assert.match(all.stdout, /^first-2$/m);
  assert.equal((all.stdout.match(/^--- mosaic-fleet: agent scribe started .* \(pid \d+, size 200x50\) ---$/gm) ?? []).length, 2);
  assert.ok(!all.stdout.includes('\x1b'), 'no escape codes');
  const raw = await fleet.run('mosaic-agent', ['logs', 'scribe', '--raw']);
  assert.equal(raw.stdout, readFileSync(log('scribe'), 'utf8'));
  const tail = await fleet.run('mosaic-agent', ['logs', 'scribe', '--lines', '3']);
  assert.ok(tail.stdout.split('\n').length <= 4);
  const none = await fleet.run('mosaic-agent', ['logs', 'nobody']);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no agent 'nobody'/);
  mkdirSync(join(fleet.env.MOSAIC_FLEET_CONFIG_DIR!, 'agents'), { recursive: true });
  writeFileSync(join(fleet.env.MOSAIC_FLEET_CONFIG_DIR!, 'agents', 'quiet.env'), 'MOSAIC_AGENT_RUNTIME=shell\n');
  const silent = await fleet.run('mosaic-agent', ['logs', 'quiet']);
  assert.equal(silent.code, 1);
  assert.match(silent.stderr, /agent 'quiet' has no transcript yet/);
});

test('a transcript rotates at its size cap', async () => {
  await fleet.startAgent('chatty', { MOSAIC_AGENT_RUNTIME: 'shell', MOSAIC_AGENT_LOG_MAX_BYTES: '20000' });
  await fleet.run('agent-send', ['chatty', 'for i in $(seq 1 2000); do echo "chatty line $i"; done']);
  await waitFor(() => existsSync(`${log('chatty')}.1`), { what: 'a rotated transcript', timeoutMs: 15_000 });
  // The rotated part is whole the moment it appears (a rename); the new file follows it.
  assert.ok(statSync(`${log('chatty')}.1`).size >= 20000);
  await waitFor(() => existsSync(log('chatty')) && statSync(log('chatty')).size < 20000, { what: 'a new transcript under the cap', timeoutMs: 5000 });
  const both = () => readFileSync(`${log('chatty')}.1`, 'utf8') + readFileSync(log('chatty'), 'utf8');
  await waitFor(() => both().includes('chatty line 2000'), { what: 'the last line in the transcript' });
  // What comes after the rotation goes on in the emptied file.
  const sent = await fleet.run('agent-send', ['chatty', 'echo "after the rotation"']);
  assert.equal(sent.code, 0, sent.stderr);
  // The command's output, not its echo: a line of its own.
  await waitFor(() => /[\r\n]after the rotation\r?\n/.test(readFileSync(log('chatty'), 'utf8')), { what: 'new output in the current transcript' });
});

test('a kickstart is delivered exactly once per start, once the runtime is ready', async () => {
  const env = { ...PI, MOSAIC_AGENT_KICKSTART: 'kickstart: read AGENTS.md' };
  const first = await fleet.startAgent('kicked', env);
  assert.equal(first.result.code, 0, first.result.stderr);
  assert.match(first.result.stdout, /kickstart delivered/);
  assert.deepEqual(await mock.waitForMessages(1, 20_000), ['kickstart: read AGENTS.md']);
  // Adopting the live session (a second start) sends nothing.
  const adopt = await fleet.startAgent('kicked', env);
  assert.match(adopt.result.stdout, /adopted/);
  // A restart after the agent died sends it once more.
  process.kill((await pane('kicked')).panePid, 'SIGKILL');
  await waitFor(async () => (await pane('kicked')).dead, { what: 'pi to die' });
  const restart = await fleet.startAgent('kicked', env);
  assert.equal(restart.result.code, 0, restart.result.stderr);
  await mock.waitForMessages(2, 20_000);
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(mock.userMessages(), ['kickstart: read AGENTS.md', 'kickstart: read AGENTS.md']);
  const logs = await fleet.run('mosaic-agent', ['logs', 'kicked']);
  assert.equal(logs.code, 0, logs.stderr);
  assert.equal((logs.stdout.match(/^ kickstart: read AGENTS\.md$/gm) ?? []).length, 2, logs.stdout);
  assert.ok(!logs.stdout.includes('\x1b'), 'no escape codes');
});

test('reset types pi\'s /new and sees the fresh session', async () => {
  await waitFor(async () => inputBoxText((await fleet.tmux.screen((await pane('kicked')).paneId)).lines) === '', { what: 'pi idle', timeoutMs: 20_000 });
  const r = await fleet.run('mosaic-agent', ['reset', 'kicked']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /kicked: reset \(\/new\)/);
  const n = mock.requests.length;
  await fleet.run('agent-send', ['kicked', 'after the reset']);
  await mock.waitForMessages(3, 20_000);
  // The conversation starts over: the request holds only the new message.
  const body = mock.requests[n]!.body;
  assert.deepEqual(body.messages.filter((m: { role: string }) => m.role === 'user').length, 1);
});

test('read shows the agent\'s screen and history', async () => {
  const r = await fleet.run('mosaic-agent', ['read', 'scribe', '--lines', '500']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /second-3/);
  const bad = await fleet.run('mosaic-agent', ['read', 'nope']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /no agent 'nope'/);
});

test('read ends at the screen\'s last drawn line, and --lines 0 is the visible screen only', async () => {
  const screen = await fleet.run('mosaic-agent', ['read', 'scribe']);
  assert.equal(screen.code, 0, screen.stderr);
  assert.match(screen.stdout, /second-3/);
  assert.doesNotMatch(screen.stdout, /\n[ \t]*\n$/, 'no blank lines at the end');
  const none = await fleet.run('mosaic-agent', ['read', 'scribe', '--lines', '0']);
  assert.equal(none.code, 0, none.stderr);
  assert.equal(none.stdout, screen.stdout);
  const bad = await fleet.run('mosaic-agent', ['read', 'scribe', '--lines=1.5']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--lines "1.5" is not a whole number/);
});

test('attach without a terminal says so and what to do instead', async () => {
  const r = await fleet.run('mosaic-agent', ['attach', 'scribe']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, "mosaic-agent: attach needs a terminal (run it from a terminal, or use 'mosaic-agent read scribe')\n");
});
