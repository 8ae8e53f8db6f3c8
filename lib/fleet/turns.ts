// Waiting for agents (issue #15): until a state (`mosaic-agent wait`), or
// until the end of the turn a message started (`agent-send --wait`,
// `mosaic-agent ask`), with the reply. Where the runtime reports its turns
// (lib/events/hooks.ts) the wait is woken by the event itself: the event log
// is watched with inotify, nothing is polled on that path. Where it does not
// (a custom profile, MOSAIC_AGENT_COMMAND), the screen is read instead, every
// SCREEN_POLL_MS, two readings in a row agreeing.
import { activityOf, settledActivities, type Activity } from '../runtimes/activity.js';
import { agentProfile, type Profile } from '../runtimes/profiles.js';
import { FleetError, TimedOutError, WaitingForPersonError } from '../core/errors.js';
import { currentRun, EventFollower, replyOf, type AgentEvent } from '../events/event-log.js';
import { agentState, eventActivity, runHooks, type StateSource } from '../events/agent-state.js';
import { reportsBusy } from '../events/hooks.js';
import type { AgentSession, Transport } from '../send/transport.js';

/** How often a screen is read where the runtime reports nothing. */
export const SCREEN_POLL_MS = 300;
/** How often the agents' sessions are checked (an agent gone without its unit's `exited`) and a hook state is cross-checked with the screen. */
export const SAFETY_CHECK_MS = 2000;
/** A bash agent runs a message of several lines as several commands: the turn ends once no next one starts within this. */
export const SHELL_QUIET_MS = 300;
/** With the screen only: an agent that never showed busy is taken to have answered once it has been idle this long. */
export const SCREEN_ONLY_SETTLE_MS = 2000;

export type Until = 'idle' | 'busy' | 'waiting' | 'change';
export const UNTIL: readonly Until[] = ['idle', 'busy', 'waiting', 'change'];

/** One agent as a wait sees it. */
interface Watched {
  name: string;
  session: AgentSession;
  profile: Profile;
  /** The hook system of its current run, from the fleet's `started` event; undefined: the screen tells. */
  hooks: string | undefined;
  activity: Activity;
  source: StateSource;
  last?: AgentEvent;
}

export interface WaitOutcome {
  agent: string;
  activity: Activity;
  source: StateSource;
  /** The event that decided it, if one did. */
  event?: AgentEvent;
}

async function sessionsOf(transport: Transport, names: readonly string[]): Promise<Map<string, AgentSession>> {
  const all = await transport.sessions();
  if (!all) throw new FleetError("the fleet's tmux server is not running", 'start the holder: systemctl --user start mosaic-tmux-holder');
  const out = new Map<string, AgentSession>();
  for (const n of names) {
    const s = all.find((x) => x.name === n);
    if (s) out.set(n, s);
  }
  return out;
}

function gone(name: string, session: AgentSession | undefined): FleetError {
  const how = session && !session.alive ? `exited${session.exitStatus === undefined ? '' : ` with status ${session.exitStatus}`}` : 'has no session';
  return new FleetError(`agent '${name}' ${how}`, `see: mosaic-agent status ${name}; mosaic-agent logs ${name}`);
}

/** The screen state of an agent, read twice in a row until two readings agree (at most four). */
async function screenActivity(transport: Transport, w: Watched): Promise<Activity> {
  const read = async (): Promise<Map<string, Activity>> => {
    const lines = (await transport.read(w.name).catch(() => '')).split('\n');
    return new Map([[w.name, activityOf(w.profile, { dead: !w.session.alive, currentCommand: w.session.foreground, title: w.session.title }, lines)]]);
  };
  // As status reads a screen: two readings 150 ms apart agreeing, four at most.
  return (await settledActivities([w.name], new Set(), read, { intervalMs: 150, maxPolls: 4 })).get(w.name)!;
}

/** What an agent that stopped for a person asks, as far as its event or its screen tell. */
async function whatItAsks(transport: Transport, w: Watched): Promise<string> {
  const d = (w.last?.kind === 'waiting' ? w.last.data : null) as Record<string, unknown> | null;
  if (d) {
    // Gemini CLI's ToolPermission: details {type, title, command | fileName, ...}.
    const g = d.details as { title?: unknown; command?: unknown; fileName?: unknown } | null | undefined;
    if (g && typeof g === 'object' && typeof g.title === 'string') {
      const what = g.command ?? g.fileName;
      return typeof what === 'string' ? `${g.title}: ${what}` : g.title;
    }
    const tool = d.tool_name ?? d.toolName;
    const input = d.tool_input ?? d.details ?? d.message;
    if (tool !== undefined || input !== undefined) return `${tool === undefined ? '' : `${String(tool)}: `}${typeof input === 'string' ? input : JSON.stringify(input ?? '')}`;
  }
  const screen = (await transport.read(w.name).catch(() => '')).split('\n').filter((l) => l.trim() !== '');
  return screen.slice(-12).join('\n');
}

