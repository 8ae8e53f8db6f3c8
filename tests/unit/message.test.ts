import { test } from 'node:test';
import assert from 'node:assert/strict';
import { composeMessage, controlProblem, normaliseMessage, senderProblem } from '../../lib/runtimes/message.js';

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

test('tab, newline and CR are the only control characters a message may hold', () => {
  assert.equal(controlProblem('tab\there\nnew line\r\nCRLF\rCR 🚀 naïve'), undefined);
  assert.equal(controlProblem('abc\x1b[31m'), 'ESC (0x1b) at byte 4 (line 1, column 4)');
  assert.equal(controlProblem('\x00'), 'NUL (0x00) at byte 1 (line 1, column 1)');
  assert.equal(controlProblem('ok\nbell\x07'), 'BEL (0x07) at byte 8 (line 2, column 5)');
  assert.equal(controlProblem('x\x7f'), 'DEL (0x7f) at byte 2 (line 1, column 2)');
  assert.equal(controlProblem('x\u009b1m'), 'U+009B at byte 2 (line 1, column 2)');
});

test('the position of a control character counts bytes, so it matches what was sent', () => {
  // 'é' is two bytes in UTF-8, the emoji four.
  assert.equal(controlProblem('é🚀\x1b'), 'ESC (0x1b) at byte 7 (line 1, column 4)');
});

test('a sender with a control character is refused', () => {
  assert.match(senderProblem('boss\x1b')!, /control character, ESC \(0x1b\) at byte 5/);
});
