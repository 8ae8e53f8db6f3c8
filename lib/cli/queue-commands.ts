// The queue from the command line (issue #16): `agent-send --queue` puts a
// message in each agent's queue (lib/dispatch/queue.ts) and returns its id;
// the fleet's dispatcher delivers it. `mosaic-agent queue` lists, drops and
// retries.
import { mkdirSync, watch } from 'node:fs';
import { join } from 'node:path';
import { EXIT, FleetError, UnconfirmedError, UsageError, exitCodeOf, formatError } from '../core/errors.js';
import { parseFlags, type CommandDef, type FlagSpec } from './cli.js';
import { requireKnownAgents } from '../fleet/known-agents.js';
import { openTransport } from '../send/open-transport.js';
import { allQueued, deliveredRecord, dropMessage, enqueue, findMessage, moveMessage, queueDir, type DeliveredRecord, type QueuedMessage } from '../dispatch/queue.js';
import { runningDispatcher } from '../dispatch/dispatcher.js';
import { watchAgents } from '../fleet/turns.js';
import { duration } from '../fleet/fleet-status.js';
import type { FleetContext } from '../fleet/context.js';

export const QUEUE_COMMAND_DEF: CommandDef = {
  usage: '[NAME...] | drop ID... | retry ID',
  about:
    "The messages waiting for agents (queued with agent-send's queue option): id, agent, state, age, sender,\nfirst line. The fleet's dispatcher (mosaic-fleet-dispatch.service) delivers each agent's messages in\norder, one per turn, as soon as the agent is idle: on its runtime's idle event, or where the runtime\nreports none, when its screen shows it idle. A message whose delivery was not confirmed is shown\n'unconfirmed' and the agent's later messages wait behind it: it is never sent twice unless you say so.\n\n  queue drop ID...   remove messages (whatever their state)\n  queue retry ID     send an unconfirmed message again (read the agent first: it may have it)",
  options: [{ name: 'json', help: 'the same as JSON (the whole text of each message)' }],
  examples: ['mosaic-agent queue', 'mosaic-agent queue drop q1a2b3c4d5'],
};

/** The hint when nobody delivers queued messages. */
function dispatcherHint(env: NodeJS.ProcessEnv): string | undefined {
  return runningDispatcher(env) === undefined ? 'the dispatcher is not running, so nothing is delivered until it is: systemctl --user start mosaic-fleet-dispatch' : undefined;
}

export interface QueueSendRequest {
  tool: string;
  agents: string[];
  text: string;
  from: string | undefined;
  json: boolean;
  quiet: boolean;
  /** Also wait for the end of the turn each message starts (0: no limit). */
  wait?: { timeoutMs: number };
}

/**
 * Put a message in each agent's queue (known agents only); returns the
 * queued messages, and a hint when no dispatcher runs to deliver them.
 */
export async function queueMessage(ctx: FleetContext, agents: string[], text: string, from: string | undefined): Promise<{ queued: QueuedMessage[]; hint: string | undefined }> {
  // A typo must not leave a queue for an agent that does not exist.
  await requireKnownAgents(agents, ctx);
  return { queued: enqueue(agents, text, from, ctx.env), hint: dispatcherHint(ctx.env) };
}

