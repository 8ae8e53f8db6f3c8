// Each agent's queue of messages to deliver when it is ready (issue #16):
// `agent-send --queue` writes them, the fleet's dispatcher
// (lib/dispatch/dispatcher.ts) delivers them one per turn, in order.
//
// One file per message in ~/.local/state/mosaic/fleet/queue/NAME/, named
// `<ms since epoch, 15 digits>-<id>.<state>`, so that a directory listing is
// the order, and a state change is one rename:
//   .queued       waiting for the agent to be ready
//   .delivering   being typed into the agent right now
//   .unconfirmed  typed and submitted, but the screen did not show that the
//                 runtime took it (or the dispatcher died in between): never
//                 resent without a person's `mosaic-agent queue retry ID`;
//                 later messages for that agent wait behind it
// A delivered message leaves the queue for done/ID.json, which says when it
// was delivered (agent-send --queue --wait reads it). Files are mode 0600,
// written with fsync before `agent-send --queue` returns.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { listDir } from '../core/fsutil.js';
import { stateDir } from '../core/paths.js';

export type QueueState = 'queued' | 'delivering' | 'unconfirmed';
const STATES: readonly QueueState[] = ['queued', 'delivering', 'unconfirmed'];

export interface QueuedMessage {
  id: string;
  agent: string;
  text: string;
  from?: string;
  /** When it was queued (epoch ms). */
  created: number;
  state: QueueState;
  /** Why its last delivery did not happen, where one was tried. */
  lastError?: string;
}

export interface DeliveredRecord {
  id: string;
  agent: string;
  created: number;
  /** When the runtime took it (epoch ms): the turn it starts begins after this. */
  delivered: number;
}

/** Done records kept per agent (the newest). */
const DONE_KEPT = 200;

export function queueRoot(env: NodeJS.ProcessEnv): string {
  return join(stateDir(env), 'queue');
}

export function queueDir(name: string, env: NodeJS.ProcessEnv): string {
  return join(queueRoot(env), name);
}

function doneDir(name: string, env: NodeJS.ProcessEnv): string {
  return join(queueDir(name, env), 'done');
}

