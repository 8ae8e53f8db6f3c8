// mosaic-agent's commands over agent events (issue #15): wait, ask, output,
// events. The waiting itself is lib/fleet/turns.ts; the log lib/events/event-log.ts.
import { countFlag, numberFlag, parseFlags, type CommandDef, type Flags, type FlagSpec } from './cli.js';
import { FleetError, UsageError } from '../core/errors.js';
import { senderProblem } from '../runtimes/message.js';
import { agentProfile } from '../runtimes/profiles.js';
import { openTransport } from '../send/open-transport.js';
import { outcomeOf, type Delivery } from '../send/transport.js';
import { allEvents, EventFollower, replyOf, type AgentEvent } from '../events/event-log.js';
import { replyFromScreen, UNTIL, watchAgents, type TurnEnd, type Until } from '../fleet/turns.js';
import { readMessageFromStdin } from './send-command.js';
import type { FleetContext } from '../fleet/context.js';

const EXIT_CODES = `Exit status:
  0  reached (ask: the reply is printed)
  1  an agent exited, failed, or its turn ended in an error; or it is not running
  2  bad usage; nothing was done
  4  an agent stopped to ask a person (what it asks is printed on stderr)
  5  timed out`;

const TIMEOUT = { name: 'timeout', value: 'SECONDS', help: 'give up after this long (exit 5); default: no limit' } as const;

export const TURN_COMMAND_DEFS: Record<string, CommandDef> = {
  wait: {
    usage: 'NAME... [--until idle|busy|waiting|change] [--timeout SECONDS] [--any]',
    about:
      "Block until each agent is in the state asked for (default idle; change: any other state than now).\nWoken by the runtime's own event where it reports them (no polling on that path); read off the\nscreen where it does not (every 0.3 s). An agent already in that state returns at once.\n\n" +
      EXIT_CODES,
    options: [
      { name: 'until', value: 'STATE', help: 'idle (default), busy, waiting (for a person), or change' },
      TIMEOUT,
      { name: 'any', help: 'return once one of the agents is there (default: all of them)' },
      { name: 'json', help: 'each agent reached: its state, where it came from, the event' },
    ],
    examples: ['mosaic-agent wait worker1 worker2 --timeout 600', 'mosaic-agent wait reviewer --until change'],
  },
  ask: {
    usage: 'NAME MESSAGE...|-',
    about:
      "Deliver the message, wait for the end of the turn it starts, and print the agent's reply on\nstdout and nothing else, byte for byte (a newline is added only on a terminal). The reply is the\nruntime's own where its events carry it (Claude Code, Codex, Gemini CLI, opencode, pi); otherwise\nit is what the pane printed after the message, without the runtime's frame (--json says which).\n\n" +
      EXIT_CODES +
      '\n  3  the message was submitted but not confirmed (as agent-send says it); nothing is waited for',
    options: [
      TIMEOUT,
      { name: 'from', value: 'SENDER', help: 'put an attribution line "[from SENDER]" first' },
      { name: 'json', help: 'the reply with the state, timings and where the reply came from' },
    ],
    examples: ["mosaic-agent ask reviewer 'Is the diff in PR 12 safe to merge? Answer yes or no.'", 'git diff | mosaic-agent ask reviewer -'],
  },
  output: {
    usage: 'NAME',
    about: "The agent's last reply, as its runtime's events gave it (exit 1 when it has none yet).",
    options: [{ name: 'json', help: 'with the time and the event it came from' }],
  },
  events: {
    usage: 'NAME',
    about:
      "The agent's events (~/.local/state/mosaic/fleet/events/NAME.jsonl): started, busy, idle (with the reply),\nwaiting, error, exited; each with its time and where it came from.",
    options: [
      { name: 'follow', alias: 'f', help: 'keep printing new events as they come' },
      { name: 'lines', alias: 'n', value: 'N', help: 'only the last N events' },
      { name: 'json', help: 'one JSON object per line, the reply taken out' },
    ],
  },
};

type Spec = (command: string) => FlagSpec;

/**
 * The agents named, refused unless the fleet knows them. An agent with a
 * session is known: only the others are looked up (in the roster, env files
 * and units), from a module loaded only then, as agent-send does: an ask of a
 * running agent pays for no YAML parser and no systemctl call.
 */
