// End to end: the fleet's dispatcher (issue #16) as install.sh sets it up,
// on a real user manager of a throwaway user: queued messages wait for
// their turn and survive a crash of the tmux server and a restart of the
// user manager (a boot); notifications from the roster reach a command,
// crash loops included.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { e2eSkipReason } from './harness.js';
import { setUpE2E, type E2E } from './setup.js';
import { waitFor } from '../helpers/fleet.js';

const skip = e2eSkipReason();
let e: E2E;
let roster: string;
let notes: string;

before(async () => {
  if (skip) return;
  e = await setUpE2E('mfe2q');
  const r = await e.install('--no-demo');
  assert.equal(r.code, 0, r.stderr);
  roster = join(e.um.home, '.config', 'mosaic', 'fleet', 'roster.yaml');
  notes = join(e.um.home, 'notes.log');
  const script = join(e.um.home, 'notifier.sh');
  await e.write(script, `#!/bin/sh\necho "$MOSAIC_EVENT $MOSAIC_AGENT $MOSAIC_STATE" >> ${notes}\n`);
  await e.um.run(['chmod', '755', script]);
  await e.write(
    roster,
    `defaults: { runtime: shell, notify: { done: { command: [${script}] }, failed: { command: [${script}] } } }
agents:
  qa: {}
  qb: { notify: { done: { command: [${script}] } } }
`,
  );
  const a = await e.tool('mosaic-agent', 'apply');
  assert.equal(a.code, 0, a.stderr);
  await waitFor(async () => (await e.sessions()).join(' ') === '_holder qa qb', { what: 'the agents', timeoutMs: 20_000 });
});
after(async () => {
  await e?.close();
});

async function screen(name: string): Promise<string> {
  return (await e.tmux('capture-pane', '-p', '-t', `=${name}:`)).stdout;
}

async function noteLines(): Promise<string[]> {
  const r = await e.um.run(['cat', notes]);
  return r.code === 0 ? r.stdout.split('\n').filter(Boolean) : [];
}

test('install.sh starts the dispatcher, under --lite-mode, and doctor checks it and the notifiers', { skip }, async () => {
  assert.equal(await e.show('mosaic-fleet-dispatch.service', 'ActiveState'), 'active');
  assert.equal(await e.show('mosaic-fleet-dispatch.service', 'UnitFileState'), 'enabled');
  // Its launcher's one flag keeps the fleet's one long-lived Node process small (bench/README.md).
  const argv = readFileSync(`/proc/${await e.show('mosaic-fleet-dispatch.service', 'MainPID')}/cmdline`, 'utf8').split('\0');
  assert.deepEqual(argv.slice(1, 3), ['--lite-mode', join(e.um.home, '.config', 'mosaic', 'tools', 'fleet', 'bin', 'mosaic-dispatcher')]);
  const d = await e.tool('mosaic-agent', 'doctor');
  assert.match(d.stdout, /ok +dispatcher: active \(pid \d+\); takes sends from other hosts on \/run\/user\/\d+\/mosaic-fleet\/send\.sock/);
  assert.match(d.stdout, /ok +notify qa: done: \S*notifier\.sh; failed: \S*notifier\.sh/);
});

test('a message queued for a busy agent is delivered after its turn, and the turn is notified as done', { skip }, async () => {
  const busy = await e.tool('agent-send', 'qa', 'sleep 3; echo first-done');
  assert.equal(busy.code, 0, busy.stderr);
  const q = await e.tool('agent-send', '--queue', 'qa', 'echo queued-second');
  assert.equal(q.code, 0, q.stderr);
  const st = JSON.parse((await e.tool('mosaic-agent', 'status', '--json', 'qa')).stdout).agents[0];
  assert.equal(st.queued, 1);
  await waitFor(async () => /first-done[\s\S]*queued-second/.test(await screen('qa')), { what: 'the queued message after the first', timeoutMs: 20_000 });
  await waitFor(async () => (await noteLines()).some((l) => l === 'done qa idle'), { what: 'the done notification', timeoutMs: 15_000 });
});

test('queued messages survive a kill -9 of the tmux server and a restart of the user manager', { skip }, async () => {
  const busy = await e.tool('agent-send', 'qb', 'sleep 60');
  assert.equal(busy.code, 0, busy.stderr);
  assert.equal((await e.tool('agent-send', '--queue', 'qb', 'echo after-crash')).code, 0);
  process.kill(Number(await e.show('mosaic-tmux-holder.service', 'MainPID')), 'SIGKILL');
  // The agent comes back (the holder brings back what ran), idle: the message goes then.
  await waitFor(async () => (await screen('qb').catch(() => '')).includes('after-crash'), { what: 'the message after the crash', timeoutMs: 60_000 });
  // Now across a restart of the user manager, with the agent busy again.
  assert.equal((await e.tool('agent-send', 'qb', 'sleep 60')).code, 0);
  assert.equal((await e.tool('agent-send', '--queue', 'qb', 'echo after-boot')).code, 0);
  await e.um.stopManager();
  await e.um.startManager();
  await waitFor(async () => (await screen('qb').catch(() => '')).includes('after-boot'), { what: 'the message after the boot', timeoutMs: 60_000 });
  const left = await e.tool('mosaic-agent', 'queue');
  assert.match(left.stdout, /no queued messages/);
});

test('an agent in a crash loop is notified as failed, once', { skip }, async () => {
  const text = (await e.um.run(['cat', roster])).stdout;
  await e.write(roster, `${text}  crashy: { command: "sleep 0.5; exit 3" }\n`);
  await e.tool('mosaic-agent', 'apply');
  await waitFor(async () => (await noteLines()).some((l) => l.startsWith('failed crashy')), { what: 'the failed notification', timeoutMs: 90_000 });
  await new Promise((r) => setTimeout(r, 5000));
  assert.equal((await noteLines()).filter((l) => l.startsWith('failed crashy')).length, 1);
  await e.write(roster, text);
  assert.equal((await e.tool('mosaic-agent', 'apply', '--prune')).code, 0);
});