/** Write a file and its directory entry to disk before returning: a message queued survives a crash or a power cut. */
function writeDurable(dir: string, file: string, data: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${file}.tmp`);
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, file));
  syncDir(dir);
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

const fileName = (m: Pick<QueuedMessage, 'created' | 'id'>, state: QueueState) => `${String(m.created).padStart(15, '0')}-${m.id}.${state}`;

/** A new message id: short, and unique across the fleet. */
export function newMessageId(): string {
  return `q${randomBytes(5).toString('hex')}`;
}

/** Queue one message for each agent; returns each agent's message id, in order. */
export function enqueue(agents: readonly string[], text: string, from: string | undefined, env: NodeJS.ProcessEnv): QueuedMessage[] {
  const created = Date.now();
  return agents.map((agent) => {
    const m: QueuedMessage = { id: newMessageId(), agent, text, ...(from === undefined ? {} : { from }), created, state: 'queued' };
    writeDurable(queueDir(agent, env), fileName(m, 'queued'), JSON.stringify(m) + '\n');
    return m;
  });
}

function parseName(file: string): { created: number; id: string; state: QueueState } | undefined {
  const m = /^(\d{15})-(q[0-9a-f]+)\.([a-z]+)$/.exec(file);
  if (!m || !(STATES as string[]).includes(m[3]!)) return undefined;
  return { created: Number(m[1]), id: m[2]!, state: m[3] as QueueState };
}

/** An agent's waiting messages, oldest first. */
export function agentQueue(name: string, env: NodeJS.ProcessEnv): QueuedMessage[] {
  const dir = queueDir(name, env);
  return listDir(dir)
    .sort()
    .flatMap((f) => {
      const parsed = parseName(f);
      if (!parsed) return [];
      try {
        const m = JSON.parse(readFileSync(join(dir, f), 'utf8')) as QueuedMessage;
        return [{ ...m, state: parsed.state }];
      } catch {
        return [];
      }
    });
}

/** How many messages wait for an agent (a directory listing, no file read: status asks for every agent). */
export function queueDepth(name: string, env: NodeJS.ProcessEnv): number {
  return listDir(queueDir(name, env)).filter((f) => parseName(f) !== undefined).length;
}

/** The agents that have a queue directory. */
export function queuedAgents(env: NodeJS.ProcessEnv): string[] {
  return listDir(queueRoot(env)).filter((n) => !n.startsWith('.'));
}

/** Every waiting message of the fleet (or of `only`), oldest first per agent. */
export function allQueued(only: readonly string[] = [], env: NodeJS.ProcessEnv): QueuedMessage[] {
  const names = only.length > 0 ? only : queuedAgents(env);
  return names.flatMap((n) => agentQueue(n, env));
}

/** Find a message by id anywhere in the fleet's queues. */
export function findMessage(id: string, env: NodeJS.ProcessEnv): QueuedMessage | undefined {
  return allQueued([], env).find((m) => m.id === id);
}

/** Move a message to another state (one rename); false when it is no longer in `from` (someone else moved it). */
export function moveMessage(m: QueuedMessage, from: QueueState, to: QueueState, env: NodeJS.ProcessEnv): boolean {
  const dir = queueDir(m.agent, env);
  try {
    renameSync(join(dir, fileName(m, from)), join(dir, fileName(m, to)));
    syncDir(dir);
    m.state = to;
    return true;
  } catch {
    return false;
  }
}

/** Record a message as delivered: its done record first, then it leaves the queue. */
export function markDelivered(m: QueuedMessage, deliveredAt: number, env: NodeJS.ProcessEnv): void {
  const record: DeliveredRecord = { id: m.id, agent: m.agent, created: m.created, delivered: deliveredAt };
  const dir = doneDir(m.agent, env);
  writeDurable(dir, `${m.id}.json`, JSON.stringify(record) + '\n');
  rmSync(join(queueDir(m.agent, env), fileName(m, m.state)), { force: true });
  syncDir(queueDir(m.agent, env));
  // The newest records are enough for a sender still waiting on one.
  const done = listDir(dir).filter((f) => f.endsWith('.json'));
  if (done.length > DONE_KEPT) {
    const byAge = done.map((f) => ({ f, t: statSync(join(dir, f)).mtimeMs })).sort((a, b) => a.t - b.t);
    for (const { f } of byAge.slice(0, done.length - DONE_KEPT)) rmSync(join(dir, f), { force: true });
  }
}

/** The delivery record of a message, once it is delivered. */
export function deliveredRecord(agent: string, id: string, env: NodeJS.ProcessEnv): DeliveredRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(doneDir(agent, env), `${id}.json`), 'utf8')) as DeliveredRecord;
  } catch {
    return undefined;
  }
}

/** Remember why a delivery did not happen (shown by `mosaic-agent queue`). */
export function noteError(m: QueuedMessage, error: string, env: NodeJS.ProcessEnv): void {
  const updated = { ...m, lastError: error };
  writeDurable(queueDir(m.agent, env), fileName(m, m.state), JSON.stringify(updated) + '\n');
  m.lastError = error;
}

/** Remove a message from its queue, whatever its state; false when there is no such message. */
export function dropMessage(id: string, env: NodeJS.ProcessEnv): QueuedMessage | undefined {
  const m = findMessage(id, env);
  if (!m) return undefined;
  rmSync(join(queueDir(m.agent, env), fileName(m, m.state)), { force: true });
  syncDir(queueDir(m.agent, env));
  return m;
}

/**
 * Messages left `delivering` by a dispatcher that is gone: typed, perhaps
 * submitted, nobody knows. They become `unconfirmed` (never resent blindly).
 */
export function recoverInterrupted(env: NodeJS.ProcessEnv): QueuedMessage[] {
  const found = allQueued([], env).filter((m) => m.state === 'delivering');
  for (const m of found) moveMessage(m, 'delivering', 'unconfirmed', env);
  return found;
}
