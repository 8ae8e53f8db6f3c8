// The delivery logic without tmux: a scripted pane serves screens captured
// from the real runtimes (tests/fixtures/screens), changes them as a runtime
// would on a paste or a key, and records every call, so each test checks what
// was typed, in which order, and what the send made of it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FleetError, UnconfirmedError } from '../../lib/core/errors.js';
import { deliver, refuseIfNotRunning, type DeliveryRequest, type PaneIO } from '../../lib/send/delivery.js';
import { profileFor, type Profile } from '../../lib/runtimes/profiles.js';
import type { Screen } from '../../lib/tmux/tmux.js';

const fixture = (name: string): string[] => readFileSync(join(import.meta.dirname, '..', 'fixtures', 'screens', `${name}.txt`), 'utf8').split('\n');
const screen = (lines: string[], over: Partial<Screen> = {}): Screen => ({ lines, cursorX: 0, cursorY: 0, inMode: false, dead: false, ...over });
const pi = profileFor('pi', {});
const shell = profileFor('shell', {});

/** pi's screen with `text` in its editor, a line of the box for each line of it (pi-typed holds "please refactor the parser"). */
const piHolding = (text: string): Screen => screen(fixture('pi-typed').flatMap((l) => (l === 'please refactor the parser' ? text.split('\n') : [l])));

/** How the scripted runtime answers: the screen after a paste, or after keys (undefined: unchanged). */
interface Reactions {
  paste?: (text: string) => Screen;
  keys?: (keys: string[]) => Screen | undefined;
}

/** A pane that shows one screen at a time, changes it as `react` says, and records every call in order. */
class ScriptedPane implements PaneIO {
  readonly calls: string[] = [];
  constructor(
    private shown: Screen,
    private readonly react: Reactions = {},
  ) {}

  async screen(thenKeys: string[] = []): Promise<Screen> {
    const seen = this.shown;
    this.calls.push(thenKeys.length ? `screen, then keys ${thenKeys.join(' ')}` : 'screen');
    if (thenKeys.length) this.press(thenKeys);
    return seen;
  }

  async sendKeys(...keys: string[]): Promise<void> {
    this.calls.push(`keys ${keys.join(' ')}`);
    this.press(keys);
  }

  async paste(text: string, bracketed: boolean): Promise<void> {
    this.calls.push(`paste ${JSON.stringify(text)}${bracketed ? ' bracketed' : ''}`);
    this.shown = this.react.paste?.(text) ?? this.shown;
  }

  async cancelMode(): Promise<void> {
    this.calls.push('cancel mode');
    this.shown = { ...this.shown, inMode: false };
  }

  /** What reached the runtime: every call but a plain look at the screen. */
  typed(): string[] {
    return this.calls.filter((c) => c !== 'screen');
  }

  private press(keys: string[]): void {
    this.shown = this.react.keys?.(keys) ?? this.shown;
  }
}

const request = (profile: Profile, over: Partial<DeliveryRequest> = {}): DeliveryRequest => ({
  agent: 'coder',
  pane: { paneId: '%7', inMode: false, title: '' },
  profile,
  message: 'please refactor the parser',
  opts: { submit: true, timeoutMs: 5000, force: false },
  started: Date.now(),
  socket: 'fleet-test',
  ...over,
});

/** The error deliver failed with; fails the test when it delivered. */
async function failure(io: PaneIO, req: DeliveryRequest): Promise<Error> {
  const result = await deliver(io, req).then(
    (d) => d,
    (err: unknown) => err,
  );
  assert.ok(result instanceof Error, `expected a failure, got ${JSON.stringify(result)}`);
  return result;
}

test('an idle pi gets the paste, then Enter once the paste shows, and an emptied editor counts as delivered', async () => {
  const pane = new ScriptedPane(screen(fixture('pi-idle')), {
    paste: (text) => piHolding(text),
    keys: (keys) => (keys.join(' ') === 'Enter' ? screen(fixture('pi-busy')) : undefined),
  });
  const delivery = await deliver(pane, request(pi));
  assert.deepEqual(pane.calls, ['screen', 'paste "please refactor the parser" bracketed', 'screen', 'keys Enter', 'screen']);
  assert.equal(delivery.submitted, true);
  assert.equal(delivery.rescued, false);
  assert.equal(delivery.cleared, undefined);
  assert.equal(delivery.target, '%7');
  assert.equal(delivery.bytes, Buffer.byteLength('please refactor the parser'));
});

test('a message ending in a backslash gets a space after it for pi, which would trim it', async () => {
  const pane = new ScriptedPane(screen(fixture('pi-idle')), { paste: (text) => piHolding(text), keys: () => screen(fixture('pi-busy')) });
  await deliver(pane, request(pi, { message: 'C:\\' }));
  assert.equal(pane.typed()[0], 'paste "C:\\\\ " bracketed');
});