export async function knownAgents(ctx: FleetContext, names: string[]): Promise<string[]> {
  const sessions = new Set(((await openTransport(ctx).sessions()) ?? []).map((s) => s.name));
  const missing = names.filter((n) => !sessions.has(n));
  if (missing.length > 0) await (await import('../fleet/known-agents.js')).requireKnownAgents(missing, ctx);
  return names;
}

function timeoutMs(flags: Flags): number {
  return flags.timeout === undefined ? 0 : numberFlag(flags, 'timeout', 0) * 1000;
}

export async function waitCommand(ctx: FleetContext, argv: string[], flagsOf: Spec): Promise<number> {
  const flags = parseFlags(argv, flagsOf('wait'));
  if (flags._.length === 0) throw new UsageError('no agent name given', 'usage: mosaic-agent wait NAME... [--until STATE]');
  const until = String(flags.until ?? 'idle') as Until;
  if (!UNTIL.includes(until)) throw new UsageError(`--until ${JSON.stringify(flags.until)} is not a state to wait for`, `use one of: ${UNTIL.join(', ')}`);
  const names = await knownAgents(ctx, [...new Set(flags._.map(String))]);
  const watching = await watchAgents(openTransport(ctx), names, ctx.env);
  try {
    const reached = await watching.until(until, { timeoutMs: timeoutMs(flags), any: Boolean(flags.any) });
    if (flags.json) process.stdout.write(JSON.stringify(reached.map((r) => ({ ...r, event: r.event && withReply(r.event) })), null, 2) + '\n');
    else for (const r of reached) process.stdout.write(`${r.agent}: ${r.activity} (${r.event?.via ?? r.source})\n`);
    return 0;
  } finally {
    watching.close();
  }
}

export async function askCommand(ctx: FleetContext, argv: string[], flagsOf: Spec): Promise<number> {
  const flags = parseFlags(argv, { ...flagsOf('ask'), stopEarly: true });
  const [target, ...words] = flags._.map(String);
  if (!target) throw new UsageError('no agent name given', 'usage: mosaic-agent ask NAME MESSAGE');
  const from = flags.from === undefined ? undefined : String(flags.from);
  const problem = from === undefined ? undefined : senderProblem(from);
  if (problem) throw new UsageError(`invalid --from: ${problem}`);
  const fromStdin = (words.length === 1 && words[0] === '-') || (words.length === 0 && !process.stdin.isTTY);
  const text = fromStdin ? await readMessageFromStdin() : words.join(' ');
  if (text.trim() === '') throw new UsageError('the message is empty', 'give the message as arguments or on stdin');
  const [name] = await knownAgents(ctx, [target]);
  const { reply, replySource, end, delivery, sentAt } = await askAgent(ctx, name!, text, { from, timeoutMs: timeoutMs(flags) });
  if (flags.json) {
    process.stdout.write(
      JSON.stringify(
        {
          agent: name,
          reply,
          replySource,
          state: end.event?.kind ?? 'idle',
          via: end.event?.via ?? end.source,
          delivery: { bytes: delivery.bytes, ms: delivery.ms },
          turnMs: (end.event?.ts ?? Date.now()) - sentAt,
        },
        null,
        2,
      ) + '\n',
    );
  } else {
    process.stdout.write(reply + (process.stdout.isTTY && !reply.endsWith('\n') ? '\n' : ''));
  }
  return 0;
}

/** What ask got: the reply, where it came from, and the delivery and turn behind it. */
export interface Answer {
  reply: string;
  replySource: 'event' | 'screen' | undefined;
  end: TurnEnd;
  delivery: Delivery;
  sentAt: number;
}

/**
 * Deliver a message to a known agent and wait for the end of the turn it
 * starts; the reply is the runtime's own where its event carries it, else
 * what the pane printed after the message. Prints nothing (ask and the MCP
 * server report it). `timeoutMs` 0: no limit.
 */