/**
 * Start watching agents: their sessions, profiles and current states, and a
 * follower of their event logs begun now (so nothing written after this call
 * is missed by the wait that follows, e.g. after a send).
 */
export async function watchAgents(transport: Transport, names: readonly string[], env: NodeJS.ProcessEnv): Promise<Watching> {
  const sessions = await sessionsOf(transport, names);
  const watching = new Watching(transport, env);
  for (const name of names) {
    const session = sessions.get(name);
    if (!session || !session.alive) throw gone(name, session);
    const profile = agentProfile(session.runtime, session.profileJson, env);
    const events = currentRun(name, env);
    const hooks = runHooks(events);
    const w: Watched = { name, session, profile, hooks, activity: 'unknown', source: 'screen' };
    const fromEvent = hooks ? eventActivity(events) : undefined;
    if (fromEvent) {
      w.activity = fromEvent.activity;
      w.source = 'event';
      w.last = events[events.length - 1];
    } else {
      w.activity = await screenActivity(transport, w);
    }
    watching.agents.set(name, w);
  }
  watching.follow();
  return watching;
}

/** Agents being watched; close() when done. */
export class Watching {
  readonly agents = new Map<string, Watched>();
  private follower: EventFollower | undefined;
  private queued = new Map<string, AgentEvent[]>();
  private wake: (() => void) | undefined;