/** agent-send --queue: store the message for each agent (known agents only) and return at once, or with --wait after each turn. */
export async function queueSend(ctx: FleetContext, req: QueueSendRequest): Promise<number> {
  const { queued, hint } = await queueMessage(ctx, req.agents, req.text, req.from);
  if (hint) process.stderr.write(`${req.tool}: warning: ${hint}\n`);
  if (!req.quiet && !req.json) for (const m of queued) process.stdout.write(`${m.agent}: queued as ${m.id}\n`);
  if (!req.wait) {
    if (req.json) process.stdout.write(JSON.stringify(queued.map((m) => ({ agent: m.agent, outcome: 'queued', id: m.id })), null, 2) + '\n');
    return EXIT.ok;
  }
  const deadline = req.wait.timeoutMs > 0 ? Date.now() + req.wait.timeoutMs : Infinity;
  const results = await Promise.all(queued.map((m) => waitForTurn(ctx, m, deadline).then((r) => r, (err: unknown) => err as Error)));
  let code: number = EXIT.ok;
  const rows = results.map((r, i) => {
    const m = queued[i]!;
    if (r instanceof Error) {
      process.stderr.write(formatError(`${req.tool}: ${m.agent}: message ${m.id}`, r) + '\n');
      code = Math.max(code, exitCodeOf(r));
      return { agent: m.agent, id: m.id, outcome: r instanceof UnconfirmedError ? 'unconfirmed' : 'not-delivered', error: r.message };
    }
    if (!req.quiet && !req.json) process.stdout.write(`${m.agent}: ${m.id} delivered, turn ended (${r.via}, ${r.ms} ms after the delivery)\n`);
    return { agent: m.agent, id: m.id, outcome: 'delivered', delivered: r.delivered.delivered, turn: { via: r.via, ms: r.ms, ...(r.reply === undefined ? {} : { reply: r.reply }) } };
  });
  if (req.json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
  return code;
}

/** Wait until a queued message is delivered (or cannot be), then for the end of the turn it started. */
async function waitForTurn(ctx: FleetContext, m: QueuedMessage, deadline: number): Promise<{ delivered: DeliveredRecord; via: string; ms: number; reply?: string }> {
  const delivered = await waitForDelivery(m, deadline, ctx.env);
  const transport = openTransport(ctx);
  const watching = await watchAgents(transport, [m.agent], ctx.env);
  try {
    watching.replay(m.agent, delivered.delivered);
    const end = await watching.turn(m.agent, delivered.delivered, { timeoutMs: deadline === Infinity ? 0 : Math.max(1, deadline - Date.now()), message: m.text });
    return { delivered, via: end.event?.via ?? end.source, ms: (end.event?.ts ?? Date.now()) - delivered.delivered, ...(end.reply === undefined ? {} : { reply: end.reply }) };
  } finally {
    watching.close();
  }
}

/** The message's delivery record once the dispatcher wrote it; woken by inotify on the agent's queue. */
async function waitForDelivery(m: QueuedMessage, deadline: number, env: NodeJS.ProcessEnv): Promise<DeliveredRecord> {
  const dir = queueDir(m.agent, env);
  mkdirSync(join(dir, 'done'), { recursive: true, mode: 0o700 });
  return new Promise((resolve, reject) => {
    const watchers = [dir, join(dir, 'done')].map((d) => watch(d, () => check()));
    // A safety net for a missed inotify event (the directory replaced): once a second.
    const tick = setInterval(() => check(), 1000);
    const finish = (fn: () => void) => {
      for (const w of watchers) w.close();
      clearInterval(tick);
      fn();
    };
    const check = (): void => {
      const record = deliveredRecord(m.agent, m.id, env);
      if (record) return finish(() => resolve(record));
      const now = findMessage(m.id, env);
      if (!now) {
        // Delivered between the two looks: the record is written before the message leaves the queue.
        const late = deliveredRecord(m.agent, m.id, env);
        if (late) return finish(() => resolve(late));
        return finish(() => reject(new FleetError('it was dropped from the queue before it was delivered')));
      }
      if (now.state === 'unconfirmed') return finish(() => reject(new UnconfirmedError(`its delivery was not confirmed: ${now.lastError ?? 'the dispatcher ended during it'}`, `read the agent (mosaic-agent read ${m.agent}); mosaic-agent queue retry ${m.id} sends it again`)));
      if (Date.now() >= deadline) return finish(() => reject(new FleetError(`still queued after the timeout${now.lastError ? ` (last try: ${now.lastError})` : ''}`, `it stays queued; mosaic-agent queue shows it`)));
    };
    check();
  });
}

const age = (ms: number): string => duration(Math.max(0, Math.round((Date.now() - ms) / 1000)));

/** The queue listing as a table; a HOST column when some message is another host's. */
export function renderQueue(messages: Array<QueuedMessage & { host?: string }>): string {
  if (messages.length === 0) return 'no queued messages';
  const hosts = messages.some((m) => m.host !== undefined);
  const rows = [['ID', 'AGENT', ...(hosts ? ['HOST'] : []), 'STATE', 'AGE', 'FROM', 'MESSAGE']];
  for (const m of messages) {
    const first = m.text.split('\n')[0]!;
    rows.push([m.id, m.agent, ...(hosts ? [m.host ?? 'local'] : []), m.state, age(m.created), m.from ?? '-', (first.length > 60 ? `${first.slice(0, 57)}...` : first) + (m.lastError && m.state !== 'queued' ? `  (${m.lastError})` : '')]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

export async function queueCommand(ctx: FleetContext, argv: string[], spec: FlagSpec): Promise<number> {
  const { env } = ctx;
  const flags = parseFlags(argv, spec);
  const [verb, ...rest] = flags._.map(String);
  if (verb === 'drop') {
    if (rest.length === 0) throw new UsageError('queue drop needs a message id', 'the ids are in: mosaic-agent queue');
    // Every id is checked first: a typo drops nothing.
    const missing = rest.filter((id) => !findMessage(id, env));
    if (missing.length > 0) throw new FleetError(`no queued message ${missing.map((id) => `'${id}'`).join(', ')}`, 'the ids are in: mosaic-agent queue (a delivered message is no longer there)');
    for (const id of rest) {
      const m = dropMessage(id, env);
      if (m) process.stdout.write(`dropped ${id} (for ${m.agent})\n`);
    }
    return 0;
  }
  if (verb === 'retry') {
    if (rest.length !== 1) throw new UsageError('queue retry takes one message id');
    const m = findMessage(rest[0]!, env);
    if (!m) throw new FleetError(`no queued message '${rest[0]}'`, 'the ids are in: mosaic-agent queue');
    if (m.state !== 'unconfirmed') throw new FleetError(`message ${m.id} is ${m.state}, not unconfirmed: it is sent when ${m.agent} is ready`);
    moveMessage(m, 'unconfirmed', 'queued', env);
    process.stdout.write(`${m.id} queued again for ${m.agent}\n`);
    const hint = dispatcherHint(env);
    if (hint) process.stderr.write(`mosaic-agent: warning: ${hint}\n`);
    return 0;
  }
  const names = verb === undefined ? [] : await requireKnownAgents(flags._.map(String), ctx);
  const messages = allQueued(names, env);
  if (flags.json) {
    process.stdout.write(JSON.stringify(messages, null, 2) + '\n');
    return 0;
  }
  process.stdout.write(renderQueue(messages) + '\n');
  const hint = dispatcherHint(env);
  if (hint) process.stderr.write(`mosaic-agent: warning: ${hint}\n`);
  return 0;
}
