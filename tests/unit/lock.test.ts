// The per-agent send lock (lib/send/lock.ts) on a real directory, with real
// processes as owners: a live owner holds others off, a dead one's lock is
// taken over, and a lock never exists without its owner's pid in it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withLock } from '../../lib/send/lock.js';

function scratch(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'mf-lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The pid of a process that has ended (and been reaped). */
function deadPid(): number {
  return Number(spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim());
}

test('while the lock is held it holds our pid, and nothing is left beside it once released', async (t) => {
  const dir = scratch(t);
  const lock = join(dir, 'a.lock');
  const seen = await withLock(lock, 1000, 'busy', async () => {
    assert.deepEqual(readdirSync(dir), ['a.lock'], 'the pid file it was linked from is gone already');
    return readFileSync(lock, 'utf8');
  });
  assert.equal(seen, `${process.pid}\n`);
  assert.deepEqual(readdirSync(dir), []);
});

test("a live owner's lock holds another sender off until the timeout, naming the owner", async (t) => {
  const dir = scratch(t);
  const lock = join(dir, 'a.lock');
  // Our parent stands for a live sender.
  writeFileSync(lock, `${process.ppid}\n`);
  await assert.rejects(
    withLock(lock, 200, 'agent a is busy', async () => assert.fail('ran without the lock')),
    (err: Error) => err.message === `agent a is busy (lock held by pid ${process.ppid})`,
  );
  assert.equal(readFileSync(lock, 'utf8'), `${process.ppid}\n`, 'the live lock is untouched');
  assert.deepEqual(readdirSync(dir), ['a.lock']);
});

test("a dead sender's lock is taken over at once", async (t) => {
  const dir = scratch(t);
  const lock = join(dir, 'a.lock');
  writeFileSync(lock, `${deadPid()}\n`);
  const started = Date.now();
  assert.equal(await withLock(lock, 2000, 'busy', async () => 'ran'), 'ran');
  assert.ok(Date.now() - started < 1000);
  assert.deepEqual(readdirSync(dir), []);
});

test('a lock with no owner in it is waited for while fresh and taken over once it is old', async (t) => {
  const dir = scratch(t);
  const lock = join(dir, 'a.lock');
  writeFileSync(lock, '');
  await assert.rejects(withLock(lock, 200, 'busy', async () => assert.fail('took a fresh ownerless lock')));
  // Left by a writer that died between creating and filling it (an older version could).
  const old = (Date.now() - 60_000) / 1000;
  utimesSync(lock, old, old);
  assert.equal(await withLock(lock, 2000, 'busy', async () => 'ran'), 'ran');
  assert.deepEqual(readdirSync(dir), []);
});

test('two senders in turn: the second runs only after the first released', async (t) => {
  const dir = scratch(t);
  const lock = join(dir, 'a.lock');
  const order: string[] = [];
  let release!: () => void;
  const first = withLock(lock, 2000, 'busy', async () => {
    order.push('first in');
    await new Promise<void>((r) => (release = r));
    order.push('first out');
  });
  await new Promise((r) => setTimeout(r, 50));
  // The same process stands for the second sender: its pid is alive, so it waits.
  const second = withLock(lock, 2000, 'busy', async () => order.push('second in'));
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(order, ['first in']);
  release();
  await Promise.all([first, second]);
  assert.deepEqual(order, ['first in', 'first out', 'second in']);
});