test('an Enter the runtime swallowed gets one rescue Enter, and the delivery says it was rescued', async () => {
  let enters = 0;
  const pane = new ScriptedPane(screen(fixture('pi-idle')), {
    paste: (text) => piHolding(text),
    keys: () => (++enters === 2 ? screen(fixture('pi-busy')) : undefined),
  });
  // A short deadline cuts the wait after the first Enter short, as a long one would end it at 1.5 s.
  const delivery = await deliver(pane, request(pi, { opts: { submit: true, timeoutMs: 600, force: false } }));
  assert.deepEqual(pane.typed(), ['paste "please refactor the parser" bracketed', 'keys Enter', 'keys Enter']);
  assert.equal(delivery.rescued, true);
  assert.equal(delivery.submitted, true);
});

test('an input that still shows the message after two submit keys is unconfirmed, not failed', async () => {
  const pane = new ScriptedPane(screen(fixture('pi-idle')), { paste: (text) => piHolding(text) });
  const err = await failure(pane, request(pi, { opts: { submit: true, timeoutMs: 800, force: false } }));
  assert.ok(err instanceof UnconfirmedError, String(err));
  assert.match(err.message, /pasted into agent 'coder' and submitted twice, but its input still showed it/);
  assert.deepEqual(pane.typed(), ['paste "please refactor the parser" bracketed', 'keys Enter', 'keys Enter']);
});

test('an agent that exits after the submit key is unconfirmed: the runtime may have taken the message', async () => {
  const pane = new ScriptedPane(screen(fixture('pi-idle')), {
    paste: (text) => piHolding(text),
    keys: () => screen([], { dead: true }),
  });
  const err = await failure(pane, request(pi));
  assert.ok(err instanceof UnconfirmedError, String(err));
  assert.match(err.message, /a submit key was sent, then: the agent exited while the message was being submitted/);
  assert.deepEqual(pane.typed(), ['paste "please refactor the parser" bracketed', 'keys Enter']);
});

test('a paste that never shows in the input is not submitted, and the send fails without calling it unconfirmed', async () => {
  const pane = new ScriptedPane(screen(fixture('pi-idle')));
  const err = await failure(pane, request(pi, { opts: { submit: true, timeoutMs: 300, force: false } }));
  assert.ok(!(err instanceof UnconfirmedError), String(err));
  assert.match(err.message, /never showed in its input area, so it was not submitted/);
  assert.deepEqual(pane.typed(), ['paste "please refactor the parser" bracketed']);
});

test("text left in pi's editor is cleared with the profile's clear keys before the paste, and the delivery names it", async () => {
  const pane = new ScriptedPane(piHolding('half a thought'), {
    paste: (text) => piHolding(text),
    keys: (keys) => {
      if (keys.join(' ') === pi.submit.clear!.join(' ')) return screen(fixture('pi-idle'));
      return keys.join(' ') === 'Enter' ? screen(fixture('pi-busy')) : undefined;
    },
  });
  const delivery = await deliver(pane, request(pi));
  assert.deepEqual(pane.typed(), [`keys ${pi.submit.clear!.join(' ')}`, 'paste "please refactor the parser" bracketed', 'keys Enter']);
  assert.equal(delivery.cleared, 'half a thought');
  assert.equal(delivery.submitted, true);
});

test('an input that does not empty fails the send with nothing pasted', async () => {
  // 101 lines left in the editor, and each round of clear keys takes one: one more than the rounds a send tries.
  let held = Array.from({ length: 101 }, (_, i) => `line ${i + 1}`);
  const pane = new ScriptedPane(piHolding(held.join('\n')), {
    keys: () => {
      held = held.slice(0, -1);
      return piHolding(held.join('\n'));
    },
  });
  const err = await failure(pane, request(pi));
  assert.ok(err instanceof FleetError && !(err instanceof UnconfirmedError), String(err));
  assert.equal(err.message, 'agent \'coder\' holds text in its input that was never sent, and it could not be cleared; nothing was pasted (it holds: "line 1")');
  const clear = pi.submit.clear!.join(' ');
  assert.deepEqual(pane.typed(), [`keys ${clear}`, ...Array.from({ length: 99 }, () => `keys BSpace ${clear}`)]);
});

for (const [runtime, shot] of [['claude', 'claude-approval'], ['claude', 'claude-trust-dialog'], ['codex', 'codex-approval'], ['codex', 'codex-trust-dialog'], ['gemini', 'gemini-approval'], ['opencode', 'opencode-approval']] as const) {
  test(`${runtime} showing a prompt that needs a person (${shot}) refuses the send with nothing typed`, async () => {
    const profile = profileFor(runtime, {});
    const pane = new ScriptedPane(screen(fixture(shot)));
    const err = await failure(pane, request(profile));
    assert.ok(err instanceof FleetError && !(err instanceof UnconfirmedError), String(err));
    assert.match(err.message, /^agent 'coder' is showing a prompt that needs a person \(".+"\); nothing was typed$/);
    assert.equal(err.hint, 'answer it: tmux -L fleet-test attach -t =coder, or send anyway with --force');
    assert.deepEqual(pane.calls, ['screen']);
  });
}

