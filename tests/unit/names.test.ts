import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAgentName, nameProblem, MAX_NAME_LENGTH } from '../../lib/names.js';
import { UsageError } from '../../lib/errors.js';

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
