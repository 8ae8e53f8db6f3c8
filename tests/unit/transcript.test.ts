// Readable transcripts (issue #13), against a transcript captured from a real
// pi (tests/fixtures/transcripts/pi.raw, recaptured by capture-pi.ts there).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { markerSize, renderTranscript, splitTranscript } from '../../lib/tmux/transcript.js';

const pi = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'transcripts', 'pi.raw'));
const start = (n: number, size = '80x24') => `\n--- mosaic-fleet: agent alpha started 2026-01-0${n}T00:00:00.000Z (pid ${n}, size ${size}) ---\n`;
const render = async (text: string) => renderTranscript(Buffer.from(text));

test('a real pi transcript renders to its messages and replies as plain lines, without escape codes', async () => {
  const lines = await renderTranscript(pi);
  const text = lines.join('\n');
  for (const m of ['hello, what is in this repository?', 'please list the three biggest files', 'thanks, that is all for now']) {
    assert.ok(lines.includes(` ${m}`), `the message ${JSON.stringify(m)} as a line of its own`);
    assert.ok(lines.includes(` ok: ${m}`), `the reply to ${JSON.stringify(m)} as a line of its own`);
    assert.equal(text.split(m).length - 1, 2, `the message ${JSON.stringify(m)} once, and once in its reply`);
  }
  assert.ok(!text.includes('\x1b'), 'no ESC byte');
  assert.ok(Buffer.byteLength(text) * 10 < pi.length, `${Buffer.byteLength(text)} bytes rendered from ${pi.length}`);
  assert.match(lines[0]!, /^--- mosaic-fleet: agent alpha started .* \(pid \d+, size 100x30\) ---$/);
});

test('each start line stays, with what that life printed after it', async () => {
  const lines = await render(`${start(1)}first life\r\n${start(2)}second life\r\n`);
  assert.deepEqual(lines, [start(1).trim(), 'first life', start(2).trim(), 'second life']);
});

test('output before the first start line (the rest of a rotated life) is kept', async () => {
  assert.deepEqual(await render(`tail of a life\r\n${start(1)}next\r\n`), ['tail of a life', start(1).trim(), 'next']);
});

test('a line redrawn in place appears once, as it ended', async () => {
  // A spinner: carriage returns, erase-line, cursor up and over.
  const lines = await render(`${start(1)}Working |\rWorking /\r\x1b[2KWorking -\r\ndone\r\n\x1b[2A\x1b[2K\rfinished\r\n`);
  assert.deepEqual(lines, [start(1).trim(), 'finished', 'done']);
});

test('a whole-screen redraw of the same conversation is not repeated', async () => {
  const conversation = 'one\r\ntwo\r\nthree\r\n';
  const lines = await render(`${start(1)}${conversation}> input\x1b[3J\x1b[2J\x1b[H${conversation}four\r\n> input`);
  assert.deepEqual(lines, [start(1).trim(), 'one', 'two', 'three', 'four', '> input']);
});

test('what a clear-screen takes away for good stays in the transcript', async () => {
  const lines = await render(`${start(1)}$ make\r\nbuilt\r\n$ clear\r\n\x1b[H\x1b[2J$ ls\r\nREADME\r\n`);
  assert.deepEqual(lines, [start(1).trim(), '$ make', 'built', '$ clear', '$ ls', 'README']);
});

test('a clear-screen under scrollback keeps the scrollback once and the cleared screen', async () => {
  const lines = await render(`${start(1, '80x3')}a\r\nb\r\nc\r\nd\r\ne\x1b[H\x1b[2Jf\r\n`);
  assert.deepEqual(lines, [start(1, '80x3').trim(), 'a', 'b', 'c', 'd', 'e', 'f']);
});

test('what a full-screen program showed is kept when it leaves the alternate screen', async () => {
  const lines = await render(`${start(1)}$ less\r\n\x1b[?1049h\x1b[Hpage one\x1b[?1049l$ done\r\n`);
  assert.deepEqual(lines, [start(1).trim(), '$ less', 'page one', '$ done']);
});

test('lines longer than the pane are joined back into one', async () => {
  const long = 'x'.repeat(100);
  assert.deepEqual(await render(`${start(1, '40x10')}${long}\r\n`), [start(1, '40x10').trim(), long]);
});

test('the start line gives the pane size, and a cut keeps every byte of UTF-8 text', () => {
  assert.deepEqual(markerSize(start(1, '120x40')), { cols: 120, rows: 40 });
  assert.equal(markerSize('--- mosaic-fleet: agent a started X (pid 1) ---'), undefined);
  const parts = splitTranscript(Buffer.from(`${start(1)}héllo ─ ↑\r\n`));
  assert.equal(parts.length, 1);
  assert.equal(parts[0]!.bytes.toString('utf8'), 'héllo ─ ↑\r\n');
});
