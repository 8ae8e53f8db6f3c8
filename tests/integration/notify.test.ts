// Notifications (issue #16) from the real dispatcher, on a real tmux server
// with real pi and bash agents against the mock LLM: a command and a webhook
// on loopback hear each change once; a state that does not last is not
// notified; a notifier that hangs or fails changes nothing for the agent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestFleet, waitFor, ROOT, binArgv, type TestFleet } from '../helpers/fleet.js';
import { startMockOpenAI, writePiConfig, type MockServer } from '../fixtures/mock-openai.js';
import { agentPaneOf } from '../../lib/tmux/tmux.js';
import { inputBoxText } from '../../lib/runtimes/screen.js';
import { agentEnvFile } from '../../lib/core/paths.js';
import { appendEvent, lastEvents } from '../../lib/events/event-log.js';
import { NOTIFY_SETTLE_MS } from '../../lib/dispatch/notify.js';

let fleet: TestFleet;
let mock: MockServer;
let dispatcher: ChildProcess;
let dispatcherLog = '';
let hook: Server;
let hookUrl = '';
const posted: Array<Record<string, unknown>> = [];
let notes = '';
const PI_PATH = `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`;
const REPLY = 'all done: "quoted" — ünïcödé\nsecond line';

/** Lines the notifier command wrote: EVENT STATE AGENT reply-file-content. */
function commandLines(): string[] {
  return existsSync(notes) ? readFileSync(notes, 'utf8').split('\n').filter(Boolean) : [];
}

function writeNotify(agent: string, notify: unknown): void {
  const file = agentEnvFile(agent, fleet.env);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, `MOSAIC_AGENT_NOTIFY='${JSON.stringify(notify)}'\n`, { mode: 0o600 });
}

async function piReady(): Promise<boolean> {
  const pane = agentPaneOf((await fleet.tmux.listPanes())!, 'npi')!;
  return inputBoxText((await fleet.tmux.screen(pane.paneId)).lines) === '';
}

