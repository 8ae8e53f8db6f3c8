// The send command shared by `agent-send` and `mosaic-agent send`: one code
// path for resolving targets, delivering and reporting.
import { readFileSync } from 'node:fs';
import { numberFlag, parseFlags, type FlagSpec } from './cli.js';
import { rosterFile } from '../core/paths.js';
import { EXIT, FleetError, UsageError, exitCodeOf, formatError } from '../core/errors.js';
import { controlProblem, senderProblem } from '../runtimes/message.js';
import { openTransport } from '../send/open-transport.js';
import { outcomeOf, type Delivery, type Outcome, type SendOptions } from '../send/transport.js';
import type { TurnEnd } from '../fleet/turns.js';
import type { FleetContext } from '../fleet/context.js';

/** Read the whole of stdin as UTF-8. */
export async function readMessageFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Where a send command writes: this process's stdout and stderr, or, for a
 * send served for another host (lib/cli/send-server.ts), text sent back there.
 */
export interface SendIO {
  out(text: string): void;
  err(text: string): void;
}

const PROCESS_IO: SendIO = { out: (t) => void process.stdout.write(t), err: (t) => void process.stderr.write(t) };

export interface SendRequest {
  tool: string;
  /** Where the report goes; default this process's stdout and stderr. */
  io?: SendIO;
  /** Agent names, or undefined for every running agent (--all). */
  agents: string[] | undefined;
  text: string;
  opts: SendOptions;
  json: boolean;
  quiet: boolean;
  /** Wait for the end of the turn the message started (--wait); `waitMs` bounds it, 0: no limit. */
  wait?: { timeoutMs: number };
  /** With json: the rows go here instead of to stdout (a send across hosts prints them all at once). */
  jsonRows?: unknown[];
}

/**
 * The send command's options. Its help is agent-send's own (bin/agent-send.ts),
 * with the rules each option carries; a test holds the two to each other.
 */
export const SEND_FLAGS: FlagSpec = {
  string: ['from', 'timeout'],
  boolean: ['all', 'submit', 'force', 'json', 'quiet', 'allow-control', 'wait', 'queue'],
  defaults: { submit: true },
  alias: { q: 'quiet' },
  stopEarly: true,
};

/**
 * Run the send command from its argv (options, then NAME[,NAME...] or --all,
 * then the message words, or `-`/no words with stdin not a terminal for a
 * message on stdin): `agent-send` and `mosaic-agent send` are both this.
 * Returns the exit code, or undefined when --help was asked for.
 */
export async function runSendCommand(ctx: FleetContext, tool: string, argv: string[], given: { text?: string; io?: SendIO } = {}): Promise<number | undefined> {
  const io = given.io ?? PROCESS_IO;
  const flags = parseFlags(argv, SEND_FLAGS);
  if (flags.help) return undefined;
  const words = [...flags._];
  const targets = flags.all ? undefined : words.shift();
  if (!flags.all && targets === undefined) throw new UsageError('no agent name given', `usage: ${tool} NAME MESSAGE (see --help)`);
  const from = flags.from === undefined ? undefined : String(flags.from);
  const problem = from === undefined ? undefined : senderProblem(from);
  if (problem) throw new UsageError(`invalid --from: ${problem}`);
  const fromStdin = (words.length === 1 && words[0] === '-') || (words.length === 0 && !process.stdin.isTTY);
  const text = given.text ?? (fromStdin ? await readMessageFromStdin() : words.join(' '));
  if (text.trim() === '') throw new UsageError('the message is empty', 'give the message as arguments or on stdin');
  // Agents of other hosts (the roster's host:) get it from their host's own agent-send (issue #19).
  if (!(flags.all && flags.queue) && rosterMayHaveHosts(ctx.env)) {
    const across = await sendAcrossHosts(ctx, tool, flags.all ? undefined : [...new Set(targets!.split(','))], text, flags, argv, io);
    if (across !== undefined) return across;
  }
  if (flags.queue) {
    if (flags.all) throw new UsageError('--queue takes agent names, not --all', 'name the agents: NAME,NAME...');
    if (!flags.submit) throw new UsageError('--queue delivers and submits: it does not go with --no-submit');
    if (flags.force || flags['allow-control']) throw new UsageError(`--queue does not go with --${flags.force ? 'force' : 'allow-control'}`, 'a queued message waits until the agent is ready, and is refused at once if it holds control characters');
    // Refused now, not at a delivery nobody watches.
    const control = controlProblem(text);
    if (control) throw new UsageError(`the message holds a control character, ${control}: a runtime can read it as a key, so nothing was queued`, 'remove it (--allow-control is for immediate sends only)');
    const { queueSend } = await import('./queue-commands.js');
    return queueSend(ctx, {
      tool,
      agents: [...new Set(targets!.split(','))],
      text,
      from,
      json: Boolean(flags.json),
      quiet: Boolean(flags.quiet),
      ...(flags.wait ? { wait: { timeoutMs: flags.timeout === undefined ? 0 : numberFlag(flags, 'timeout', 30) * 1000 } } : {}),
    });
  }
  return sendAndReport(ctx, {
    tool,
    // A name given twice gets the message once.
    agents: targets === undefined ? undefined : [...new Set(targets.split(','))],
    text,
    opts: {
      from,
      submit: Boolean(flags.submit),
      timeoutMs: numberFlag(flags, 'timeout', 30) * 1000,
      force: Boolean(flags.force),
      allowControl: Boolean(flags['allow-control']),
    },
    json: Boolean(flags.json),
    quiet: Boolean(flags.quiet),
    io,
    // --timeout bounds the delivery and, with --wait, the wait for the turn's end too (none when not given).
    ...(flags.wait ? { wait: { timeoutMs: flags.timeout === undefined ? 0 : numberFlag(flags, 'timeout', 30) * 1000 } } : {}),
  });
}

