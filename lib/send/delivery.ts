// Delivering one message into one agent's pane, its lock held: wait until the
// runtime can take input (refusing at a prompt that needs a person), clear
// text left in its input, paste, press the submit key once the paste shows,
// and check that the runtime took it, with at most one rescue key
// (docs/runtime-notes.md #2). It reaches the pane only through PaneIO, so the
// tmux transport gives it a pane on the fleet's server and the unit tests a
// scripted one (tests/unit/delivery.test.ts).
import { FleetError, UnconfirmedError } from '../core/errors.js';
import { pollUntil, sleep } from '../core/poll.js';
import { SHELL_NAMES, type Profile } from '../runtimes/profiles.js';
import { bottomText, inputReady, inputText, submitState } from '../runtimes/screen.js';
import type { Pane, Screen } from '../tmux/tmux.js';
import type { Delivery, SendOptions } from './transport.js';

/**
 * How long to wait for the runtime to take the message after each submit
 * key, plus this much per KiB: a runtime can be busy for seconds with a large
 * paste (pi renders a 1 MB message into its conversation before it redraws
 * its editor), and a screen that has not caught up is no proof of anything.
 */
const VERIFY_MS = 1500;
const VERIFY_MS_PER_KIB = 10;
const POLL_MS = 15;
/** How often to look at the screen while waiting for the runtime to be ready. */
const READY_POLL_MS = 50;
/** Rounds of clear keys for text left in an input, one line each, and how long each may take to show. */
const MAX_CLEAR_ROUNDS = 100;
const CLEAR_REDRAW_MS = 300;
/** How long an input that reads empty after a clear must stay empty to count. */
const CLEAR_CONFIRM_MS = 60;

/** One agent's pane, the only way delivery reaches it. */
export interface PaneIO {
  /**
   * The visible screen with its cursor and mode; with `thenKeys`, those keys
   * are sent right after the capture, in the same call, so the screen is
   * exactly the one the keys arrived at.
   */
  screen(thenKeys?: string[]): Promise<Screen>;
  /** Send tmux key names. */
  sendKeys(...keys: string[]): Promise<void>;
  /** Paste text, with bracketed-paste markers when `bracketed` and the program asked for them. */
  paste(text: string, bracketed: boolean): Promise<void>;
  /** Leave copy mode (or any mode), so typed input reaches the program. */
  cancelMode(): Promise<void>;
}

/** One message for one resolved agent, as deliver takes it. */
export interface DeliveryRequest {
  agent: string;
  /** The agent's pane as listed: its id names the delivery's target, its mode and title are read before the paste. */
  pane: Pick<Pane, 'paneId' | 'inMode' | 'title'>;
  profile: Profile;
  /** The text to paste, attribution included. */
  message: string;
  opts: Pick<SendOptions, 'submit' | 'timeoutMs' | 'force' | 'waitReady'>;
  /** When the send began (epoch ms); its deadline is this plus opts.timeoutMs, lock wait included. */
  started: number;
  /** The message is in the pane already (the call that listed the panes pasted it): only submit. */
  alreadyPasted?: boolean;
  /** The pane's screen read with the listing, the first look before the paste. */
  firstScreen?: Screen;
  /** The tmux socket, named in the hint of a send refused at a prompt. */
  socket: string;
}

/** Whether a runtime's screen must be read before a paste: it has an input area, prompts or paste rules to respect. */
export function needsScreenBeforePaste(profile: Profile): boolean {
  return profile.tui || profile.markers.approval.length > 0 || profile.input.kind !== 'cursor-line' || Boolean(profile.submit.guardTrailingBackslash) || !profile.submit.bracketed;
}

/**
 * Deliver to one resolved agent, its lock held: wait until it can take
 * input, paste (unless already pasted), then submit and check that the
 * runtime took the message.
 */