test('a prompt named only in the pane title refuses the send too', async () => {
  const codex = profileFor('codex', {});
  const pane = new ScriptedPane(screen(fixture('codex-idle')));
  const err = await failure(pane, request(codex, { pane: { paneId: '%7', inMode: false, title: 'Action Required: codex' } }));
  assert.match(err.message, /needs a person \("Action Required"\); nothing was typed/);
  assert.deepEqual(pane.calls, ['screen']);
});

test('a forced send pastes over a prompt without clearing what reads like input there', async () => {
  const codex = profileFor('codex', {});
  const pane = new ScriptedPane(screen(fixture('codex-approval')));
  const delivery = await deliver(pane, request(codex, { opts: { submit: false, timeoutMs: 5000, force: true } }));
  assert.deepEqual(pane.typed(), ['paste "please refactor the parser" bracketed']);
  assert.equal(delivery.cleared, undefined);
  assert.equal(delivery.submitted, false);
});

test('an agent whose pane is dead is not running, and nothing is typed', async () => {
  const pane = new ScriptedPane(screen(fixture('pi-idle'), { dead: true }));
  const err = await failure(pane, request(pi));
  assert.ok(err instanceof FleetError, String(err));
  assert.equal(err.message, "agent 'coder' is not running: its process has exited");
  assert.equal(err.hint, 'restart it: mosaic-agent restart coder');
  assert.deepEqual(pane.calls, ['screen']);
});

test('a listed pane that is dead, or back at a shell where a runtime should be, is refused before any screen is read', () => {
  const listed = { dead: false, deadStatus: undefined, customCommand: false, currentCommand: 'pi' };
  assert.doesNotThrow(() => refuseIfNotRunning('coder', listed, pi));
  assert.throws(() => refuseIfNotRunning('coder', { ...listed, dead: true, deadStatus: 1 }, pi), { message: "agent 'coder' is not running: its process has exited (status 1)" });
  assert.throws(() => refuseIfNotRunning('coder', { ...listed, currentCommand: 'bash' }, pi), { message: "agent 'coder' is not running: its pane is back at a shell (bash) instead of the pi runtime" });
  assert.doesNotThrow(() => refuseIfNotRunning('coder', { ...listed, currentCommand: 'bash' }, shell));
});

test('a pi still starting is waited for, and the send fails with nothing typed if it never draws its editor', async () => {
  const pane = new ScriptedPane(screen(fixture('pi-starting')));
  const err = await failure(pane, request(pi, { opts: { submit: true, timeoutMs: 200, force: false } }));
  assert.equal(err.message, "agent 'coder' did not become ready for input in time; nothing was typed");
  assert.ok(pane.calls.length > 1, 'the screen was read again while waiting');
  assert.deepEqual(pane.typed(), []);
});

test('a pane in copy mode is taken out of it before the paste', async () => {
  const pane = new ScriptedPane(screen(fixture('pi-idle'), { inMode: true }), { paste: (text) => piHolding(text), keys: () => screen(fixture('pi-busy')) });
  await deliver(pane, request(pi, { pane: { paneId: '%7', inMode: true, title: '' } }));
  assert.deepEqual(pane.typed(), ['cancel mode', 'paste "please refactor the parser" bracketed', 'keys Enter']);
});

test('the screen read with the pane listing is the first look, so the paste needs no read of its own', async () => {
  const pane = new ScriptedPane(screen(fixture('pi-idle')), { paste: (text) => piHolding(text), keys: () => screen(fixture('pi-busy')) });
  await deliver(pane, request(pi, { firstScreen: screen(fixture('pi-idle')) }));
  assert.equal(pane.calls[0], 'paste "please refactor the parser" bracketed');
});

test('a message already pasted into a shell is only submitted, with the key sent in the same call as the look before it', async () => {
  const prompt = screen(['$ please refactor the parser', ''], { cursorY: 0 });
  const pane = new ScriptedPane(prompt, { keys: () => screen(['$ please refactor the parser', 'done', '$ '], { cursorY: 2 }) });
  const delivery = await deliver(pane, request(shell, { alreadyPasted: true }));
  assert.deepEqual(pane.calls, ['screen, then keys Enter', 'screen']);
  assert.equal(delivery.submitted, true);
});

test('with --no-submit the message is pasted and no key follows', async () => {
  const pane = new ScriptedPane(screen(fixture('pi-idle')), { paste: (text) => piHolding(text) });
  const delivery = await deliver(pane, request(pi, { opts: { submit: false, timeoutMs: 5000, force: false } }));
  assert.deepEqual(pane.calls, ['screen', 'paste "please refactor the parser" bracketed']);
  assert.equal(delivery.submitted, false);
});
