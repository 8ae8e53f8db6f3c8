// The tmux gateway's gathering of calls (its 'coalesce' mode) on a real private
// server, counted through a shim that logs each tmux process it starts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestFleet, type TestFleet } from '../helpers/fleet.js';
import { Tmux } from '../../lib/tmux/tmux.js';
import { TmuxTransport } from '../../lib/send/tmux-transport.js';
import { exec } from '../../lib/core/exec.js';

let fleet: TestFleet;
let tmux: Tmux;
let log: string;

before(async () => {
  fleet = await startTestFleet();
  for (const s of ['one', 'two', 'three']) await fleet.startAgent(s, { MOSAIC_AGENT_RUNTIME: 'shell' });
  log = join(fleet.dir, 'tmux-calls.log');
  const shim = join(fleet.dir, 'tmux-shim');
  writeFileSync(shim, `#!/bin/sh\necho call >> '${log}'\nexec tmux "$@"\n`);
  chmodSync(shim, 0o755);
  tmux = new Tmux(fleet.env, fleet.socket, shim, undefined, 'coalesce');
});

after(async () => {
  await fleet?.close();
});

const calls = (): number => readFileSync(log, 'utf8').split('\n').filter(Boolean).length;

test('calls made together run as one tmux process and each gets its own output', async () => {
  writeFileSync(log, '');
  const out = await Promise.all(['one', 'two', 'three'].map((s) => tmux.run(['display-message', '-p', '-t', `=${s}:`, '#{session_name} #{window_width}x#{window_height}'])));
  assert.deepEqual(out.map((r) => [r.code, r.stdout]), [[0, 'one 200x50\n'], [0, 'two 200x50\n'], [0, 'three 200x50\n']]);
  assert.equal(calls(), 1);
});

test('a screen read among other calls comes back exactly as when read alone', async () => {
  const pane = (await tmux.listPanes())!.find((p) => p.session === 'two')!.paneId;
  const alone = await tmux.withMode('plain').screen(pane);
  const [together] = await Promise.all([tmux.screen(pane), tmux.run(['display-message', '-p', 'x'])]);
  assert.deepEqual(together, alone);
});

test('a failing call gets its error, the calls before it their output, and the ones after it still run', async () => {
  writeFileSync(log, '');
  const out = await Promise.all([
    tmux.run(['display-message', '-p', 'first']),
    tmux.run(['capture-pane', '-p', '-t', '%9999']),
    tmux.run(['display-message', '-p', 'third']),
    tmux.run(['display-message', '-p', 'fourth']),
  ]);
  assert.deepEqual(out[0], { code: 0, stdout: 'first\n', stderr: '', timedOut: false });
  assert.equal(out[1]!.code, 1);
  assert.match(out[1]!.stderr, /can't find pane: %9999/);
  assert.equal(out[1]!.stdout, '');
  assert.deepEqual(out.slice(2).map((r) => [r.code, r.stdout]), [[0, 'third\n'], [0, 'fourth\n']]);
  // The list that failed, then the two calls it had not reached, gathered again.
  assert.equal(calls(), 2);
});

test('without a server every gathered call says so', async () => {
  const gone = new Tmux(fleet.env, `${fleet.socket}-none`).withMode('coalesce');
  const out = await Promise.all([gone.run(['display-message', '-p', 'a']), gone.run(['display-message', '-p', 'b'])]);
  for (const r of out) {
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no server running|error connecting/);
  }
});

test('calls too many for one tmux command (16 KiB) are split into several, and each still gets its own output', async () => {
  writeFileSync(log, '');
  // 300 calls of ~100 bytes: about 30 KiB of argv, as a send to 100 agents makes.
  const words = Array.from({ length: 300 }, (_, i) => `call-${i}-${'x'.repeat(90)}`);
  const out = await Promise.all(words.map((w) => tmux.run(['display-message', '-p', w])));
  assert.deepEqual(out.map((r) => [r.code, r.stdout]), words.map((w) => [0, `${w}\n`]));
  assert.ok(calls() > 1 && calls() <= 6, `${calls()} tmux processes`);
});

test('paste-buffer -S is used only where this tmux lists it (3.7 and later)', async () => {
  const version = (await exec(['tmux', '-V'], { env: process.env })).stdout.trim();
  const [major, minor] = (/(\d+)\.(\d+)/.exec(version) ?? []).slice(1).map(Number);
  const expected = major! > 3 || (major === 3 && minor! >= 7);
  assert.equal(await fleet.tmux.pasteTakesRaw(), expected, version);
});

test('a send leaves the gateway of its transport as it was, so later calls of a long-lived process neither block nor gather', async () => {
  const transport = new TmuxTransport(fleet.env, fleet.tmux);
  for (const agents of [['one'], ['one', 'two']]) {
    const results = await transport.send(agents, 'true', { submit: true, timeoutMs: 10_000, force: false });
    assert.ok(results.every((r) => !(r instanceof Error)), String(results));
    assert.equal(transport.tmux.mode, 'plain');
  }
});
