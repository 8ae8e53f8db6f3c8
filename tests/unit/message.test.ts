import { test } from 'node:test';
import assert from 'node:assert/strict';
import { composeMessage, normaliseMessage, senderProblem } from '../../lib/message.js';

test('CRLF and lone CR become LF', () => {
  assert.equal(normaliseMessage('a\r\nb\rc\nd'), 'a\nb\nc\nd');
});

test('exactly one trailing newline is dropped', () => {
  assert.equal(normaliseMessage('hello\n'), 'hello');
  assert.equal(normaliseMessage('hello\n\n'), 'hello\n');
  assert.equal(normaliseMessage('hello\r\n'), 'hello');
  assert.equal(normaliseMessage('hello'), 'hello');
});

test('everything else is left exactly as it is', () => {
  const nasty = ` lead\ttab "q" 'q' \`b\` $X \\ ; Enter C-c 🚀 `;
  assert.equal(normaliseMessage(nasty), nasty);
});

test('--from puts one attribution line before the message', () => {
  assert.equal(composeMessage('do it\n', 'boss'), '[from boss]\ndo it');
  assert.equal(composeMessage('do it'), 'do it');
});

test('the attribution line follows the pattern it is given, the sender taken literally', () => {
  assert.equal(composeMessage('ls', 'boss', '# from {sender}'), '# from boss\nls');
  assert.equal(composeMessage('ls', 'a $& {sender} b', '# from {sender}'), '# from a $& {sender} b\nls');
});

test('a sender with a line break or nothing in it is refused', () => {
  assert.match(senderProblem('a\nb')!, /line break/);
  assert.match(senderProblem('  ')!, /empty/);
  assert.equal(senderProblem('orchestrator'), undefined);
});
