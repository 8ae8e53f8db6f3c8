import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAgentName, closestName, editDistance, nameProblem, MAX_NAME_LENGTH } from '../../lib/core/names.js';
import { UsageError } from '../../lib/core/errors.js';

test('ordinary agent names are accepted', () => {
  for (const ok of ['alpha', 'alpha2', 'a', '0day', 'my_agent', 'worker-1', 'x'.repeat(MAX_NAME_LENGTH)]) {
    assert.equal(nameProblem(ok), undefined, ok);
  }
});

test('names tmux or systemd would rewrite are refused with the offending character', () => {
  assert.match(nameProblem('a.b')!, /"\." is not allowed/);
  assert.match(nameProblem('a:b')!, /":" is not allowed/);
  assert.match(nameProblem('a b')!, /a space is not allowed/);
  assert.match(nameProblem('a/b')!, /"\/" is not allowed/);
  assert.match(nameProblem('a@b')!, /"@" is not allowed/);
  assert.match(nameProblem('-a')!, /"-" is not allowed/);
  assert.match(nameProblem('_holder')!, /"_" is not allowed/);
  assert.match(nameProblem('ä')!, /is not allowed/);
});

test('empty and overlong names are refused', () => {
  assert.match(nameProblem('')!, /empty/);
  assert.match(nameProblem('x'.repeat(MAX_NAME_LENGTH + 1))!, /longer than 64/);
});

test('checkAgentName throws a usage error (exit 2)', () => {
  assert.throws(() => checkAgentName('a.b'), (e: unknown) => e instanceof UsageError && e.exitCode === 2);
  assert.throws(() => checkAgentName(undefined), /no agent name given/);
  assert.equal(checkAgentName('alpha'), 'alpha');
});

test('the edit distance counts insertions, deletions, substitutions and swaps of neighbours as one each', () => {
  assert.equal(editDistance('notes', 'notes'), 0);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('abc', ''), 3);
  assert.equal(editDistance('typo2', 'typo'), 1);
  assert.equal(editDistance('alph', 'alpha'), 1);
  assert.equal(editDistance('alpha', 'alpah'), 1);
  assert.equal(editDistance('stauts', 'status'), 1);
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('ab', 'ba'), 1);
});

test('the closest name is suggested only when it is near', () => {
  assert.equal(closestName('nosuch', ['notes', 'nosuch1', 'alpha']), 'nosuch1');
  assert.equal(closestName('typo2', ['alpha', 'typo1', 'typo']), 'typo1');
  assert.equal(closestName('stauts', ['start', 'stop', 'status']), 'status');
  assert.equal(closestName('nosuch', ['notes', 'alpha']), undefined, 'three edits away');
  assert.equal(closestName('ab', ['ac', 'xb']), undefined, 'one edit is half of a two-letter name');
  assert.equal(closestName('abc', ['abd']), 'abd');
  assert.equal(closestName('abcd', ['abxy']), undefined, 'two edits are half of a four-letter name');
  assert.equal(closestName('alpha', ['alpha']), undefined, 'not the name itself');
  assert.equal(closestName('alpha', []), undefined);
});

test('of several near names the nearest is suggested, and of equally near ones the first', () => {
  assert.equal(closestName('worker', ['workers', 'worker1', 'wroker']), 'workers');
  assert.equal(closestName('wroker', ['worker12', 'worker']), 'worker');
});
