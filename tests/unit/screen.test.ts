// Screen reading, against screens captured from the real pi (tests/fixtures/screens).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inputBoxText, inputReady, inputText, submitState } from '../../lib/runtimes/screen.js';
import { activityOf } from '../../lib/runtimes/activity.js';
import { profileFor } from '../../lib/runtimes/profiles.js';
import type { Screen } from '../../lib/tmux/tmux.js';

const fixture = (name: string): string[] => readFileSync(join(import.meta.dirname, '..', 'fixtures', 'screens', `${name}.txt`), 'utf8').split('\n');
const screen = (lines: string[], cursorY = 0): Screen => ({ lines, cursorX: 0, cursorY, inMode: false, dead: false });
const pi = profileFor('pi', process.env);
const shell = profileFor('shell', process.env);
const live = { dead: false, currentCommand: 'pi' };

test('pi\'s editor box is found between the last two rules', () => {
  assert.equal(inputBoxText(fixture('pi-idle')), '');
  assert.equal(inputBoxText(fixture('pi-typed')), 'please refactor the parser');
  assert.equal(inputBoxText(fixture('pi-busy')), '');
});

test('a starting pi has no editor box yet and is not ready', () => {
  assert.equal(inputBoxText(fixture('pi-starting')), undefined);
  assert.equal(inputReady(pi, screen(fixture('pi-starting'))), false);
  assert.equal(inputReady(pi, screen(fixture('pi-idle'))), true);
});

test('typed text in pi\'s box is pending; an empty box is taken', () => {
  const typed = screen(fixture('pi-typed'));
  assert.equal(submitState(pi, typed, typed), 'pending');
  assert.equal(submitState(pi, typed, screen(fixture('pi-busy'))), 'taken');
});

test('a screen without pi\'s editor box does not count as taken, unless pi shows it is working', () => {
  const typed = screen(fixture('pi-typed'));
  assert.equal(submitState(pi, typed, screen(fixture('pi-starting'))), 'unknown');
  assert.equal(submitState(pi, typed, screen(['some redraw', ' ⠋ Working...'])), 'taken');
});

test('a shell line is pending while the cursor stays on the same text', () => {
  const before = screen(['$ echo hi', ''], 0);
  assert.equal(submitState(shell, before, screen(['$ echo hi', ''], 0)), 'pending');
  assert.equal(submitState(shell, before, screen(['$ echo hi', 'hi', '$ '], 2)), 'taken');
});

test('pi\'s activity follows its screen markers', () => {
  assert.equal(activityOf(pi, live, fixture('pi-starting')), 'starting');
  assert.equal(activityOf(pi, live, fixture('pi-idle')), 'idle');
  assert.equal(activityOf(pi, live, fixture('pi-busy')), 'busy');
  assert.equal(activityOf(pi, live, fixture('pi-after-reply')), 'idle');
  assert.equal(activityOf(pi, { dead: true, currentCommand: 'pi' }, fixture('pi-idle')), 'exited');
});

test('a shell agent is idle at its prompt and busy while a command runs', () => {
  assert.equal(activityOf(shell, { dead: false, currentCommand: 'bash' }, []), 'idle');
  assert.equal(activityOf(shell, { dead: false, currentCommand: 'sleep' }, []), 'busy');
});

test('a stale busy marker far above the bottom does not count', () => {
  const lines = [' ⠋ Working...', ...Array(30).fill('old output'), ...fixture('pi-idle')];
  assert.equal(activityOf(pi, live, lines), 'idle');
});

test('gemini\'s input is the prompt line under the last rule; an echoed message above it is not', () => {
  const gemini = profileFor('gemini', process.env);
  const idle = fixture('gemini-after-reply');
  assert.equal(inputText(gemini.input, idle), '');
  // As the real Gemini CLI 0.61 draws it while /clear runs (seen in tmux):
  // the conversation's echo `> /clear` above a rule, and no input line under it.
  const clearing = [' > hello there', '✦ ok: hello there', '', ' > /clear', '─'.repeat(80), '', ''];
  assert.equal(inputText(gemini.input, clearing), undefined);
  assert.equal(activityOf(gemini, live, clearing), 'starting');
});
