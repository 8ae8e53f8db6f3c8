// The tmux transport: delivering messages to agents' panes on the holder's
// server. Every send resolves the agent's pane id once by exact session name
// and uses that id for every later call (docs/runtime-notes.md #1); holds the agent's
// lock across paste, submit and verify (#6); pastes from a uniquely named
// buffer loaded through stdin (#3, #4); leaves copy mode first (#5); and
// checks that the runtime took the message, with at most one rescue Enter (#2).
import { join } from 'node:path';
import { FleetError, UnconfirmedError, UsageError } from '../core/errors.js';
import { withLock } from './lock.js';
import { pollUntil, sleep } from '../core/poll.js';
import { composeMessage, controlProblem } from '../runtimes/message.js';
import { checkAgentName } from '../core/names.js';
import { runtimeDir } from '../core/paths.js';
import { agentProfile, profileFor, runtimeNames, SHELL_NAMES, type Profile } from '../runtimes/profiles.js';
import { bottomText, inputReady, inputText, submitState } from '../runtimes/screen.js';
import { AGENT_PANE_OPTION, agentPaneOf, formatAll, formatAny, PROFILE_OPTION, RUNTIME_OPTION, type Pane, type Screen, type SendStart, type Tmux } from '../tmux/tmux.js';
import { HOLDER_SESSION, requireHolder } from '../systemd/holder.js';
import type { AgentSession, Delivery, SendOptions, Transport } from './transport.js';

/**
 * How long to wait for the runtime to take the message after each submit
 * key, plus this much per KiB: a runtime can be busy for seconds with a large
 * paste (pi renders a 1 MB message into its conversation before it redraws
 * its editor), and a screen that has not caught up is no proof of anything.
 */
const VERIFY_MS = 1500;
const VERIFY_MS_PER_KIB = 10;
const POLL_MS = 15;
/** Rounds of clear keys for text left in an input, one line each, and how long each may take to show. */
const MAX_CLEAR_ROUNDS = 100;
const CLEAR_REDRAW_MS = 300;
/** How long an input that reads empty after a clear must stay empty to count. */
const CLEAR_CONFIRM_MS = 60;

let bufferSeq = 0;
const newBufferName = () => `mosaic-send-${process.pid}-${++bufferSeq}`;
const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

/** Puts a message into a pane: a fresh buffer per paste, or one loaded once for many panes. */
type Paste = (paneId: string, text: string, bracketed: boolean) => Promise<unknown>;

// Built-in runtimes whose screen need not be read before a paste: no input
// area to wait for, no approval prompt to refuse at, no full-screen program
// that could be back at a shell. The server can check the rest (see
// AT_ONCE_CONDITION), so a send to them pastes in its first tmux call.
// The message is composed before the runtime is known, so they must all
// write a --from line alike (the first one's way).
// Only the screen and --from fields of the built-in profiles are read here,
// never the launch argv (the one field an environment changes: the shell's).
const builtIn = (runtime: string) => profileFor(runtime, {});
const QUICK = runtimeNames().filter((r) => !needsScreenBeforePaste(builtIn(r)));
const PASTE_AT_ONCE = QUICK.filter((r) => builtIn(r).attribution === builtIn(QUICK[0]!).attribution);
const AT_ONCE_ATTRIBUTION = PASTE_AT_ONCE.length > 0 ? builtIn(PASTE_AT_ONCE[0]!).attribution : undefined;
// What the server checks before it pastes at once: the pane recorded as the
// session's agent pane, alive, not in a mode, of one of PASTE_AT_ONCE with
// no profile changes, on a server that has the holder's session.
const AT_ONCE_CONDITION = formatAll(
  `#{==:#{pane_id},#{${AGENT_PANE_OPTION}}}`,
  formatAny(...PASTE_AT_ONCE.map((r) => `#{==:#{${RUNTIME_OPTION}},${r}}`)),
  `#{==:#{${PROFILE_OPTION}},}`,
  '#{?pane_dead,0,1}',
  '#{?pane_in_mode,0,1}',
  `#{S:#{?#{==:#{session_name},${HOLDER_SESSION}},1,}}`,
);

