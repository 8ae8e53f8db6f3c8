// The one waiting helper (lib/core/poll.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { becomes, pollUntil } from '../../lib/core/poll.js';

test('pollUntil returns the first answer and asks no more', async () => {
  let calls = 0;
  assert.equal(await pollUntil(() => (++calls === 3 ? 'yes' : undefined), Date.now() + 5000, 1), 'yes');
  assert.equal(calls, 3);
});

test('pollUntil asks once even past its deadline, then gives undefined', async () => {
  let calls = 0;
  assert.equal(await pollUntil(() => void calls++, Date.now() - 1, 1), undefined);
  assert.equal(calls, 1);
});

test('pollUntil stops at the deadline, pausing as long as the interval says', async () => {
  const pauses: number[] = [];
  const started = Date.now();
  assert.equal(await pollUntil(() => undefined, started + 60, () => (pauses.push(20), 20)), undefined);
  assert.ok(Date.now() - started >= 60);
  assert.ok(pauses.length >= 2 && pauses.length <= 4, `${pauses.length} pauses`);
});

test('a check that throws ends the wait with its error', async () => {
  await assert.rejects(pollUntil(() => { throw new Error('broken'); }, Date.now() + 1000, 1), /broken/);
});

test('becomes says whether a condition came true in time', async () => {
  let n = 0;
  assert.equal(await becomes(() => ++n > 2, 1000, 1), true);
  assert.equal(await becomes(() => false, 30, 5), false);
});
