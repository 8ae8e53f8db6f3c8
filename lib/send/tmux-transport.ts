// The tmux transport: delivering messages to agents' panes on the holder's
// server. Every send resolves the agent's pane id once by exact session name
// and uses that id for every later call (docs/runtime-notes.md #1); holds the agent's
// lock across paste, submit and verify (#6); pastes from a uniquely named
// buffer loaded through stdin (#3, #4); and leaves copy mode first (#5). What
// happens in the pane, from the first look to the check that the runtime took
// the message, is lib/send/delivery.ts, reached through a PaneIO made here.
import { join } from 'node:path';
import { UsageError } from '../core/errors.js';
import { withLock } from './lock.js';
import { deliver, needsScreenBeforePaste, notRunning, refuseIfNotRunning, type PaneIO } from './delivery.js';
import { composeMessage, controlProblem } from '../runtimes/message.js';
import { checkAgentName } from '../core/names.js';
import { runtimeDir } from '../core/paths.js';
import { agentProfile, profileFor, runtimeNames } from '../runtimes/profiles.js';
import { AGENT_PANE_OPTION, agentPaneOf, formatAll, formatAny, PROFILE_OPTION, RUNTIME_OPTION, type Pane, type SendStart, type Tmux } from '../tmux/tmux.js';
import { HOLDER_SESSION, requireHolder } from '../systemd/holder.js';
import type { AgentSession, Delivery, SendOptions, Transport } from './transport.js';

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
          return withLock(this.lockPath(name), opts.timeoutMs, busyMessage(name), () =>
            deliver(this.paneIO(pane.paneId, paste), { agent: name, pane, profile, message, opts, started, socket: this.tmux.socket }),
          );
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
      const socket = this.tmux.socket;
      if (first.pasted) return deliver(this.paneIO(pane.paneId), { agent: name, pane, profile, message: quick!, opts, started, alreadyPasted: true, socket });
      refuseIfNotRunning(name, pane, profile);
      const message = composeMessage(text, opts.from, profile.attribution);
      const raw = control && (await this.tmux.pasteTakesRaw());
      const paste: Paste = (paneId, pasteText, bracketed) => this.tmux.pasteText(newBufferName(), paneId, pasteText, bracketed, raw);
      // The screen that came with the listing is the agent's unless someone split its window.
      const screen = first.screen?.paneId === pane.paneId ? first.screen : undefined;
      return deliver(this.paneIO(pane.paneId, paste), { agent: name, pane, profile, message, opts, started, firstScreen: screen, socket });
    });
  }

  /**
   * The delivery logic's way into one pane on this server; `paste` undefined
   * for a message the first call pasted already, which delivery never pastes.
   */
  private paneIO(paneId: string, paste?: Paste): PaneIO {
    return {
      screen: (thenKeys) => this.tmux.screen(paneId, thenKeys),
      sendKeys: async (...keys) => {
        await this.tmux.sendKeys(paneId, ...keys);
      },
      paste: async (text, bracketed) => {
        if (!paste) throw new Error(`the message is already in pane ${paneId}`);
        await paste(paneId, text, bracketed);
      },
      cancelMode: async () => {
        await this.tmux.cancelMode(paneId);
      },
    };
  }
}

function busyMessage(name: string): string {
  return `agent '${name}' is busy receiving another message`;
}

/** Let the caller refuse the send for the agents with no session (SendOptions.checkMissing). */
async function checkMissing(names: string[], panes: Pane[], opts: SendOptions): Promise<void> {
  const missing = names.filter((n) => !agentPaneOf(panes, n));
  if (missing.length > 0) await opts.checkMissing?.(missing);
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
