// An agent's state: from its latest event where its runtime reports them
// (lib/events/hooks.ts), from its screen otherwise, with the screen as a
// cross-check (issue #15): an Esc in Claude Code fires no hook, so a `busy`
// the screen has shown idle for a while is corrected, and the correction is
// logged as an event of its own.
import type { Activity } from '../runtimes/activity.js';
import type { Profile } from '../runtimes/profiles.js';
import { appendEvent, type AgentEvent, type EventKind } from './event-log.js';

export type StateSource = 'event' | 'screen';

export interface AgentState {
  activity: Activity;
  source: StateSource;
  /** Since when (epoch ms), where known: the event's time, or the start's for a screen state. */
  since: number | null;
  /** The event it came from (`claude:Stop`...), for an event state. */
  via?: string;
}

const ACTIVITY_OF: Record<Exclude<EventKind, 'started'>, Activity> = {
  busy: 'busy',
  idle: 'idle',
  waiting: 'waiting-for-input',
  error: 'error',
  exited: 'exited',
};

/** How long an event state may disagree with a settled screen before the screen wins. */
export const CORRECT_AFTER_MS = 10_000;

/**
 * The state the latest event of the agent's current run says; undefined when
 * it says nothing yet (the fleet's `started` is the last). A runtime's own
 * `started` (Claude Code's SessionStart after a /clear, pi's session_start
 * after /new) changes nothing: the state before it stands.
 */
export function eventActivity(events: readonly AgentEvent[]): { activity: Activity; since: number; via: string } | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (e.kind === 'started') {
      if (e.via === 'fleet') return undefined;
      continue;
    }
    return { activity: ACTIVITY_OF[e.kind], since: e.ts, via: e.via };
  }
  return undefined;
}

/**
 * The hook system the fleet wired into the agent's current run, as its
 * `started` event recorded it; undefined: none (its screen tells).
 */
export function runHooks(events: readonly AgentEvent[]): string | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (e.kind === 'started' && e.via === 'fleet') {
      const h = (e.data as { hooks?: unknown } | null)?.hooks;
      return typeof h === 'string' ? h : undefined;
    }
  }
  return undefined;
}

/** When the agent's current run began, by its events (the fleet's `started`). */
export function startedAt(events: readonly AgentEvent[]): number | null {
  for (let i = events.length - 1; i >= 0; i--) if (events[i]!.kind === 'started' && events[i]!.via === 'fleet') return events[i]!.ts;
  return null;
}

/**
 * Whether a screen can overrule the events of a runtime: only a full-screen
 * runtime that shows when it is busy (a shell's foreground program is no
 * proof: a loop in the shell itself looks idle, while its hooks never miss).
 */
function screenCanCorrect(profile: Profile): boolean {
  return profile.tui && (profile.markers.busy.length > 0 || (profile.markers.titleBusy ?? []).length > 0);
}

/**
 * The agent's state from its recent events (oldest first) and its settled
 * screen state, at `now`. A disagreement older than CORRECT_AFTER_MS between
 * an event's busy, idle or waiting and what the screen shows is corrected to
 * the screen's (and logged, so later readers agree).
 */
export function agentState(name: string, profile: Profile, events: readonly AgentEvent[], screen: Activity, now = Date.now(), env: NodeJS.ProcessEnv): AgentState {
  const started = startedAt(events);
  if (screen === 'exited') return { activity: 'exited', source: 'screen', since: null };
  const fromEvent = eventActivity(events);
  if (!fromEvent || fromEvent.activity === 'exited') return { activity: screen, source: 'screen', since: started };
  const settled = ['idle', 'busy', 'waiting-for-input'];
  if (
    screenCanCorrect(profile) &&
    settled.includes(screen) &&
    settled.includes(fromEvent.activity) &&
    screen !== fromEvent.activity &&
    now - fromEvent.since >= CORRECT_AFTER_MS
  ) {
    const kind: EventKind = screen === 'busy' ? 'busy' : screen === 'idle' ? 'idle' : 'waiting';
    appendEvent(name, kind, 'screen', { corrected: fromEvent.activity, event_via: fromEvent.via }, env);
    return { activity: screen, source: 'screen', since: now };
  }
  return { activity: fromEvent.activity, source: 'event', since: fromEvent.since, via: fromEvent.via };
}
