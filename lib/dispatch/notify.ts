// Notifications (issue #16): the dispatcher hands every agent event to a
// Notifier, which tells a person through the roster's `notify:` targets
// (lib/dispatch/notify-config.ts) when an agent needs them, finished a turn,
// failed or exited.
//
// Debounced: one notification per change of state, and none for a state
// that lasts under NOTIFY_SETTLE_MS (a prompt answered at once, an agent
// that gets its next queued message right after a turn, a restart). It runs
// in the dispatcher, never in the agent's turn, and a notifier that hangs or
// fails is killed after NOTIFIER_TIMEOUT_MS and logged, nothing more.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readEnvValues } from '../core/env-file.js';
import { agentEnvFile, runtimeDir } from '../core/paths.js';
import { replyOf, type AgentEvent } from '../events/event-log.js';
import { notifyFromJson, targetsOf, type NotifyEvent, type NotifyTarget } from './notify-config.js';

/** A state must last this long to be notified (MOSAIC_NOTIFY_SETTLE_MS in fleet.env changes it; 0: every change at once). */
export const NOTIFY_SETTLE_MS = 2000;
/** This many exits of the agent by itself within CRASH_LOOP_MS is a crash loop (`failed`). */
export const CRASH_LOOP_EXITS = 3;
export const CRASH_LOOP_MS = 120_000;
/** A notifier still running after this is killed. */
export const NOTIFIER_TIMEOUT_MS = 30_000;
/** After an agent ended by itself: when its unit is looked at (systemd has decided by then whether it gives up). */
export const UNIT_LOOK_MS = 3000;
/** Looks at units due within this long of each other share one systemctl call. */
const UNIT_LOOK_BATCH_MS = 250;

export interface Notification {
  agent: string;
  event: NotifyEvent;
  /** The agent's state: busy, idle, waiting, error, exited, failed. */
  state: string;
  /** Since when (ISO time). */
  since: string;
  /** Where it came from (`claude:Stop`, `fleet`...). */
  via: string;
  /** The reply, for `done` where the runtime gives it. */
  reply?: string;
  /** What it asks, for `waiting` (the runtime's payload). */
  details?: unknown;
}

interface AgentTrack {
  state?: string;
  pending?: NodeJS.Timeout;
  exits: number[];
  failedAt?: number;
}

export interface NotifierOptions {
  env: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  /** The agent units' states (`failed`...), where systemd can tell, by agent. */
  unitStates?: (agents: string[]) => Promise<Map<string, string | undefined>>;
}