function needsScreenBeforePaste(profile: Profile): boolean {
  return profile.tui || profile.markers.approval.length > 0 || profile.input.kind !== 'cursor-line' || Boolean(profile.submit.guardTrailingBackslash) || !profile.submit.bracketed;
}

export class TmuxTransport implements Transport {
  readonly kind = 'tmux';
  constructor(
    private readonly env: NodeJS.ProcessEnv,
    readonly tmux: Tmux,
  ) {}

  async send(agents: string[], text: string, opts: SendOptions): Promise<Array<Delivery | Error>> {
    const names = agents.map((a) => checkAgentName(a));
    const control = controlProblem(text);
    if (control && !opts.allowControl) {
      throw new UsageError(
        `the message holds a control character, ${control}: a runtime can read it as a key (an ESC cancels a turn), so nothing was sent`,
        'remove it, or paste it raw with --allow-control',
      );
    }
    // Nothing runs alongside a send to one agent, so its calls may block
    // (cheaper per call). Many agents go through the same steps at about the
    // same moment: their tmux calls are gathered into one call per step, and
    // the message is loaded once (stdin feeds one load per call) and pasted
    // from there. Each send gets a gateway in its mode of its own.
    const mode = names.length === 1 ? 'blocking' : 'coalesce';
    if (this.tmux.mode !== mode) return new TmuxTransport(this.env, this.tmux.withMode(mode)).send(agents, text, opts);
    if (names.length === 1) return [await this.sendSingle(names[0]!, text, opts, control !== undefined).catch(asError)];
    const started = Date.now();
    const panes = await requireHolder(this.tmux);
    await checkMissing(names, panes, opts);
    const raw = control !== undefined && (await this.tmux.pasteTakesRaw());
    const buffers = new Map<string, Promise<string>>();
    const paste: Paste = async (paneId, pasteText, bracketed) => {
      let loaded = buffers.get(pasteText);
      if (!loaded) {
        const buffer = newBufferName();
        loaded = this.tmux.loadBuffer(buffer, pasteText).then(() => buffer);
        buffers.set(pasteText, loaded);
      }
      await this.tmux.pasteBuffer(await loaded, paneId, bracketed, raw);
    };
    try {
      return await Promise.all(
        names.map(async (name) => {
          const pane = this.resolve(name, panes);
          const profile = agentProfile(pane.runtime, pane.profileJson, this.env);
          refuseIfNotRunning(name, pane, profile);
          const message = composeMessage(text, opts.from, profile.attribution);
          return withLock(this.lockPath(name), opts.timeoutMs, busyMessage(name), () => this.deliver(name, pane, profile, message, opts, started, paste));
        }).map((p) => p.catch(asError)),
      );
    } finally {
      // A process killed before this leaves its buffers on the server: small, and named after its pid.
      await Promise.all([...buffers.values()].map((b) => b.then((name) => this.tmux.deleteBuffer(name), () => undefined)));
    }
  }

  async sessions(): Promise<AgentSession[] | undefined> {
    const panes = await this.tmux.listPanes();
    if (!panes) return undefined;
    const names = [...new Set(panes.map((p) => p.session))].filter((s) => s !== HOLDER_SESSION);
    return names.map((name) => toSession(agentPaneOf(panes, name)!));
  }

  async read(agent: string, lines?: number): Promise<string> {
    const pane = this.resolve(checkAgentName(agent), await requireHolder(this.tmux));
    return this.tmux.capture(pane.paneId, lines);
  }

  /** The agent's pane, by exact session name; fails when there is no such session. */
  private resolve(name: string, panes: Pane[]): Pane {
    const pane = agentPaneOf(panes, name);
    // `mosaic-agent start` refuses a name the fleet does not know, so the hint cannot make an agent out of a typo.
    if (!pane) throw notRunning(name, `it has no session on the fleet's tmux server (socket '${this.tmux.socket}')`, 'start');
    return pane;
  }

  private lockPath(name: string): string {
    return join(runtimeDir(this.env), 'locks', `${name}.lock`);
  }

