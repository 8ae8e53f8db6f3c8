// The fleet's dispatcher (issue #16): one long-lived process for the whole
// fleet (units/mosaic-fleet-dispatch.service), not one per agent. It
// delivers queued messages (lib/dispatch/queue.ts) one per turn, in order,
// and runs the roster's notifiers (lib/dispatch/notify.ts).
//
// It is woken, not polling: inotify on the event logs (an agent's `idle` is
// its cue to deliver the next message) and on the queue directories (a new
// message for an agent that is idle now goes at once). Only an agent whose
// runtime reports nothing (its screen tells) is looked at every second, and
// only while a message waits for it.
import { mkdirSync, readFileSync, rmSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { isAlive } from '../core/exec.js';
import { UnconfirmedError } from '../core/errors.js';
import { listDir } from '../core/fsutil.js';
import { runtimeDir } from '../core/paths.js';
import { activityOf, type Activity } from '../runtimes/activity.js';
import { agentProfile } from '../runtimes/profiles.js';
import { currentRun, eventsDir, EventFollower, type AgentEvent } from '../events/event-log.js';
import { eventActivity, runHooks } from '../events/agent-state.js';
import type { AgentSession, Transport } from '../send/transport.js';
import { agentQueue, markDelivered, moveMessage, noteError, queueDir, queueRoot, queuedAgents, recoverInterrupted, type QueuedMessage } from './queue.js';

/** How often an agent whose screen tells its state is looked at, while a message waits for it. */
export const SCREEN_CHECK_MS = 1000;
/** How long a delivery may take, the agent's lock included. */
const DELIVERY_TIMEOUT_MS = 30_000;
/** After a delivery to an agent whose screen tells its state: the turn must show on screen, or this long pass. */
const SCREEN_TURN_GAP_MS = 3000;
/** After a delivery that typed nothing failed (the agent was not ready, its lock was held): the next try. */
const RETRY_MS = 5000;

export interface DispatcherOptions {
  env: NodeJS.ProcessEnv;
  transport: Transport;
  /** Where the dispatcher says what it did (the journal, under systemd). */
  log?: (line: string) => void;
  /** Called with each agent's new events (the notifiers). */
  onEvents?: (agent: string, events: AgentEvent[]) => void;
}

interface AgentWork {
  /** Deliveries to one agent run one after the other. */
  chain: Promise<void>;
  /** When the last message was delivered: the next waits for an `idle` after it. */
  deliveredAt: number;
  /** A screen check is scheduled. */
  timer?: NodeJS.Timeout;
}

/** The pid file that keeps the dispatcher to one per user. */
export function dispatcherPidFile(env: NodeJS.ProcessEnv): string {
  return join(runtimeDir(env), 'dispatcher.pid');
}

/** The pid of the running dispatcher, if there is one. */
export function runningDispatcher(env: NodeJS.ProcessEnv): number | undefined {
  try {
    const pid = Number(readFileSync(dispatcherPidFile(env), 'utf8').trim());
    return pid > 1 && isAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

export class Dispatcher {
  private readonly env: NodeJS.ProcessEnv;
  private readonly log: (line: string) => void;
  private readonly work = new Map<string, AgentWork>();
  private events: EventFollower | undefined;
  private queueWatchers = new Map<string, FSWatcher>();
  /** The agents that have a queue directory (watchQueues sees each new one, and looks at it). */
  private readonly queues = new Set<string>();
  private rootWatcher: FSWatcher | undefined;
  private closed = false;

  constructor(private readonly opts: DispatcherOptions) {
    this.env = opts.env;
    this.log = opts.log ?? ((l) => process.stderr.write(`${l}\n`));
  }

  /** Take the fleet's dispatcher role, recover what a dead one left, and start watching. */
  async start(): Promise<void> {
    const other = runningDispatcher(this.env);
    if (other !== undefined && other !== process.pid) throw new Error(`another dispatcher runs (pid ${other})`);
    mkdirSync(runtimeDir(this.env), { recursive: true, mode: 0o700 });
    writeFileSync(dispatcherPidFile(this.env), `${process.pid}\n`, { mode: 0o600 });
    for (const m of recoverInterrupted(this.env)) {
      this.log(`${m.agent}: message ${m.id} was being delivered when the last dispatcher ended: unconfirmed (mosaic-agent queue retry ${m.id} sends it again)`);
    }
    mkdirSync(queueRoot(this.env), { recursive: true, mode: 0o700 });
    mkdirSync(eventsDir(this.env), { recursive: true, mode: 0o700 });
    this.followEvents();
    this.rootWatcher = watch(queueRoot(this.env), () => this.watchQueues());
    this.rootWatcher.on('error', () => undefined);
    this.watchQueues();
    for (const agent of queuedAgents(this.env)) this.poke(agent);
  }

  close(): void {
    this.closed = true;
    this.events?.close();
    this.rootWatcher?.close();
    for (const w of this.queueWatchers.values()) w.close();
    for (const w of this.work.values()) if (w.timer) clearTimeout(w.timer);
    try {
      if (readFileSync(dispatcherPidFile(this.env), 'utf8').trim() === String(process.pid)) rmSync(dispatcherPidFile(this.env), { force: true });
    } catch {
      // not ours, or gone
    }
  }

  /** Every agent's new events, including agents whose log appears later. */
  private followEvents(): void {
    const known = listDir(eventsDir(this.env)).filter((f) => f.endsWith('.jsonl')).map((f) => f.slice(0, -'.jsonl'.length));
    // A log that appears later (a new agent): followed from its first line.
    this.events = new EventFollower(known, (agent, events) => this.onEvents(agent, events), this.env, { newLogs: true });
  }

  private watchQueues(): void {
    for (const agent of queuedAgents(this.env)) {
      this.queues.add(agent);
      if (this.queueWatchers.has(agent)) continue;
      try {
        const w = watch(queueDir(agent, this.env), () => this.poke(agent));
        w.on('error', () => undefined);
        this.queueWatchers.set(agent, w);
        this.poke(agent);
      } catch {
        // gone already
      }
    }
  }

  private onEvents(agent: string, events: AgentEvent[]): void {
    this.opts.onEvents?.(agent, events);
    // A turn's end (or a new run: its runtime shows when it is ready) is the cue for the next message.
    if (events.some((e) => e.kind === 'idle' || e.kind === 'error' || (e.kind === 'started' && e.via === 'fleet'))) this.poke(agent);
  }

  private workOf(agent: string): AgentWork {
    let w = this.work.get(agent);
    if (!w) {
      w = { chain: Promise.resolve(), deliveredAt: 0 };
      this.work.set(agent, w);
    }
    return w;
  }

  /** Look at an agent's queue (one look at a time per agent). */
  poke(agent: string): void {
    // Most agents never had a message queued: their turns cost no look (no failed readdir, no promise).
    if (this.closed || !this.queues.has(agent)) return;
    const w = this.workOf(agent);
    w.chain = w.chain.then(() => this.deliverNext(agent)).catch((err: unknown) => this.log(`${agent}: ${(err as Error).message}`));
  }

  /** Settled for tests: every look asked for so far has run. */
  async idle(): Promise<void> {
    await Promise.all([...this.work.values()].map((w) => w.chain));
  }

  private schedule(agent: string, ms: number): void {
    const w = this.workOf(agent);
    if (w.timer || this.closed) return;
    w.timer = setTimeout(() => {
      w.timer = undefined;
      this.poke(agent);
    }, ms);
  }

  /** The agent's state now, as the delivery decision needs it. */
  private async stateOf(agent: string, session: AgentSession): Promise<{ activity: Activity; fromEvents: boolean }> {
    const run = currentRun(agent, this.env);
    if (runHooks(run)) {
      const fromEvent = eventActivity(run);
      if (fromEvent) {
        // One message per turn: the `idle` must be the end of a turn begun after the last delivery.
        const since = this.workOf(agent).deliveredAt;
        return { activity: fromEvent.since > since ? fromEvent.activity : 'busy', fromEvents: true };
      }
    }
    const profile = agentProfile(session.runtime, session.profileJson, this.env);
    const lines = (await this.opts.transport.read(agent).catch(() => '')).split('\n');
    const activity = activityOf(profile, { dead: !session.alive, currentCommand: session.foreground, title: session.title }, lines);
    if (activity === 'idle' && Date.now() - this.workOf(agent).deliveredAt < SCREEN_TURN_GAP_MS) return { activity: 'busy', fromEvents: false };
    return { activity, fromEvents: false };
  }

  private async deliverNext(agent: string): Promise<void> {
    if (this.closed) return;
    const head = agentQueue(agent, this.env)[0];
    if (!head) return;
    if (head.state !== 'queued') return; // unconfirmed: a person decides (queue retry or drop); delivering: in hand
    const session = (await this.opts.transport.sessions())?.find((s) => s.name === agent);
    // Not running: its next start (a `started` event) brings it back here.
    if (!session || !session.alive) return;
    const { activity, fromEvents } = await this.stateOf(agent, session);
    if (activity !== 'idle') {
      // A runtime that reports its turns says when it is idle; a screen is looked at again.
      if (!fromEvents) this.schedule(agent, SCREEN_CHECK_MS);
      return;
    }
    await this.deliver(head);
    // More to come: after the next turn's end (or, screens, a later look).
    if (agentQueue(agent, this.env).length > 0 && !fromEvents) this.schedule(agent, SCREEN_CHECK_MS);
  }

  private async deliver(m: QueuedMessage): Promise<void> {
    if (!moveMessage(m, 'queued', 'delivering', this.env)) return; // dropped meanwhile
    const sentAt = Date.now();
    let result;
    try {
      [result] = await this.opts.transport.send([m.agent], m.text, { from: m.from, submit: true, timeoutMs: DELIVERY_TIMEOUT_MS, force: false, waitReady: true });
    } catch (err) {
      result = err as Error;
    }
    if (!(result instanceof Error)) {
      this.workOf(m.agent).deliveredAt = sentAt;
      markDelivered(m, sentAt, this.env);
      this.log(`${m.agent}: delivered message ${m.id} (${result!.bytes} bytes, ${result!.ms} ms)`);
      return;
    }
    if (result instanceof UnconfirmedError) {
      moveMessage(m, 'delivering', 'unconfirmed', this.env);
      noteError(m, result.message, this.env);
      this.log(`${m.agent}: message ${m.id} unconfirmed: ${result.message} (not resent: mosaic-agent queue retry ${m.id})`);
      return;
    }
    // Nothing was submitted: it waits for the agent's next idle moment.
    moveMessage(m, 'delivering', 'queued', this.env);
    noteError(m, result.message, this.env);
    this.log(`${m.agent}: message ${m.id} not delivered yet: ${result.message}`);
    // Looked at again later even where turns are reported: an agent that
    // stays idle reports no new turn's end to wait for.
    this.schedule(m.agent, RETRY_MS);
  }
}