/** Whether the roster may name hosts: one file read, so a send on a one-host fleet loads no YAML parser. */
function rosterMayHaveHosts(env: NodeJS.ProcessEnv): boolean {
  try {
    return readFileSync(rosterFile(env), 'utf8').includes('hosts');
  } catch {
    return false;
  }
}

/**
 * A send to agents of which some run on other hosts: each remote host's
 * agent-send gets its agents, the same options and the message on stdin, all
 * hosts at once, this host's agents the usual way meanwhile; the exit code is
 * the worst of them. Undefined when every agent is this host's.
 */
async function sendAcrossHosts(ctx: FleetContext, tool: string, given: string[] | undefined, text: string, flags: ReturnType<typeof parseFlags>, argv: string[], io: SendIO): Promise<number | undefined> {
  const hosts = await import('../fleet/hosts.js');
  const fleet = hosts.fleetPlacement(ctx.env);
  if (!fleet) return undefined;
  // --all: every agent of this host's server, and every roster agent of the other hosts.
  const names = given ?? [...((await openTransport(ctx).sessions()) ?? []).map((s) => s.name), ...fleet.agentHost.keys()];
  if (!names.some((n) => fleet.agentHost.has(n))) return undefined;
  const groups = hosts.byHost(names, fleet.agentHost);
  const local = groups.get('local') ?? [];
  const remoteFlags = {
    ...(flags.from === undefined ? {} : { from: String(flags.from) }),
    submit: Boolean(flags.submit),
    force: Boolean(flags.force),
    allowControl: Boolean(flags['allow-control']),
    json: Boolean(flags.json),
    quiet: Boolean(flags.quiet),
    wait: Boolean(flags.wait),
    queue: Boolean(flags.queue),
    ...(flags.timeout === undefined ? {} : { timeout: String(flags.timeout) }),
  };
  const jsonRows: unknown[] = [];
  const remote = [...groups].filter(([h]) => h !== 'local').map(async ([h, agents]) => {
    const r = await hosts.sendRemote(fleet.hosts.get(h)!, agents, text, remoteFlags, tool, ctx.env);
    io.err(r.stderr);
    if (!flags.json) io.out(r.stdout);
    else {
      try {
        jsonRows.push(...(JSON.parse(r.stdout) as Array<Record<string, unknown>>).map((row) => ({ ...row, host: h, via: r.via })));
      } catch {
        io.out(r.stdout);
      }
    }
    return r.code;
  });
  // This host's agents: the same command with only their names (options kept, the message already read).
  const localCode = async (): Promise<number> => {
    if (local.length === 0) return 0;
    if (flags.queue || !flags.json) {
      // Options stop at the names (stopEarly): what follows them is the names, then the message.
      const options = argv.slice(0, argv.length - flags._.length).filter((w) => w !== '--all');
      return (await runSendCommand(ctx, tool, [...options, local.join(',')], { text, io })) ?? 0;
    }
    return sendAndReport(ctx, {
      tool,
      agents: local,
      text,
      opts: { from: remoteFlags.from, submit: remoteFlags.submit, timeoutMs: numberFlag(flags, 'timeout', 30) * 1000, force: remoteFlags.force, allowControl: remoteFlags.allowControl },
      json: true,
      quiet: remoteFlags.quiet,
      io,
      jsonRows,
      ...(flags.wait ? { wait: { timeoutMs: flags.timeout === undefined ? 0 : numberFlag(flags, 'timeout', 30) * 1000 } } : {}),
    });
  };
  const codes = await Promise.all([localCode(), ...remote]);
  if (flags.json) io.out(JSON.stringify(jsonRows, null, 2) + '\n');
  return Math.max(...codes);
}

// Outcomes from best to worst, and their exit codes: with several agents the
// command exits with the worst one, so a caller that retries on 1 never
// resends to an agent whose delivery is unconfirmed (3).
const OUTCOMES: readonly Outcome[] = ['delivered', 'not-delivered', 'unconfirmed'];
const EXIT_OF: Record<Outcome, number> = { delivered: EXIT.ok, 'not-delivered': EXIT.failure, unconfirmed: EXIT.unconfirmed };
const WORDS: Record<Outcome, string> = { delivered: 'delivered', 'not-delivered': 'not delivered', unconfirmed: 'unconfirmed' };