export class Notifier {
  private readonly env: NodeJS.ProcessEnv;
  private readonly log: (line: string) => void;
  private readonly agents = new Map<string, AgentTrack>();
  private running = new Set<Promise<void>>();
  private readonly settleMs: number;
  /** Agents whose unit is to be looked at, each with what to do with its state; one call for all when the timer fires. */
  private unitLooks = new Map<string, Array<(state: string | undefined) => void>>();
  private unitLookTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: NotifierOptions) {
    this.env = opts.env;
    this.log = opts.log ?? ((l) => process.stderr.write(`${l}\n`));
    const set = Number(this.env.MOSAIC_NOTIFY_SETTLE_MS);
    this.settleMs = this.env.MOSAIC_NOTIFY_SETTLE_MS !== undefined && Number.isFinite(set) && set >= 0 ? set : NOTIFY_SETTLE_MS;
  }

  private track(agent: string): AgentTrack {
    let t = this.agents.get(agent);
    if (!t) {
      t = { exits: [] };
      this.agents.set(agent, t);
    }
    return t;
  }

  /** Take in an agent's new events, oldest first. */
  onEvents(agent: string, events: AgentEvent[]): void {
    for (const e of events) this.onEvent(agent, e);
  }

  private onEvent(agent: string, e: AgentEvent): void {
    const t = this.track(agent);
    if (e.kind === 'started') {
      // A runtime's own start (a /clear) changes nothing; the fleet's ends an `exited` that did not last.
      if (e.via !== 'fleet') return;
      this.cancel(t);
      t.state = 'started';
      return;
    }
    const before = t.state;
    if (e.kind === before) return; // no change: busy repeated within a turn
    t.state = e.kind;
    this.cancel(t);
    switch (e.kind) {
      case 'waiting':
        this.later(agent, t, 'waiting', e);
        break;
      case 'idle':
      case 'error':
        // A turn finished: busy (or waiting for a person inside the turn) before it.
        if (before === 'busy' || before === 'waiting') this.later(agent, t, 'done', e);
        break;
      case 'exited': {
        this.later(agent, t, 'exited', e);
        if ((e.data as { reason?: unknown } | null)?.reason === 'ended by itself') this.checkFailure(agent, t, e);
        break;
      }
    }
  }

  private cancel(t: AgentTrack): void {
    if (t.pending) clearTimeout(t.pending);
    t.pending = undefined;
  }

  /** Notify once the state has lasted NOTIFY_SETTLE_MS (any change meanwhile cancels it). */
  private later(agent: string, t: AgentTrack, event: NotifyEvent, e: AgentEvent): void {
    t.pending = setTimeout(() => {
      t.pending = undefined;
      this.fire(agent, event, e);
    }, Math.max(0, this.settleMs - (Date.now() - e.ts)));
  }

  /** A crash loop, or a unit systemd gave up on: `failed`, once until the agent runs again for a while. */
  private checkFailure(agent: string, t: AgentTrack, e: AgentEvent): void {
    const now = Date.now();
    t.exits = [...t.exits.filter((x) => now - x < CRASH_LOOP_MS), e.ts];
    const report = (why: string) => {
      if (t.failedAt !== undefined && now - t.failedAt < CRASH_LOOP_MS) return;
      t.failedAt = now;
      this.fire(agent, 'failed', { ...e, data: { reason: why } }, 'failed');
    };
    if (t.exits.length >= CRASH_LOOP_EXITS) {
      report(`exited ${t.exits.length} times within ${CRASH_LOOP_MS / 1000} s`);
      return;
    }
    // systemd decides after its restart delay whether it gives up (start limit hit): look then.
    if (!this.opts.unitStates) return;
    const look = setTimeout(() => {
      this.lookAtUnit(agent, (state) => {
        if (state === 'failed') report('its unit failed');
      });
    }, UNIT_LOOK_MS);
    look.unref?.();
  }

  /**
   * Look at an agent's unit a little later, together with the others due by
   * then: when its tmux server dies, a whole fleet ends by itself at once, and
   * one systemctl for a hundred units costs what one does for one.
   */
  private lookAtUnit(agent: string, then: (state: string | undefined) => void): void {
    this.unitLooks.set(agent, [...(this.unitLooks.get(agent) ?? []), then]);
    if (this.unitLookTimer) return;
    this.unitLookTimer = setTimeout(() => {
      this.unitLookTimer = undefined;
      const looks = this.unitLooks;
      this.unitLooks = new Map();
      void this.opts.unitStates!([...looks.keys()]).then((states) => {
        for (const [a, thens] of looks) for (const f of thens) f(states.get(a));
      }, () => undefined);
    }, UNIT_LOOK_BATCH_MS);
    this.unitLookTimer.unref?.();
  }

  /** Send one notification to every target of the event (each on its own: one failing does not stop the others). */
  fire(agent: string, event: NotifyEvent, e: AgentEvent, state: string = e.kind): void {
    let config;
    try {
      config = notifyFromJson(readEnvValues(agentEnvFile(agent, this.env)).MOSAIC_AGENT_NOTIFY);
    } catch (err) {
      this.log(`${agent}: notify: cannot read its env file: ${(err as Error).message}`);
      return;
    }
    const targets = targetsOf(config, event);
    if (targets.length === 0) return;
    const reply = event === 'done' ? replyOf(e) : undefined;
    const n: Notification = {
      agent,
      event,
      state: state === 'waiting' ? 'waiting' : state,
      since: new Date(e.ts).toISOString(),
      via: e.via,
      ...(reply === undefined ? {} : { reply }),
      ...(event === 'waiting' && e.data ? { details: e.data } : {}),
    };
    for (const target of targets) {
      const p = this.send(target, n).catch((err: unknown) => this.log(`${agent}: notify ${event}: ${describeTarget(target)} failed: ${(err as Error).message}`));
      this.running.add(p);
      void p.finally(() => this.running.delete(p));
    }
  }

  /** Stop: pending notifications are dropped, notifiers still running are killed (none outlives the dispatcher). */
  close(): void {
    for (const t of this.agents.values()) this.cancel(t);
    if (this.unitLookTimer) clearTimeout(this.unitLookTimer);
    for (const child of children) child.kill('SIGKILL');
  }

  /** Every notifier started so far has ended (for tests and a clean stop). */
  async settled(): Promise<void> {
    await Promise.all([...this.running]);
  }

  private async send(target: NotifyTarget, n: Notification): Promise<void> {
    if (typeof target === 'string' && target !== 'desktop') {
      await post(target, JSON.stringify(n));
      return;
    }
    const argv = target === 'desktop' ? ['notify-send', `mosaic-fleet: ${n.agent} ${n.event}`, n.reply ?? `${n.agent} is ${n.state}`] : target.command;
    let replyFile: string | undefined;
    if (target !== 'desktop') {
      const dir = join(runtimeDir(this.env), 'notify');
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      replyFile = join(dir, `${n.agent}-${n.event}-${process.pid}-${Date.now()}.reply`);
      writeFileSync(replyFile, n.reply ?? '', { mode: 0o600 });
    }
    try {
      await runNotifier(argv, {
        ...this.env,
        MOSAIC_AGENT: n.agent,
        MOSAIC_EVENT: n.event,
        MOSAIC_STATE: n.state,
        MOSAIC_SINCE: n.since,
        ...(replyFile ? { MOSAIC_REPLY_FILE: replyFile } : {}),
      });
    } finally {
      if (replyFile) rmSync(replyFile, { force: true });
    }
  }
}

