// Each agent's event log (issue #15): what the runtime's own hooks reported
// (lib/events/hooks.ts wires them in), one JSON line per event, in
// ~/.local/state/mosaic/fleet/events/NAME.jsonl (mode 0600; past
// MOSAIC_EVENT_LOG_MAX_BYTES it moves to NAME.jsonl.1). The writers are
// lib/events/event-writer.sh (hooks that run a program), pi-extension.ts and
// opencode-plugin.js (in the runtime's process), and the fleet itself
// (`started`, `exited`, a screen's correction).
import { appendFileSync, closeSync, mkdirSync, openSync, readSync, renameSync, statSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { stateDir } from '../core/paths.js';
import { textOf } from '../runtimes/conversation.js';

/**
 * What an event says: `started` (the runtime launched; its screen tells
 * whether it is ready), `busy` (a turn began), `idle` (the turn ended; the
 * reply where the runtime gives it), `waiting` (it asks a person: a tool
 * approval, a question), `error` (the turn failed), `exited` (the agent ended).
 */
export type EventKind = 'started' | 'busy' | 'idle' | 'waiting' | 'error' | 'exited';
export const EVENT_KINDS: readonly EventKind[] = ['started', 'busy', 'idle', 'waiting', 'error', 'exited'];

export interface AgentEvent {
  /** When it was written (epoch ms). */
  ts: number;
  agent: string;
  kind: EventKind;
  /** Who reported it: `RUNTIME:HOOK` (claude:Stop, pi:agent_end...), `fleet`, or `screen` (a correction). */
  via: string;
  /** The runtime's own payload, as it gave it (null when it gives none). */
  data: unknown;
  /** The reply, where the writer took it out already (pi, opencode). */
  reply?: string;
}

/** Log size before it rotates (bytes); the writers read the same variable. */
export const DEFAULT_EVENT_LOG_MAX_BYTES = 2 * 1024 * 1024;

export function eventsDir(env: NodeJS.ProcessEnv): string {
  return join(stateDir(env), 'events');
}

export function eventLogFile(name: string, env: NodeJS.ProcessEnv): string {
  return join(eventsDir(env), `${name}.jsonl`);
}

/** Append an event of the fleet's own (never throws: an event is not worth failing a start or a stop for). */
export function appendEvent(name: string, kind: EventKind, via: string, data: unknown = null, env: NodeJS.ProcessEnv): void {
  const file = eventLogFile(name, env);
  const line = JSON.stringify({ ts: Date.now(), agent: name, kind, via, data }) + '\n';
  try {
    const max = Number(env.MOSAIC_EVENT_LOG_MAX_BYTES) || DEFAULT_EVENT_LOG_MAX_BYTES;
    if ((statSync(file, { throwIfNoEntry: false })?.size ?? 0) > max) renameSync(file, `${file}.1`);
    mkdirSync(eventsDir(env), { recursive: true, mode: 0o700 });
    appendFileSync(file, line, { mode: 0o600 });
  } catch {
    // best effort
  }
}

// The fields the writers put before the payload: a line whose payload is
// broken (a runtime's hook gave something that is not JSON) still tells
// what happened, without its data.
const HEAD = /^\{"ts":(\d+),"agent":"([^"]*)","kind":"([a-z]+)","via":"([^"]*)"/;

/**
 * The reply in the record of Gemini CLI's conversation file that the writer
 * adds to an AfterAgent event (lib/events/event-writer.sh): the text of a
 * message of type "gemini" (or of the last one of a `$set` of messages).
 * Undefined when there is none or it has no text (a turn that ended on a
 * tool call): prompt_response is the reply then.
 */
function geminiReply(record: unknown): string | undefined {
  if (!record || typeof record !== 'object') return undefined;
  const r = record as { type?: unknown; content?: unknown; $set?: { messages?: unknown } };
  if (r.type === 'gemini') {
    const text = textOf(r.content);
    return text === '' ? undefined : text;
  }
  const messages = r.$set?.messages;
  if (Array.isArray(messages)) return geminiReply([...messages].reverse().find((m: { type?: unknown } | null) => m?.type === 'gemini'));
  return undefined;
}

/** One line of a log as an event; undefined for a line that is not one. */
export function parseEvent(line: string): AgentEvent | undefined {
  if (line.trim() === '') return undefined;
  try {
    const e = JSON.parse(line) as Partial<AgentEvent> & { record?: unknown };
    if (typeof e.ts === 'number' && typeof e.kind === 'string' && (EVENT_KINDS as string[]).includes(e.kind)) {
      const reply = typeof e.reply === 'string' ? e.reply : geminiReply(e.record);
      return { ts: e.ts, agent: String(e.agent ?? ''), kind: e.kind, via: String(e.via ?? ''), data: e.data ?? null, ...(reply !== undefined ? { reply } : {}) };
    }
    return undefined;
  } catch {
    const m = HEAD.exec(line);
    if (!m || !(EVENT_KINDS as string[]).includes(m[3]!)) return undefined;
    return { ts: Number(m[1]), agent: m[2]!, kind: m[3] as EventKind, via: m[4]!, data: null };
  }
}

/**
 * The reply an `idle` (or `error`) event carries, where the runtime gives
 * one: Claude Code's and Codex's hooks `last_assistant_message`, Codex's
 * notify `last-assistant-message`, Gemini CLI's `prompt_response` (its
 * conversation's record, where the writer added it, is taken first: see
 * geminiReply); pi and opencode write it as `reply`. Undefined where the
 * runtime gives none.
 */
export function replyOf(e: AgentEvent): string | undefined {
  if (typeof e.reply === 'string') return e.reply;
  const d = e.data as Record<string, unknown> | null;
  if (!d || typeof d !== 'object') return undefined;
  for (const key of ['last_assistant_message', 'last-assistant-message', 'prompt_response']) {
    if (typeof d[key] === 'string') return d[key] as string;
  }
  return undefined;
}

/** The events of a log text (complete lines only). */
function eventsOf(text: string): AgentEvent[] {
  return text.split('\n').flatMap((l) => parseEvent(l) ?? []);
}

function readRange(file: string, start: number, end: number): string {
  if (end <= start) return '';
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(end - start);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, start + got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * The last `count` events of an agent's log (fewer when it has fewer), oldest
 * first, read from the end: a status of a hundred agents does not read a
 * hundred logs whole, and only the lines needed are parsed.
 */
export function lastEvents(name: string, count: number, env: NodeJS.ProcessEnv): AgentEvent[] {
  return readBack(eventLogFile(name, env), (_e, found) => (found.length < count ? 'take' : 'done'));
}

/**
 * The events of the agent's current run: from the fleet's last `started` on
 * (every event of the log when there is none), read from the end.
 */
export function currentRun(name: string, env: NodeJS.ProcessEnv): AgentEvent[] {
  return readBack(eventLogFile(name, env), (e) => (e.kind === 'started' && e.via === 'fleet' ? 'last' : 'take'));
}

/**
 * A log's events from its end backwards, in growing chunks: `decide` says of
 * each (the newest first; `found` holds those taken so far, newest first)
 * whether to take it and go on, take it as the last, or stop before it.
 * Returned oldest first.
 */
function readBack(file: string, decide: (e: AgentEvent, found: readonly AgentEvent[]) => 'take' | 'last' | 'done'): AgentEvent[] {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return [];
  }
  let start = size;
  let chunk = 4 * 1024;
  for (;;) {
    start = Math.max(0, start - chunk);
    const text = readRange(file, start, size);
    // The first line of a chunk that does not start the file may be cut.
    const lines = (start === 0 ? text : text.slice(text.indexOf('\n') + 1)).split('\n');
    const found: AgentEvent[] = [];
    let ended = false;
    for (let i = lines.length - 1; i >= 0 && !ended; i--) {
      const e = parseEvent(lines[i]!);
      if (!e) continue;
      const d = decide(e, found);
      if (d !== 'done') found.push(e);
      ended = d !== 'take';
    }
    if (ended || start === 0) return found.reverse();
    chunk *= 4;
  }
}

/** Every event of an agent's log, the rotated part first. */
export function allEvents(name: string, env: NodeJS.ProcessEnv): AgentEvent[] {
  const file = eventLogFile(name, env);
  const read = (f: string) => {
    try {
      const size = statSync(f).size;
      return eventsOf(readRange(f, 0, size));
    } catch {
      return [];
    }
  };
  return [...read(`${file}.1`), ...read(file)];
}

/**
 * Follows the event logs of some agents: `onEvents` gets each agent's new
 * events as they are appended, woken by inotify on the log directory (no
 * polling). Starts at the logs' current ends. With `newLogs`, a log that
 * appears later (a new agent) is followed too, from its first line.
 */
export class EventFollower {
  /** Each followed log and how far it has been read; the path is joined once, not at every event. */
  private logs = new Map<string, { file: string; offset: number }>();
  private watcher: FSWatcher | undefined;

  constructor(
    names: readonly string[],
    private readonly onEvents: (name: string, events: AgentEvent[]) => void,
    private readonly env: NodeJS.ProcessEnv,
    private readonly opts: { newLogs?: boolean } = {},
  ) {
    const dir = eventsDir(env);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const n of names) {
      const file = eventLogFile(n, env);
      this.logs.set(n, { file, offset: this.sizeOf(file) });
    }
    this.watcher = watch(dir, (_type, file) => {
      const name = typeof file === 'string' && file.endsWith('.jsonl') ? file.slice(0, -'.jsonl'.length) : undefined;
      if (name !== undefined && (this.logs.has(name) || this.opts.newLogs)) this.check(name);
    });
    this.watcher.on('error', () => undefined);
  }

  private sizeOf(file: string): number {
    return statSync(file, { throwIfNoEntry: false })?.size ?? 0;
  }

  /** Read what was appended to one agent's log since last time (also called by hand, as a safety net); a log not followed yet is read from its start, and followed from then on. */
  check(name: string): void {
    let log = this.logs.get(name);
    if (!log) {
      log = { file: eventLogFile(name, this.env), offset: 0 };
      this.logs.set(name, log);
    }
    const { file, offset: from } = log;
    const size = this.sizeOf(file);
    let text = '';
    if (size < from) {
      // Rotated: the rest of the old log, then the new one from its start.
      const old = `${file}.1`;
      text = readRange(old, from, this.sizeOf(old)) + readRange(file, 0, size);
    } else {
      text = readRange(file, from, size);
    }
    // Only whole lines: a line being written is read next time.
    const end = text.lastIndexOf('\n') + 1;
    if (end === 0) return;
    const consumed = Buffer.byteLength(text.slice(0, end));
    log.offset = size < from ? consumed - Math.max(0, this.sizeOf(`${file}.1`) - from) : from + consumed;
    const events = eventsOf(text.slice(0, end));
    if (events.length > 0) this.onEvents(name, events);
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }
}
