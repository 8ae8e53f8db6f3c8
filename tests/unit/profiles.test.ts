// Every runtime profile against screens captured from the real program
// (tests/fixtures/screens, taken with `tmux capture-pane -p` while the runtime
// ran against a local mock server; see the README's runtime table).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { activityOf } from '../../lib/runtimes/activity.js';
import { DEFAULT_RUNTIME, profileFor, resolveProfile, runtimeNames } from '../../lib/runtimes/profiles.js';
import { inputText } from '../../lib/runtimes/screen.js';

const dir = join(import.meta.dirname, '..', 'fixtures', 'screens');
const screen = (name: string): string[] => readFileSync(join(dir, `${name}.txt`), 'utf8').split('\n');
const TYPED = 'hello from the fleet, please reply';
const live = (cmd: string) => ({ dead: false, currentCommand: cmd });

const TUI_RUNTIMES: Array<[string, string]> = [
  ['claude', 'claude'],
  ['codex', 'node'],
  ['opencode', 'opencode'],
  ['gemini', 'node'],
];

// First-run questions besides folder trust, captured by the runtime tier (tests/runtimes).
const OTHER_DIALOGS: Record<string, string[]> = {
  claude: ['onboarding', 'bypass-dialog'],
};

for (const [rt, cmd] of TUI_RUNTIMES) {
  const p = profileFor(rt, process.env);

  test(`${rt}: an idle screen has an empty input and reads as idle`, () => {
    assert.equal(inputText(p.input, screen(`${rt}-idle`)), '');
    assert.equal(activityOf(p, live(cmd), screen(`${rt}-idle`)), 'idle');
  });

  test(`${rt}: typed text is found in the input`, () => {
    assert.equal(inputText(p.input, screen(`${rt}-typed`)), TYPED);
  });

  test(`${rt}: a screen mid-turn reads as busy`, () => {
    assert.equal(activityOf(p, live(cmd), screen(`${rt}-busy`)), 'busy');
  });

  test(`${rt}: the screen after a reply reads as idle`, () => {
    assert.equal(activityOf(p, live(cmd), screen(`${rt}-after-reply`)), 'idle');
  });

  test(`${rt}: an approval prompt reads as waiting for input`, () => {
    assert.equal(activityOf(p, live(cmd), screen(`${rt}-approval`)), 'waiting-for-input');
  });

  const trust = `${rt}-trust-dialog`;
  test(`${rt}: a folder-trust dialog reads as waiting for input`, { skip: existsSync(join(dir, `${trust}.txt`)) ? false : `${rt} showed no trust dialog when captured` }, () => {
    assert.equal(activityOf(p, live(cmd), screen(trust)), 'waiting-for-input');
  });

  for (const other of OTHER_DIALOGS[rt] ?? []) {
    test(`${rt}: its ${other.replace(/-/g, ' ')} reads as waiting for input`, () => {
      assert.equal(activityOf(p, live(cmd), screen(`${rt}-${other}`)), 'waiting-for-input');
    });
  }

  const startSkip = rt === 'gemini' ? 'Gemini draws its input box before its banner: its starting frame cannot be told from idle' : false;
  test(`${rt}: a starting screen reads as starting`, { skip: startSkip }, () => {
    assert.equal(activityOf(p, live(cmd), screen(`${rt}-starting`)), 'starting');
  });
}

test('every built-in profile has a launch argv, a submit delay and says how it was tested', () => {
  for (const rt of runtimeNames()) {
    const p = profileFor(rt, { SHELL: '/bin/bash' });
    assert.ok(p.launch.length > 0, rt);
    assert.ok(p.submit.delayMs >= 0, rt);
    assert.ok(p.tested.length > 0, rt);
  }
});

test('an unknown runtime gets a conservative default profile', () => {
  const p = profileFor('mystery', process.env);
  assert.deepEqual(p.launch, ['mystery']);
  assert.ok(p.submit.delayMs >= 150);
});

test('roster overrides change only what they name', () => {
  const p = resolveProfile('pi', { submit_delay_ms: 300, approval: ['Proceed?'] }, process.env);
  assert.deepEqual(p.launch, ['pi', '--session-dir', '{session_dir}']);
  assert.equal(p.submit.delayMs, 300);
  assert.equal(p.submit.guardTrailingBackslash, true);
  assert.deepEqual(p.markers.approval, ['Proceed?']);
  assert.deepEqual(p.markers.busy, ['Working...']);
  assert.equal(p.reset, '/new');
});

test('a shell writes the --from line as a comment, every other runtime as [from X], and a roster can change it', () => {
  for (const rt of runtimeNames()) {
    const p = profileFor(rt, { SHELL: '/bin/bash' });
    assert.equal(p.attribution, p.input.kind === 'cursor-line' && !p.tui ? '# from {sender}' : '[from {sender}]', rt);
  }
  assert.equal(profileFor('mystery', process.env).attribution, '[from {sender}]');
  assert.equal(resolveProfile('myrepl', { extends: 'shell' }, process.env).attribution, '# from {sender}');
  assert.equal(resolveProfile('pi', { attribution: '<from {sender}>' }, process.env).attribution, '<from {sender}>');
});

test('a runtime of the user\'s own starts from the default or from the profile it extends', () => {
  const own = resolveProfile('mycli', { launch: ['mycli', '--auto'], input_prompt: '>>', input_placeholder: 'Ask' }, process.env);
  assert.deepEqual(own.launch, ['mycli', '--auto']);
  assert.deepEqual(own.input, { kind: 'line', prompts: ['>>'], placeholder: 'Ask' });
  assert.equal(inputText(own.input, ['>> Ask me', '']), '');
  const ext = resolveProfile('mycodex', { extends: 'codex', launch: ['codex', '--profile', 'x'] }, process.env);
  assert.deepEqual(ext.launch, ['codex', '--profile', 'x']);
  assert.equal(ext.submit.delayMs, 150);
  assert.equal(ext.reset, '/new');
});

test('the agent unit starts the default runtime that the code falls back to', () => {
  const unit = readFileSync(join(import.meta.dirname, '..', '..', 'units', 'mosaic-agent@.service'), 'utf8');
  assert.equal(/^Environment=MOSAIC_AGENT_RUNTIME=(.*)$/m.exec(unit)?.[1], DEFAULT_RUNTIME);
});

test("a runtime's hooks stay with its own program: a roster launch of another program, or a runtime of the user's own, reads the screen", () => {
  assert.equal(profileFor('claude', process.env).events, 'claude');
  assert.equal(profileFor('pi', process.env).events, 'pi');
  // Changing the flags keeps them; launching something else drops them.
  assert.equal(resolveProfile('claude', { launch: ['claude', '--permission-mode', 'manual'] }, process.env).events, 'claude');
  assert.equal(resolveProfile('claude', { launch: ['/opt/wrap/claude-wrapper', '--x'] }, process.env).events, undefined);
  assert.equal(resolveProfile('mytool', { launch: ['mytool'] }, process.env).events, undefined);
  assert.equal(resolveProfile('mine', { extends: 'codex', busy: ['working'] }, process.env).events, 'codex');
  assert.equal(profileFor('unknown-runtime', process.env).events, undefined);
});