/**
 * POST a JSON body to a URL, failing on a status other than 2xx or after
 * NOTIFIER_TIMEOUT_MS. node:http rather than fetch: fetch loads undici (its
 * parser is WebAssembly, which the dispatcher runs without: --lite-mode keeps
 * it small) for one request now and then. Loaded at the first webhook, not
 * at start: node:http and node:https (TLS with it) are ~1.8 MB of the
 * dispatcher's RSS, which most fleets (commands, desktop) never use.
 */
async function post(url: string, body: string): Promise<void> {
  const u = new URL(url);
  const { request } = u.protocol === 'https:' ? await import('node:https') : await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(
      u,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, timeout: NOTIFIER_TIMEOUT_MS },
      (res) => {
        res.resume();
        res.on('end', () => ((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${NOTIFIER_TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end(body);
  });
}

function describeTarget(t: NotifyTarget): string {
  return typeof t === 'string' ? t : t.command.join(' ');
}

/** The notifier processes running now. */
const children = new Set<ChildProcess>();

/** Run a notifier command (no shell), killed after NOTIFIER_TIMEOUT_MS; fails on a non-zero exit. */
function runNotifier(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'] });
    children.add(child);
    child.on('close', () => children.delete(child));
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      if (stderr.length < 2000) stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`still running after ${NOTIFIER_TIMEOUT_MS / 1000} s: killed`));
    }, NOTIFIER_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`exited ${signal ?? code}${stderr.trim() ? `: ${stderr.trim().split('\n')[0]}` : ''}`));
    });
  });
}