export async function deliver(io: PaneIO, req: DeliveryRequest): Promise<Delivery> {
  const { agent: name, pane, profile, message, opts, started } = req;
  const deadline = started + opts.timeoutMs;
  const delivery: Delivery = { agent: name, target: pane.paneId, bytes: Buffer.byteLength(message), submitted: false, rescued: false, ms: 0 };
  if (!req.alreadyPasted) {
    if (opts.waitReady || pane.inMode || needsScreenBeforePaste(profile)) {
      const screen = await waitReady(io, req, deadline);
      if (screen.inMode) await io.cancelMode();
      // Not when forced: the screen may be a prompt, whose options read like input.
      const left = opts.force ? undefined : inputText(profile.input, screen.lines);
      if (left && profile.submit.clear?.length) {
        await clearInput(io, name, profile, left);
        delivery.cleared = left;
      }
    }
    await io.paste(profile.submit.guardTrailingBackslash && message.endsWith('\\') ? `${message} ` : message, profile.submit.bracketed);
  }
  if (opts.submit) {
    await sleep(profile.submit.delayMs);
    await submit(io, name, profile, opts.force, delivery, deadline);
    delivery.submitted = true;
  }
  delivery.ms = Date.now() - started;
  return delivery;
}

/**
 * Press the submit key and check that the runtime took the message, with
 * at most one rescue key. From the first key on, every failure is
 * UnconfirmedError (exit 3), never "not delivered": the runtime may have
 * taken the message, and a caller that resends on exit 1 would deliver it
 * twice (#13: a 1 MB message to pi was taken once while the send said it
 * was not).
 */
async function submit(io: PaneIO, name: string, profile: Profile, force: boolean, delivery: Delivery, deadline: number): Promise<void> {
  const atCursor = profile.input.kind === 'cursor-line' || force;
  // Enter only once the runtime shows the paste: a runtime slow to read its
  // input shows an empty input area both before and after an Enter it has
  // not seen yet, which would pass for taken, and an Enter it then reads
  // too close to the paste can be lost (one message of ~2,800 arrived
  // glued to the next in the pi benchmark, #4).
  const shown = atCursor ? undefined : await waitPasteShown(io, name, profile, deadline);
  try {
    let before: Screen;
    if (shown) {
      before = shown;
      await io.sendKeys(profile.submit.key);
    } else {
      before = await io.screen([profile.submit.key]);
    }
    const verifyMs = VERIFY_MS + Math.ceil(delivery.bytes / 1024) * VERIFY_MS_PER_KIB;
    const check = () => waitSubmitted(io, profile, before, Math.min(Date.now() + verifyMs, deadline));
    let state = await check();
    if (state === 'pending') {
      delivery.rescued = true;
      await io.sendKeys(profile.submit.key);
      state = await check();
    }
    if (state === 'pending') {
      throw new UnconfirmedError(
        `the message was pasted into agent '${name}' and submitted twice, but its input still showed it: the runtime may still be busy with it, or may not have taken it`,
        `read it before sending again: mosaic-agent read ${name}`,
      );
    }
    // Forced past a prompt that covers the input area: nothing can show the outcome.
    if (state === 'unknown' && !force) {
      // No second key here: with the input area gone, it could land in whatever covers it.
      throw new UnconfirmedError(
        `the message was pasted into agent '${name}' and submitted, but its input area did not come back to show that the runtime took it`,
        `read it before sending again: mosaic-agent read ${name}`,
      );
    }
  } catch (err) {
    if (err instanceof UnconfirmedError) throw err;
    throw new UnconfirmedError(
      `the message was pasted into agent '${name}' and a submit key was sent, then: ${err instanceof Error ? err.message : String(err)}`,
      `read it before sending again: mosaic-agent read ${name}`,
    );
  }
}

/**
 * Wait until the runtime can take input: a paste that reaches pi before its
 * editor is drawn is echoed raw and its Enter becomes a newline. A prompt
 * that needs a person (approval, folder trust) refuses the send at once,
 * unless forced.
 */
async function waitReady(io: PaneIO, req: DeliveryRequest, deadline: number): Promise<Screen> {
  const { agent: name, profile, opts } = req;
  let seen = req.firstScreen;
  const ready = await pollUntil(async () => {
    const screen = seen ?? (await io.screen());
    seen = undefined;
    if (screen.dead) throw notRunning(name, 'its process has exited');
    if (!opts.force) refuseIfBlocked(name, profile, screen, req.pane.title, req.socket);
    return screen.inMode || opts.force || inputReady(profile, screen) ? screen : undefined;
  }, deadline, READY_POLL_MS);
  if (ready) return ready;
  throw new FleetError(`agent '${name}' did not become ready for input in time; nothing was typed`, `look at it: mosaic-agent read ${name}`);
}

/**
 * Empty the runtime's input area, which holds `held`: the profile's clear
 * keys take the line the cursor is on, BSpace joins up the line above, and
 * so on until the area reads empty. Fails, with nothing pasted, when it
 * does not empty.
 */