  constructor(
    private readonly transport: Transport,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  follow(): void {
    this.follower = new EventFollower([...this.agents.keys()], (name, events) => {
      this.queued.set(name, [...(this.queued.get(name) ?? []), ...events]);
      this.wake?.();
    }, this.env);
  }

  close(): void {
    this.follower?.close();
    this.wake?.();
  }

  private seen = new Set<string>();

  /** Events that arrived for an agent since it was last asked (each once: replay and the follower may both see one). */
  private take(name: string): AgentEvent[] {
    this.follower?.check(name);
    const events = (this.queued.get(name) ?? []).filter((e) => {
      const key = `${e.ts}:${e.kind}:${e.via}`;
      if (this.seen.has(key)) return false;
      this.seen.add(key);
      return true;
    });
    this.queued.delete(name);
    return events;
  }

  /**
   * Take in an agent's events written since `sinceMs` before the follower
   * began (a turn that started before the wait did: a queued message
   * delivered while its sender waited for the delivery).
   */
  replay(name: string, sinceMs: number): void {
    const earlier = currentRun(name, this.env).filter((e) => e.ts >= sinceMs - 5);
    this.queued.set(name, [...earlier, ...(this.queued.get(name) ?? [])]);
  }

  /** Sleep until an event arrives or `ms` pass. */
  private nap(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
    });
  }

  /** Re-read the sessions: an agent whose session died is exited (its unit's `exited` may not come: no unit, a test fleet). */
  private async checkAlive(): Promise<void> {
    const sessions = await sessionsOf(this.transport, [...this.agents.keys()]).catch(() => new Map<string, AgentSession>());
    for (const w of this.agents.values()) {
      const s = sessions.get(w.name);
      if (!s || !s.alive) {
        w.activity = 'exited';
        if (s) w.session = s;
      }
    }
  }

  /**
   * Wait until the agents reach `until` (all of them, or any with `any`).
   * Fails (exit 1) when one exits or its turn fails, with exit 4 when one
   * stops to ask a person (unless that is what is waited for), exit 5 on
   * timeout. `timeoutMs` 0: no limit.
   */
  async until(until: Until, opts: { timeoutMs: number; any: boolean }): Promise<WaitOutcome[]> {
    const deadline = opts.timeoutMs > 0 ? Date.now() + opts.timeoutMs : Infinity;
    const initial = new Map([...this.agents].map(([n, w]) => [n, w.activity]));
    const reached = (w: Watched): boolean => {
      // An agent that exits or fails is never what was waited for (exit 1), a change included.
      if (until === 'change') return w.activity !== initial.get(w.name) && w.activity !== 'exited' && w.activity !== 'error';
      return w.activity === ({ idle: 'idle', busy: 'busy', waiting: 'waiting-for-input' } as const)[until];
    };
    let lastSafety = Date.now();
    for (;;) {
      for (const w of this.agents.values()) {
        for (const e of this.take(w.name)) this.apply(w, e);
      }
      if (Date.now() - lastSafety >= SAFETY_CHECK_MS) {
        lastSafety = Date.now();
        await this.checkAlive();
        for (const w of this.agents.values()) if (w.activity !== 'exited') await this.crossCheck(w);
      }
      for (const w of this.agents.values()) {
        if (w.source === 'screen' && w.activity !== 'exited') w.activity = await screenActivity(this.transport, w);
      }
      const all = [...this.agents.values()];
      for (const w of all) {
        if (reached(w)) continue;
        if (w.activity === 'exited') throw gone(w.name, w.session);
        if (w.activity === 'error') throw turnError(w);
        if (w.activity === 'waiting-for-input' && until !== 'waiting') throw new WaitingForPersonError(`agent '${w.name}' is waiting for a person: ${await whatItAsks(this.transport, w)}`, `answer it: mosaic-agent attach ${w.name}`);
      }
      const done = all.filter(reached);
      if (opts.any ? done.length > 0 : done.length === all.length) return done.map(outcomeOf);
      if (Date.now() >= deadline) throw timedOut(all.filter((w) => !reached(w)), until);
      const screenOnly = all.some((w) => w.source === 'screen');
      await this.nap(Math.min(screenOnly ? SCREEN_POLL_MS : SAFETY_CHECK_MS, deadline - Date.now()));
    }
  }

  /** Take one event into an agent's state. */
  private apply(w: Watched, e: AgentEvent): void {
    if (e.kind === 'started') {
      // A new run: its screen tells until its next event. A runtime's own
      // (a /clear, a /new) changes nothing.
      if (e.via !== 'fleet') return;
      // null when it runs without hooks (a command of its own, settings they could not be added to).
      w.hooks = runHooks([e]);
      w.source = 'screen';
      return;
    }
    if (!w.hooks && e.kind !== 'exited') return;
    w.activity = eventActivity([e])!.activity;
    w.source = 'event';
    w.last = e;
  }

  /** An event state the screen has contradicted for a while is corrected (an Esc in Claude Code fires nothing). */
  private async crossCheck(w: Watched): Promise<void> {
    if (w.source !== 'event' || !w.last) return;
    const screen = await screenActivity(this.transport, w);
    const state = agentState(w.name, w.profile, [w.last], screen, Date.now(), this.env);
    if (state.source === 'screen') w.activity = state.activity;
  }

  /**
   * Wait for the end of the turn a message sent at `sentAt` started: for a
   * runtime that reports the start of a turn, its next `busy`, then the
   * `idle` after it; for one that reports only the end (Codex's notify),
   * the next `idle`; with the screen only, busy then idle (or idle for
   * SCREEN_ONLY_SETTLE_MS, for an answer too quick to be seen busy).
   */
  async turn(name: string, sentAt: number, opts: { timeoutMs: number; message: string }): Promise<TurnEnd> {
    const w = this.agents.get(name)!;
    const deadline = opts.timeoutMs > 0 ? Date.now() + opts.timeoutMs : Infinity;
    const needsBusy = w.hooks !== undefined && reportsBusy(w.hooks);
    // A message of several lines is several commands in a shell.
    const quietMs = w.hooks === 'bash' && opts.message.includes('\n') ? SHELL_QUIET_MS : 0;
    let sawBusy = false;
    let end: AgentEvent | undefined;
    let endAt = 0;
    let idleSince: number | undefined;
    let lastSafety = Date.now();
    for (;;) {
      for (const e of this.take(name)) {
        if (e.ts < sentAt - 5) continue;
        this.apply(w, e);
        if (e.kind === 'busy') {
          sawBusy = true;
          end = undefined;
        } else if (e.kind === 'exited') {
          throw gone(name, { ...w.session, alive: false });
        } else if (e.kind === 'waiting') {
          throw new WaitingForPersonError(`agent '${name}' is waiting for a person: ${await whatItAsks(this.transport, w)}`, `answer it: mosaic-agent attach ${name}`);
        } else if ((e.kind === 'idle' || e.kind === 'error') && (sawBusy || !needsBusy)) {
          end = e;
          endAt = Date.now();
        }
      }
      if (end && Date.now() - endAt >= quietMs) {
        if (end.kind === 'error') throw turnError({ ...w, last: end });
        return { agent: name, event: end, source: 'event', reply: replyOf(end), replySource: replyOf(end) === undefined ? undefined : 'event' };
      }
      if (Date.now() - lastSafety >= SAFETY_CHECK_MS) {
        lastSafety = Date.now();
        await this.checkAlive();
        if (w.activity === 'exited') throw gone(name, w.session);
        // The hook path has its cross-check too: a turn ended by an Esc in Claude Code reports nothing.
        // The correction is an event of its own, taken in on the next round.
        if (w.source === 'event' && sawBusy) await this.crossCheck(w);
      }
      if (w.hooks === undefined || w.source === 'screen') {
        const a = await screenActivity(this.transport, w);
        if (a === 'exited') throw gone(name, w.session);
        if (a === 'waiting-for-input') {
          // Events written since this round's take (the safety check above can take a while)
          // come first: a runtime reports what it asks before it shows it.
          this.follower?.check(name);
          if (w.hooks !== undefined && (this.queued.get(name)?.length ?? 0) > 0) continue;
          throw new WaitingForPersonError(`agent '${name}' is waiting for a person: ${await whatItAsks(this.transport, w)}`, `answer it: mosaic-agent attach ${name}`);
        }
        if (w.hooks === undefined) {
          if (a === 'busy') {
            sawBusy = true;
            idleSince = undefined;
          } else if (a === 'idle') {
            idleSince ??= Date.now();
            if (sawBusy || Date.now() - idleSince >= SCREEN_ONLY_SETTLE_MS) return { agent: name, source: 'screen' };
          }
        }
      }
      if (Date.now() >= deadline) throw timedOut([w], 'the end of its turn');
      await this.nap(Math.min(w.hooks === undefined || w.source === 'screen' || quietMs ? SCREEN_POLL_MS : SAFETY_CHECK_MS, deadline - Date.now()));
    }
  }
}

