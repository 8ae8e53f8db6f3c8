// The activity debounce (settledActivities) over scripted readings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settledActivities, type Activity } from '../../lib/runtimes/activity.js';

/** A poll that answers each agent's readings in turn and records what it was asked. */
function scripted(readings: Record<string, Activity[]>) {
  const asked: string[][] = [];
  const poll = async (keys: string[]) => {
    asked.push(keys);
    return new Map(keys.map((k) => [k, readings[k]!.shift()!] as const));
  };
  return { poll, asked };
}

const FAST = { intervalMs: 1, maxPolls: 4 };

test('a state seen on two polls in a row is the answer, and a one-poll flicker is not', async () => {
  const { poll, asked } = scripted({
    steady: ['idle', 'idle'],
    flicker: ['busy', 'idle', 'idle'],
  });
  const got = await settledActivities(['steady', 'flicker'], new Set(), poll, FAST);
  assert.deepEqual(Object.fromEntries(got), { steady: 'idle', flicker: 'idle' });
  assert.deepEqual(asked, [['steady', 'flicker'], ['steady', 'flicker'], ['flicker']]);
});

test('a screen that never settles keeps its last reading after the last poll', async () => {
  const { poll, asked } = scripted({ restless: ['busy', 'idle', 'busy', 'idle', 'busy'] });
  const got = await settledActivities(['restless'], new Set(), poll, FAST);
  assert.equal(got.get('restless'), 'idle');
  assert.equal(asked.length, 4);
});

test('agents whose state is not read off the screen are polled once', async () => {
  const { poll, asked } = scripted({ shell: ['busy'], pi: ['idle', 'idle'] });
  const got = await settledActivities(['shell', 'pi'], new Set(['shell']), poll, FAST);
  assert.deepEqual(Object.fromEntries(got), { shell: 'busy', pi: 'idle' });
  assert.deepEqual(asked, [['shell', 'pi'], ['pi']]);
});

test('no agents make one empty poll at most and no wait', async () => {
  const { poll } = scripted({});
  const got = await settledActivities([], new Set(), poll, { intervalMs: 60_000, maxPolls: 4 });
  assert.equal(got.size, 0);
});