async function clearInput(io: PaneIO, name: string, profile: Profile, held: string): Promise<void> {
  let now: string | undefined = held;
  const read = async () => inputText(profile.input, (await io.screen()).lines);
  for (let round = 0; round < MAX_CLEAR_ROUNDS && now !== ''; round++) {
    const before: string | undefined = now;
    await io.sendKeys(...(round > 0 ? ['BSpace'] : []), ...profile.submit.clear!);
    // Each round waits for the runtime to redraw, so no round is sent on a stale screen.
    await pollUntil(async () => {
      now = await read();
      return now !== before ? true : undefined;
    }, Date.now() + CLEAR_REDRAW_MS, POLL_MS);
    // An empty input must still read empty a moment later: Codex, mid-redraw
    // after a BSpace, showed an empty prompt line over a first line it still
    // held, and the message was pasted after that line (it arrived joined).
    if (now === '') {
      await sleep(CLEAR_CONFIRM_MS);
      now = await read();
    }
  }
  if (now !== '') {
    throw new FleetError(
      `agent '${name}' holds text in its input that was never sent, and it could not be cleared; nothing was pasted (it holds: ${JSON.stringify(now?.slice(0, 80))})`,
      `look at it: mosaic-agent read ${name}`,
    );
  }
}

/** The pane's screen while a message is being submitted; fails if the agent has exited meanwhile. */
async function liveScreen(io: PaneIO): Promise<Screen> {
  const screen = await io.screen();
  if (screen.dead) throw new FleetError('the agent exited while the message was being submitted', 'check it: mosaic-agent status');
  return screen;
}

/** Poll until the runtime's input area holds text (the paste); fails at the send's deadline. */
async function waitPasteShown(io: PaneIO, name: string, profile: Profile, deadline: number): Promise<Screen> {
  const shown = await pollUntil(async () => {
    const screen = await liveScreen(io);
    return (inputText(profile.input, screen.lines) ?? '') !== '' ? screen : undefined;
  }, deadline, POLL_MS);
  if (shown) return shown;
  throw new FleetError(
    `the message was pasted into agent '${name}' but never showed in its input area, so it was not submitted (it may still show up there)`,
    `look at it: mosaic-agent read ${name}`,
  );
}

/** Poll until the screen shows the input taken; else what it showed last, at `until`. */
async function waitSubmitted(io: PaneIO, profile: Profile, before: Screen, until: number): Promise<'pending' | 'taken' | 'unknown'> {
  let state: 'pending' | 'taken' | 'unknown' = 'pending';
  await pollUntil(async () => {
    state = submitState(profile, before, await liveScreen(io));
    return state === 'taken' ? state : undefined;
  }, until, POLL_MS);
  return state;
}

/** An agent's "not running" refusal, with the command that brings it back. */
export function notRunning(name: string, why: string, verb: 'start' | 'restart' = 'restart'): FleetError {
  return new FleetError(`agent '${name}' is not running: ${why}`, `${verb} it: mosaic-agent ${verb} ${name}`);
}

/** Refuse to type into a dead pane, or into a shell where a full-screen runtime should be. */
export function refuseIfNotRunning(name: string, pane: Pick<Pane, 'dead' | 'deadStatus' | 'customCommand' | 'currentCommand'>, profile: Profile): void {
  if (pane.dead) throw notRunning(name, `its process has exited (status ${pane.deadStatus ?? 'unknown'})`);
  if (profile.tui && !pane.customCommand && SHELL_NAMES.has(pane.currentCommand)) {
    throw notRunning(name, `its pane is back at a shell (${pane.currentCommand}) instead of the ${profile.name} runtime`);
  }
}

/** Refuse while an approval or first-run prompt is on screen: an Enter there can pick "No, exit". */
function refuseIfBlocked(name: string, profile: Profile, screen: Screen, title: string, socket: string): void {
  const bottom = bottomText(screen.lines);
  const marker = profile.markers.approval.find((m) => bottom.includes(m)) ?? (profile.markers.titleApproval ?? []).find((m) => title.includes(m));
  if (marker) {
    throw new FleetError(
      `agent '${name}' is showing a prompt that needs a person ("${marker}"); nothing was typed`,
      `answer it: tmux -L ${socket} attach -t =${name}, or send anyway with --force`,
    );
  }
}