  /**
   * A send to one agent, holding its lock from the first tmux call on: the
   * call that lists the panes also pastes, where the server can tell that
   * nothing needs checking first (PASTE_AT_ONCE; not for a kickstart, which
   * waits for the runtime to draw its prompt).
   */
  private async sendSingle(name: string, text: string, opts: SendOptions, control: boolean): Promise<Delivery> {
    const started = Date.now();
    return withLock(this.lockPath(name), opts.timeoutMs, busyMessage(name), async () => {
      // Control characters (allowed) take the ordinary path, which can paste them raw.
      const quick = opts.waitReady || control || AT_ONCE_ATTRIBUTION === undefined ? undefined : composeMessage(text, opts.from, AT_ONCE_ATTRIBUTION);
      const first: SendStart = quick === undefined
        ? { panes: await this.tmux.listPanes(), pasted: false }
        : await this.tmux.listPanesAndPaste(name, newBufferName(), quick, AT_ONCE_CONDITION);
      const panes = await requireHolder(this.tmux, first.panes);
      await checkMissing([name], panes, opts);
      const pane = this.resolve(name, panes);
      const profile = agentProfile(pane.runtime, pane.profileJson, this.env);
      if (first.pasted) return this.deliver(name, pane, profile, quick!, opts, started, undefined);
      refuseIfNotRunning(name, pane, profile);
      const message = composeMessage(text, opts.from, profile.attribution);
      const raw = control && (await this.tmux.pasteTakesRaw());
      const paste: Paste = (paneId, pasteText, bracketed) => this.tmux.pasteText(newBufferName(), paneId, pasteText, bracketed, raw);
      // The screen that came with the listing is the agent's unless someone split its window.
      const screen = first.screen?.paneId === pane.paneId ? first.screen : undefined;
      return this.deliver(name, pane, profile, message, opts, started, paste, screen);
    });
  }