export async function askAgent(ctx: FleetContext, name: string, text: string, opts: { from: string | undefined; timeoutMs: number }): Promise<Answer> {
  const transport = openTransport(ctx);
  const watching = await watchAgents(transport, [name], ctx.env);
  try {
    const sentAt = Date.now();
    const [delivery] = await transport.send([name], text, { from: opts.from, submit: true, timeoutMs: 30_000, force: false });
    if (delivery instanceof Error) {
      // Unconfirmed (3) or not delivered (1): no reply is waited for a message that may not be there.
      throw Object.assign(delivery, { message: `${outcomeOf(delivery) === 'unconfirmed' ? 'unconfirmed' : 'not delivered'}: ${delivery.message}` });
    }
    const end = await watching.turn(name, sentAt, { timeoutMs: opts.timeoutMs, message: text });
    let reply = end.reply;
    let replySource = end.replySource;
    if (reply === undefined) {
      const session = (await transport.sessions())?.find((s) => s.name === name);
      reply = replyFromScreen(agentProfile(session?.runtime ?? '', session?.profileJson, ctx.env), await transport.read(name, 500), text);
      replySource = 'screen';
    }
    if (reply === undefined) throw new FleetError(`agent '${name}' answered, but its reply could not be found on its screen`, `read it: mosaic-agent read ${name} --lines 100`);
    return { reply, replySource, end, delivery: delivery!, sentAt };
  } finally {
    watching.close();
  }
}

function withReply(e: AgentEvent): AgentEvent & { reply?: string } {
  const reply = replyOf(e);
  return reply === undefined ? e : { ...e, reply };
}

export async function outputCommand(ctx: FleetContext, argv: string[], flagsOf: Spec): Promise<number> {
  const flags = parseFlags(argv, flagsOf('output'));
  if (flags._.length !== 1) throw new UsageError('output takes one agent name');
  const [name] = await knownAgents(ctx, flags._.map(String));
  const { reply, event: last } = lastReply(name!, ctx.env);
  if (flags.json) process.stdout.write(JSON.stringify({ agent: name, reply, ts: last.ts, at: new Date(last.ts).toISOString(), via: last.via }, null, 2) + '\n');
  else process.stdout.write(reply + (process.stdout.isTTY && !reply.endsWith('\n') ? '\n' : ''));
  return 0;
}

/** An agent's last reply, as its runtime's events gave it; a FleetError when it has none yet. */
export function lastReply(name: string, env: NodeJS.ProcessEnv): { reply: string; event: AgentEvent } {
  const last = allEvents(name, env).reverse().find((e) => (e.kind === 'idle' || e.kind === 'error') && replyOf(e) !== undefined);
  if (!last) throw new FleetError(`agent '${name}' has no reply recorded yet`, `its runtime reports replies from its next turn on (see mosaic-agent events ${name}); its screen: mosaic-agent read ${name}`);
  return { reply: replyOf(last)!, event: last };
}

function eventLine(e: AgentEvent, json: boolean): string {
  const full = withReply(e);
  if (json) return JSON.stringify(full);
  const at = new Date(e.ts).toISOString().replace('T', ' ').replace('Z', '');
  const reply = full.reply === undefined ? '' : `  ${JSON.stringify(full.reply.length > 120 ? `${full.reply.slice(0, 117)}...` : full.reply)}`;
  return `${at}  ${e.kind.padEnd(7)}  ${e.via}${reply}`;
}

export async function eventsCommand(ctx: FleetContext, argv: string[], flagsOf: Spec): Promise<number> {
  const flags = parseFlags(argv, flagsOf('events'));
  if (flags._.length !== 1) throw new UsageError('events takes one agent name');
  const [name] = await knownAgents(ctx, flags._.map(String));
  const json = Boolean(flags.json);
  // Followed from before the old ones are read, so nothing appended meanwhile is lost; what both saw prints once.
  let printedUpTo = 0;
  const follower = flags.follow
    ? new EventFollower([name!], (_n, events) => events.filter((e) => e.ts > printedUpTo).forEach((e) => process.stdout.write(eventLine(e, json) + '\n')), ctx.env)
    : undefined;
  const events = allEvents(name!, ctx.env);
  printedUpTo = events[events.length - 1]?.ts ?? 0;
  const n = flags.lines === undefined ? events.length : countFlag(flags, 'lines');
  for (const e of events.slice(n === 0 ? events.length : -n)) process.stdout.write(eventLine(e, json) + '\n');
  if (!follower) return 0;
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  follower.close();
  return 0;
}
