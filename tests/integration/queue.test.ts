// The queue (issue #16) on a real tmux server with real pi and bash agents
// and the real dispatcher (dist/bin/mosaic-dispatcher.js, as its unit runs
// it) against the mock LLM: queued messages arrive in order, one per turn,
// each once; an interrupted delivery is unconfirmed and never resent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { startTestFleet, waitFor, ROOT, binArgv, type TestFleet } from '../helpers/fleet.js';
import { startMockOpenAI, writePiConfig, type MockServer } from '../fixtures/mock-openai.js';
import { agentPaneOf } from '../../lib/tmux/tmux.js';
import { inputBoxText } from '../../lib/runtimes/screen.js';
import { agentQueue, queueDir } from '../../lib/dispatch/queue.js';
import { lastEvents } from '../../lib/events/event-log.js';
import { listDir } from '../../lib/core/fsutil.js';

let fleet: TestFleet;
let mock: MockServer;
let dispatcher: ChildProcess | undefined;
let dispatcherLog = '';
const PI_PATH = `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`;

function startDispatcher(): ChildProcess {
  const [bin, ...args] = binArgv('mosaic-dispatcher', []);
  const child = spawn(bin!, args, { env: fleet.env, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (d: Buffer) => (dispatcherLog += d.toString()));
  return child;
}

async function stopDispatcher(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const d = dispatcher;
  dispatcher = undefined;
  if (!d || d.exitCode !== null) return;
  const gone = new Promise((r) => d.once('exit', r));
  d.kill(signal);
  await gone;
}

async function piReady(): Promise<boolean> {
  const pane = agentPaneOf((await fleet.tmux.listPanes())!, 'qpi')!;
  return inputBoxText((await fleet.tmux.screen(pane.paneId)).lines) === '';
}

before(async () => {
  fleet = await startTestFleet();
  mock = await startMockOpenAI();
  await writePiConfig(fleet.home, mock.baseUrl);
  const pi = await fleet.startAgent('qpi', { MOSAIC_AGENT_RUNTIME: 'pi', PATH: PI_PATH, PI_OFFLINE: '1' });
  assert.equal(pi.result.code, 0, pi.result.stderr);
  const sh = await fleet.startAgent('qsh', { MOSAIC_AGENT_RUNTIME: 'shell', SHELL: '/bin/bash' });
  assert.equal(sh.result.code, 0, sh.result.stderr);
  await waitFor(piReady, { what: 'pi to draw its editor', timeoutMs: 30_000, intervalMs: 100 });
  dispatcher = startDispatcher();
  await waitFor(() => dispatcherLog.includes('dispatcher running'), { what: 'the dispatcher to run', timeoutMs: 10_000 });
});

after(async () => {
  await stopDispatcher();
  await fleet?.close();
  await mock?.close();
});

test('messages queued while pi is busy arrive in order, one per turn, each once', async () => {
  mock.setDelay(1500);
  try {
    const before = mock.userMessages().length;
    const busy = await fleet.run('agent-send', ['qpi', 'first, typed now']);
    assert.equal(busy.code, 0, busy.stderr);
    await waitFor(() => lastEvents('qpi', 1, fleet.env)[0]?.kind === 'busy', { what: 'pi busy', timeoutMs: 20_000 });
    const ids: string[] = [];
    for (const n of ['second', 'third', 'fourth']) {
      const r = await fleet.run('agent-send', ['--queue', '--from', 'lead', 'qpi', `${n}, queued`]);
      assert.equal(r.code, 0, r.stderr);
      const m = /qpi: queued as (q[0-9a-f]+)/.exec(r.stdout);
      assert.ok(m, r.stdout);
      ids.push(m[1]!);
    }
    // Each waits for the turn before it: they never reach the model together.
    const got = await mock.waitForMessages(before + 4, 60_000);
    assert.deepEqual(got.slice(before), ['first, typed now', '[from lead]\nsecond, queued', '[from lead]\nthird, queued', '[from lead]\nfourth, queued']);
    const perRequest = mock.requests.filter((q) => q.offersTools).slice(-3).map((q) => q.newUserTexts.length);
    assert.deepEqual(perRequest, [1, 1, 1], 'one message per turn');
    await waitFor(() => agentQueue('qpi', fleet.env).length === 0, { what: 'the queue to empty', timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(mock.userMessages().length, before + 4, 'nothing was delivered twice');
    for (const id of ids) assert.match(dispatcherLog, new RegExp(`qpi: delivered message ${id}`));
  } finally {
    mock.setDelay(0);
  }
});

test('a message queued for an idle agent goes at once; --queue --wait returns after its turn', async () => {
  await waitFor(piReady, { what: 'pi idle', timeoutMs: 20_000 });
  const t0 = Date.now();
  const r = await fleet.run('agent-send', ['--queue', '--wait', 'qpi', 'right away']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /qpi: q[0-9a-f]+ delivered, turn ended \(pi:agent_end/);
  assert.ok(Date.now() - t0 < 15_000);
});

test('queue lists what waits with its id, agent, state and sender, and drop removes one', async () => {
  // A bash agent busy for a while: its queue waits.
  const busy = await fleet.run('agent-send', ['qsh', 'sleep 6']);
  assert.equal(busy.code, 0, busy.stderr);
  await waitFor(() => lastEvents('qsh', 1, fleet.env)[0]?.kind === 'busy', { what: 'the shell busy' });
  const a = await fleet.run('agent-send', ['--queue', '--from', 'ops', 'qsh', 'echo kept-one']);
  const b = await fleet.run('agent-send', ['--queue', 'qsh', 'echo dropped-one']);
  const idA = /queued as (\S+)/.exec(a.stdout)![1]!;
  const idB = /queued as (\S+)/.exec(b.stdout)![1]!;
  const list = await fleet.run('mosaic-agent', ['queue', 'qsh']);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`${idA}\\s+qsh\\s+queued\\s+\\d+s\\s+ops\\s+echo kept-one`));
  const json = JSON.parse((await fleet.run('mosaic-agent', ['queue', '--json'])).stdout);
  assert.deepEqual(json.map((m: { id: string }) => m.id), [idA, idB]);
  const typo = await fleet.run('mosaic-agent', ['queue', 'drop', idB, 'qnosuch']);
  assert.equal(typo.code, 1);
  assert.equal(agentQueue('qsh', fleet.env).length, 2, 'a typo drops nothing');
  const drop = await fleet.run('mosaic-agent', ['queue', 'drop', idB]);
  assert.equal(drop.code, 0, drop.stderr);
  await waitFor(() => agentQueue('qsh', fleet.env).length === 0, { what: 'the kept one delivered after the sleep', timeoutMs: 20_000 });
  await waitFor(async () => (await fleet.tmux.capture(agentPaneOf((await fleet.tmux.listPanes())!, 'qsh')!.paneId)).includes('kept-one'), { what: 'kept-one to run' });
  await new Promise((r) => setTimeout(r, 1000));
  assert.ok(!(await fleet.tmux.capture(agentPaneOf((await fleet.tmux.listPanes())!, 'qsh')!.paneId)).includes('dropped-one'));
});

test('a queued message is on disk, mode 0600, before agent-send returns; a typo queues nothing', async () => {
  await stopDispatcher();
  const r = await fleet.run('agent-send', ['--queue', 'qsh', 'echo later']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /the dispatcher is not running/);
  const [m] = agentQueue('qsh', fleet.env);
  assert.equal(m!.text, 'echo later');
  const file = listDir(queueDir('qsh', fleet.env)).find((f) => f.endsWith('.queued'))!;
  assert.equal(statSync(join(queueDir('qsh', fleet.env), file)).mode & 0o777, 0o600);
  const typo = await fleet.run('agent-send', ['--queue', 'qshh', 'echo never']);
  assert.equal(typo.code, 1);
  assert.equal(listDir(queueDir('qshh', fleet.env)).length, 0);
  // Started again, the dispatcher delivers what waited.
  dispatcher = startDispatcher();
  await waitFor(() => agentQueue('qsh', fleet.env).length === 0, { what: 'the waiting message delivered', timeoutMs: 20_000 });
});

test('a delivery interrupted by a crash is unconfirmed, never resent, until queue retry', async () => {
  await waitFor(piReady, { what: 'pi idle', timeoutMs: 20_000 });
  mock.setDelay(3000);
  try {
    const busy = await fleet.run('agent-send', ['qpi', 'keep busy']);
    assert.equal(busy.code, 0, busy.stderr);
    await waitFor(() => lastEvents('qpi', 1, fleet.env)[0]?.kind === 'busy', { what: 'pi busy', timeoutMs: 20_000 });
    const q = await fleet.run('agent-send', ['--queue', 'qpi', 'interrupted one']);
    const id = /queued as (\S+)/.exec(q.stdout)![1]!;
    // The moment the dispatcher takes it (the rename to .delivering), it is frozen, then killed.
    const pid = dispatcher!.pid!;
    await waitFor(() => agentQueue('qpi', fleet.env)[0]?.state === 'delivering', { what: 'the delivery to begin', timeoutMs: 30_000, intervalMs: 2 });
    process.kill(pid, 'SIGSTOP');
    process.kill(pid, 'SIGKILL');
    await new Promise((r) => dispatcher!.once('exit', r));
    dispatcher = undefined;
    const seen = mock.userMessages().filter((t) => t === 'interrupted one').length;
    dispatcher = startDispatcher();
    await waitFor(() => agentQueue('qpi', fleet.env)[0]?.state === 'unconfirmed', { what: 'the message to be unconfirmed', timeoutMs: 10_000 });
    await waitFor(piReady, { what: 'pi idle again', timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(mock.userMessages().filter((t) => t === 'interrupted one').length, seen, 'not resent');
    const list = await fleet.run('mosaic-agent', ['queue']);
    assert.match(list.stdout, new RegExp(`${id}\\s+qpi\\s+unconfirmed`));
    mock.setDelay(0);
    const retry = await fleet.run('mosaic-agent', ['queue', 'retry', id]);
    assert.equal(retry.code, 0, retry.stderr);
    await waitFor(() => agentQueue('qpi', fleet.env).length === 0, { what: 'the retried message delivered', timeoutMs: 45_000 }).catch((err: Error) => {
      throw new Error(`${err.message}\nqueue: ${JSON.stringify(agentQueue('qpi', fleet.env))}\ndispatcher log:\n${dispatcherLog}`);
    });
    assert.equal(mock.userMessages().filter((t) => t === 'interrupted one').length, seen + 1);
  } finally {
    mock.setDelay(0);
  }
});

test('--queue refuses what it could never deliver: --no-submit, --all, a control character', async () => {
  for (const args of [['--queue', '--no-submit', 'qsh', 'x'], ['--queue', '--all', 'x'], ['--queue', 'qsh', 'a\x1bb']]) {
    const r = await fleet.run('agent-send', args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
  }
  assert.equal(agentQueue('qsh', fleet.env).length, 0);
});