  /**
   * Deliver to one resolved agent, its lock held: wait until it can take
   * input, paste (unless `paste` is undefined: already pasted), then submit
   * and check that the runtime took the message.
   */
  private async deliver(
    name: string,
    pane: Pane,
    profile: Profile,
    message: string,
    opts: SendOptions,
    started: number,
    paste: Paste | undefined,
    firstScreen?: Screen,
  ): Promise<Delivery> {
    const deadline = started + opts.timeoutMs;
    const delivery: Delivery = { agent: name, target: pane.paneId, bytes: Buffer.byteLength(message), submitted: false, rescued: false, ms: 0 };
    if (paste) {
      if (opts.waitReady || pane.inMode || needsScreenBeforePaste(profile)) {
        const screen = await this.waitReady(name, pane, profile, deadline, opts.force, firstScreen);
        if (screen.inMode) await this.tmux.cancelMode(pane.paneId);
        // Not when forced: the screen may be a prompt, whose options read like input.
        const left = opts.force ? undefined : inputText(profile.input, screen.lines);
        if (left && profile.submit.clear?.length) {
          await this.clearInput(name, pane.paneId, profile, left);
          delivery.cleared = left;
        }
      }
      await paste(pane.paneId, profile.submit.guardTrailingBackslash && message.endsWith('\\') ? `${message} ` : message, profile.submit.bracketed);
    }
    if (opts.submit) {
      await sleep(profile.submit.delayMs);
      await this.submit(name, pane.paneId, profile, opts.force, delivery, deadline);
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
  private async submit(name: string, paneId: string, profile: Profile, force: boolean, delivery: Delivery, deadline: number): Promise<void> {
    const atCursor = profile.input.kind === 'cursor-line' || force;
    // Enter only once the runtime shows the paste: a runtime slow to read its
    // input shows an empty input area both before and after an Enter it has
    // not seen yet, which would pass for taken, and an Enter it then reads
    // too close to the paste can be lost (one message of ~2,800 arrived
    // glued to the next in the pi benchmark, #4).
    const shown = atCursor ? undefined : await this.waitPasteShown(name, paneId, profile, deadline);
    try {
      let before: Screen;
      if (shown) {
        before = shown;
        await this.tmux.sendKeys(paneId, profile.submit.key);
      } else {
        before = await this.tmux.screen(paneId, [profile.submit.key]);
      }
      const verifyMs = VERIFY_MS + Math.ceil(delivery.bytes / 1024) * VERIFY_MS_PER_KIB;
      const check = () => this.waitSubmitted(paneId, profile, before, Math.min(Date.now() + verifyMs, deadline));
      let state = await check();
      if (state === 'pending') {
        delivery.rescued = true;
        await this.tmux.sendKeys(paneId, profile.submit.key);
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
        `the message was pasted into agent '${name}' and a submit key was sent, then: ${asError(err).message}`,
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
  private async waitReady(name: string, pane: Pane, profile: Profile, deadline: number, force: boolean, first?: Screen): Promise<Screen> {
    let seen = first;
    const ready = await pollUntil(async () => {
      const screen = seen ?? (await this.tmux.screen(pane.paneId));
      seen = undefined;
      if (screen.dead) throw notRunning(name, 'its process has exited');
      if (!force) refuseIfBlocked(name, profile, screen, pane.title, this.tmux.socket);
      return screen.inMode || force || inputReady(profile, screen) ? screen : undefined;
    }, deadline, 50);
    if (ready) return ready;
    throw new FleetError(`agent '${name}' did not become ready for input in time; nothing was typed`, `look at it: mosaic-agent read ${name}`);
  }

  /**
   * Empty the runtime's input area, which holds `held`: the profile's clear
   * keys take the line the cursor is on, BSpace joins up the line above, and
   * so on until the area reads empty. Fails, with nothing pasted, when it
   * does not empty.
   */
  private async clearInput(name: string, paneId: string, profile: Profile, held: string): Promise<void> {
    let now: string | undefined = held;
    const read = async () => inputText(profile.input, (await this.tmux.screen(paneId)).lines);
    for (let round = 0; round < MAX_CLEAR_ROUNDS && now !== ''; round++) {
      const before: string | undefined = now;
      await this.tmux.sendKeys(paneId, ...(round > 0 ? ['BSpace'] : []), ...profile.submit.clear!);
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
  private async liveScreen(paneId: string): Promise<Screen> {
    const screen = await this.tmux.screen(paneId);
    if (screen.dead) throw new FleetError('the agent exited while the message was being submitted', 'check it: mosaic-agent status');
    return screen;
  }

  /** Poll until the runtime's input area holds text (the paste); fails at the send's deadline. */
  private async waitPasteShown(name: string, paneId: string, profile: Profile, deadline: number): Promise<Screen> {
    const shown = await pollUntil(async () => {
      const screen = await this.liveScreen(paneId);
      return (inputText(profile.input, screen.lines) ?? '') !== '' ? screen : undefined;
    }, deadline, POLL_MS);
    if (shown) return shown;
    throw new FleetError(
      `the message was pasted into agent '${name}' but never showed in its input area, so it was not submitted (it may still show up there)`,
      `look at it: mosaic-agent read ${name}`,
    );
  }

  /** Poll until the screen shows the input taken; else what it showed last, at `until`. */
  private async waitSubmitted(paneId: string, profile: Profile, before: Screen, until: number): Promise<'pending' | 'taken' | 'unknown'> {
    let state: 'pending' | 'taken' | 'unknown' = 'pending';
    await pollUntil(async () => {
      state = submitState(profile, before, await this.liveScreen(paneId));
      return state === 'taken' ? state : undefined;
    }, until, POLL_MS);
    return state;
  }
}

function busyMessage(name: string): string {
  return `agent '${name}' is busy receiving another message`;
}

function notRunning(name: string, why: string, verb: 'start' | 'restart' = 'restart'): FleetError {
  return new FleetError(`agent '${name}' is not running: ${why}`, `${verb} it: mosaic-agent ${verb} ${name}`);
}

/** Let the caller refuse the send for the agents with no session (SendOptions.checkMissing). */
async function checkMissing(names: string[], panes: Pane[], opts: SendOptions): Promise<void> {
  const missing = names.filter((n) => !agentPaneOf(panes, n));
  if (missing.length > 0) await opts.checkMissing?.(missing);
}

/** Refuse to type into a dead pane, or into a shell where a full-screen runtime should be. */
function refuseIfNotRunning(name: string, pane: Pane, profile: Profile): void {
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

function toSession(pane: Pane): AgentSession {
  return {
    name: pane.session,
    runtime: pane.runtime,
    target: pane.paneId,
    pid: pane.panePid,
    alive: !pane.dead,
    exitStatus: pane.deadStatus,
    created: pane.sessionCreated,
    foreground: pane.currentCommand,
    title: pane.title,
    profileJson: pane.profileJson,
  };
}