/** The end of a turn, with the reply where the runtime gave it. */
export interface TurnEnd {
  agent: string;
  source: StateSource;
  event?: AgentEvent;
  reply?: string;
  /** Where the reply came from: the runtime's event, or the screen (what the pane printed after the message). */
  replySource?: 'event' | 'screen';
}

function outcomeOf(w: Watched): WaitOutcome {
  return { agent: w.name, activity: w.activity, source: w.source, ...(w.last ? { event: w.last } : {}) };
}

function turnError(w: Watched): FleetError {
  const d = (w.last?.data ?? null) as Record<string, unknown> | null;
  const why = d ? String(d.error ?? d.error_details ?? d.message ?? JSON.stringify(d)) : 'no details';
  return new FleetError(`agent '${w.name}': its turn ended in an error: ${why}`, `see: mosaic-agent read ${w.name}`);
}

function timedOut(agents: Watched[], what: string): TimedOutError {
  const list = agents.map((w) => `${w.name} (${w.activity})`).join(', ');
  return new TimedOutError(`timed out waiting for ${what === 'the end of its turn' ? what : `'${what}'`}: ${list}`, 'wait longer with --timeout SECONDS (0: no limit)');
}

/**
 * The reply as the pane shows it, for a runtime whose events carry none:
 * the lines after the message's last line, up to the runtime's input area
 * (a full-screen runtime's frame: its rules and prompt) or, in a shell, the
 * next prompt. Blank lines around it are dropped.
 */
export function replyFromScreen(profile: Profile, screen: string, message: string): string | undefined {
  const lines = screen.split('\n').map((l) => l.replace(/\s+$/, ''));
  const lastLine = message.split('\n').map((l) => l.trim()).filter(Boolean).pop();
  if (!lastLine) return undefined;
  // A long line wraps: look for its end.
  const needle = lastLine.slice(-40);
  let start = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (lines[i]!.includes(needle)) {
      start = i + 1;
      break;
    }
  }
  if (start < 0) return undefined;
  let end = lines.length;
  while (end > start && lines[end - 1]!.trim() === '') end--;
  if (profile.input.kind === 'cursor-line') {
    // The shell's next prompt is the last line.
    end = Math.max(start, end - 1);
  } else {
    // The input area and what is below it: from the last rule or prompt line up.
    const frame = (l: string) => /^\s*[─━]{3,}/.test(l) || /^\s*(›|❯|>|\*|┃)(\s|$)/.test(l);
    let i = end - 1;
    while (i >= start && !frame(lines[i]!)) i--;
    if (i >= start) {
      while (i > start && frame(lines[i - 1]!)) i--;
      end = i;
    }
  }
  const out = lines.slice(start, end);
  while (out.length && out[0]!.trim() === '') out.shift();
  while (out.length && out[out.length - 1]!.trim() === '') out.pop();
  return out.join('\n');
}