/** What a send did for each agent: its delivery, and with a wait the end of the turn it started. */
export interface SendResult {
  agents: string[];
  results: Array<Delivery | Error>;
  /** Per agent, with a wait: the turn's end, why the wait failed, or undefined when nothing was delivered. */
  ends?: Array<TurnEnd | Error | undefined>;
  sentAt: number;
}

/**
 * Deliver a message and, with `wait`, wait for the end of each turn it
 * started; prints nothing (sendAndReport and the MCP server report it).
 */
export async function deliverMessage(ctx: FleetContext, req: Pick<SendRequest, 'agents' | 'text' | 'opts' | 'wait'>): Promise<SendResult> {
  const transport = openTransport(ctx);
  let agents = req.agents;
  if (agents === undefined) {
    const sessions = await transport.sessions();
    agents = (sessions ?? []).filter((s) => s.alive && s.runtime !== '').map((s) => s.name);
    if (agents.length === 0) throw new FleetError('no running agents to send to', 'start some: systemctl --user start mosaic-fleet.target');
  }
  // Known agents are looked up only for a target without a session, and their
  // module (with the roster's YAML parser) is loaded only then, from the
  // tool's lazy file (lib/build/bundle.cts): a send that finds its agents pays nothing.
  const checkMissing = async (missing: string[]) => (await import('../fleet/known-agents.js')).requireKnownAgents(missing, ctx);
  // With a wait the agents' event logs are followed from before the send, so the turn's first event is not missed.
  const turns = req.wait ? await import('../fleet/turns.js') : undefined;
  let watching: import('../fleet/turns.js').Watching | undefined;
  if (turns) {
    // Agents without a live session are left to the send, which says why.
    const live = new Set(((await transport.sessions()) ?? []).filter((s) => s.alive).map((s) => s.name));
    watching = await turns.watchAgents(transport, agents.filter((a) => live.has(a)), ctx.env);
  }
  const sentAt = Date.now();
  let results: Array<Delivery | Error>;
  try {
    results = await transport.send(agents, req.text, { ...req.opts, checkMissing });
  } catch (err) {
    watching?.close();
    throw err;
  }
  if (!watching || !req.wait) return { agents, results, sentAt };
  // Each delivered agent's turn, at once; a wait's failure is that agent's, reported like a delivery's.
  const names = agents;
  const ends = await Promise.all(
    results.map((r, i) =>
      r instanceof Error ? Promise.resolve(undefined) : watching.turn(names[i]!, sentAt, { timeoutMs: req.wait!.timeoutMs, message: req.text }).catch((err: unknown) => err as Error),
    ),
  );
  watching.close();
  return { agents, results, ends, sentAt };
}

/** Deliver and print the outcome; returns the exit code of the worst outcome (0, 1 or 3). */
export async function sendAndReport(ctx: FleetContext, req: SendRequest): Promise<number> {
  const transport = openTransport(ctx);
  const io = req.io ?? PROCESS_IO;
  const { agents, results, ends, sentAt } = await deliverMessage(ctx, req);
  let worst = 0;
  const rows = results.map((r, i) => {
    const outcome = outcomeOf(r);
    worst = Math.max(worst, OUTCOMES.indexOf(outcome));
    if (r instanceof Error) {
      io.err(formatError(`${req.tool}: ${agents[i]}: ${WORDS[outcome]}`, r) + '\n');
      return { agent: agents[i], outcome, ok: false, error: r.message };
    }
    if (r.cleared !== undefined) {
      io.err(`${req.tool}: ${r.agent}: its input held text that was never sent; it was cleared first: ${JSON.stringify(r.cleared)}\n`);
    }
    if (!req.quiet && !req.json) {
      const how = r.submitted ? (r.rescued ? 'submitted after a second Enter' : 'submitted') : 'pasted, not submitted';
      io.out(`${r.agent}: ${WORDS[outcome]}, ${how} (${r.bytes} bytes to ${transport.kind} ${r.target}, ${r.ms} ms)\n`);
    }
    return { outcome, ok: true, ...r };
  });
  let code: number = EXIT_OF[OUTCOMES[worst]!];
  if (ends) {
    ends.forEach((end, i) => {
      if (end === undefined) return;
      const row = rows[i] as Record<string, unknown>;
      if (end instanceof Error) {
        io.err(formatError(`${req.tool}: ${agents[i]}: delivered, but`, end) + '\n');
        row.turn = { ended: false, error: end.message };
        code = Math.max(code, exitCodeOf(end));
        return;
      }
      row.turn = { ended: true, via: end.event?.via ?? end.source, ms: end.event ? end.event.ts - sentAt : Date.now() - sentAt, ...(end.reply === undefined ? {} : { reply: end.reply }) };
      if (!req.quiet && !req.json) io.out(`${agents[i]}: turn ended (${end.event?.via ?? end.source}, ${(row.turn as { ms: number }).ms} ms after the send)\n`);
    });
  }
  if (req.jsonRows) req.jsonRows.push(...rows);
  else if (req.json) io.out(JSON.stringify(rows, null, 2) + '\n');
  return code;
}