before(async () => {
  fleet = await startTestFleet();
  mock = await startMockOpenAI();
  mock.setReply(() => REPLY);
  await writePiConfig(fleet.home, mock.baseUrl);
  notes = join(fleet.dir, 'notes.log');
  const script = join(fleet.dir, 'notifier.sh');
  writeFileSync(script, `#!/bin/sh\nprintf '%s %s %s %s\\n' "$MOSAIC_EVENT" "$MOSAIC_STATE" "$MOSAIC_AGENT" "$(cat "$MOSAIC_REPLY_FILE" | tr '\\n' '|')" >> ${notes}\n`, { mode: 0o755 });
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      posted.push(JSON.parse(body) as Record<string, unknown>);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`;
  const target = [{ command: [script] }, hookUrl];
  writeNotify('npi', { done: target, waiting: target, exited: target });
  // A notifier that hangs and one that fails, on the shell agent.
  writeNotify('nsh', { done: [{ command: ['sleep', '600'] }, { command: ['false'] }, { command: [script] }] });
  const pi = await fleet.startAgent('npi', { MOSAIC_AGENT_RUNTIME: 'pi', PATH: PI_PATH, PI_OFFLINE: '1' });
  assert.equal(pi.result.code, 0, pi.result.stderr);
  const sh = await fleet.startAgent('nsh', { MOSAIC_AGENT_RUNTIME: 'shell', SHELL: '/bin/bash' });
  assert.equal(sh.result.code, 0, sh.result.stderr);
  await waitFor(piReady, { what: 'pi to draw its editor', timeoutMs: 30_000, intervalMs: 100 });
  const [bin, ...args] = binArgv('mosaic-dispatcher', []);
  dispatcher = spawn(bin!, args, { env: fleet.env, stdio: ['ignore', 'ignore', 'pipe'] });
  dispatcher.stderr!.on('data', (d: Buffer) => (dispatcherLog += d.toString()));
  await waitFor(() => dispatcherLog.includes('dispatcher running'), { what: 'the dispatcher', timeoutMs: 10_000 });
});

after(async () => {
  if (dispatcher && dispatcher.exitCode === null) {
    const gone = new Promise((r) => dispatcher.once('exit', r));
    dispatcher.kill('SIGTERM');
    await gone;
  }
  await fleet?.close();
  await mock?.close();
  await new Promise((r) => hook?.close(r));
});

test('a finished turn reaches the command (with the reply in MOSAIC_REPLY_FILE) and the webhook, once', async () => {
  const r = await fleet.run('mosaic-agent', ['ask', 'npi', 'do it']);
  assert.equal(r.code, 0, r.stderr);
  await waitFor(() => commandLines().length >= 1 && posted.length >= 1, { what: 'the notifications', timeoutMs: NOTIFY_SETTLE_MS + 10_000 });
  await new Promise((res) => setTimeout(res, NOTIFY_SETTLE_MS + 500));
  assert.deepEqual(commandLines(), [`done idle npi ${REPLY.replace('\n', '|')}`]);
  assert.equal(posted.length, 1);
  assert.deepEqual([posted[0]!.agent, posted[0]!.event, posted[0]!.state, posted[0]!.reply, posted[0]!.via], ['npi', 'done', 'idle', REPLY, 'pi:agent_end']);
});

test('a waiting state that lasts is notified once; one that ends within the threshold is not', async () => {
  const before = commandLines().length;
  // pi never asks a person: its waiting moments are written as its hooks would write them.
  appendEvent('npi', 'waiting', 'test:approval', { tool_name: 'bash' }, fleet.env);
  appendEvent('npi', 'busy', 'test:approval', null, fleet.env);
  await new Promise((res) => setTimeout(res, NOTIFY_SETTLE_MS + 1000));
  assert.equal(commandLines().length, before, 'a prompt answered at once is not notified');
  appendEvent('npi', 'waiting', 'test:approval', { tool_name: 'bash' }, fleet.env);
  await waitFor(() => commandLines().length === before + 1, { what: 'the waiting notification', timeoutMs: NOTIFY_SETTLE_MS + 10_000 });
  assert.match(commandLines().at(-1)!, /^waiting waiting npi/);
  const hooked = posted.at(-1)!;
  assert.deepEqual([hooked.event, (hooked.details as { tool_name: string }).tool_name], ['waiting', 'bash']);
  appendEvent('npi', 'idle', 'test:approval', null, fleet.env);
  await new Promise((res) => setTimeout(res, NOTIFY_SETTLE_MS + 1000));
});

test('a notifier that hangs or fails changes nothing for the agent, and the failure is logged', async () => {
  const t0 = Date.now();
  for (const cmd of ['echo one', 'echo two']) {
    const r = await fleet.run('mosaic-agent', ['ask', 'nsh', cmd]);
    assert.equal(r.code, 0, r.stderr);
    await new Promise((res) => setTimeout(res, NOTIFY_SETTLE_MS + 300));
  }
  assert.ok(Date.now() - t0 < 20_000, 'the agent was not held up');
  await waitFor(() => commandLines().filter((l) => l.startsWith('done idle nsh')).length === 2, { what: 'both done notifications from the good notifier', timeoutMs: 10_000 });
  await waitFor(() => /nsh: notify done: false failed: exited 1/.test(dispatcherLog), { what: 'the failing notifier logged', timeoutMs: 10_000 });
});

test('an agent that is stopped is notified as exited', async () => {
  const stop = await fleet.run('start-agent-session', ['--stop', 'npi']);
  assert.equal(stop.code, 0, stop.stderr);
  assert.equal(lastEvents('npi', 1, fleet.env)[0]!.kind, 'exited');
  await waitFor(() => commandLines().some((l) => l.startsWith('exited exited npi')), { what: 'the exited notification', timeoutMs: NOTIFY_SETTLE_MS + 10_000 });
  assert.equal(posted.filter((p) => p.event === 'exited').length, 1);
});
