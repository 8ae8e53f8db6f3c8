// `mosaic-agent mcp` (issue #17): the fleet as MCP tools, over stdio, for an
// agent that drives other agents. Each tool is a thin call into the code the
// commands use (deliverMessage, askAgent, watchAgents, queueMessage,
// fleetStatus, lifecycleUnits): nothing here sends or waits by itself. An
// agent of another host is reached with that host's own commands
// (mcp-hosts.ts).
//
// Who calls is never the model's to say: the sender of every message is
// MOSAIC_AGENT_NAME, and the rules (MOSAIC_AGENT_CAN_MESSAGE,
// MOSAIC_AGENT_CAN_CONTROL) come from the environment the agent's runtime
// started this server with, which `apply` wrote from the roster.
//
// stdout is the protocol's: nothing here may print to it. Every failure is a
// tool result with isError, so the server outlives any one call.
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { FleetError } from '../core/errors.js';
import { agentEnvFile } from '../core/paths.js';
import { readEnvValues } from '../core/env-file.js';
import { controlProblem } from '../runtimes/message.js';
import { openTransport } from '../send/open-transport.js';
import { outcomeOf } from '../send/transport.js';
import { fleetStatus } from '../fleet/fleet-status.js';
import { requireKnownAgents } from '../fleet/known-agents.js';
import { UNTIL, watchAgents, type Until } from '../fleet/turns.js';
import { agentUnit } from '../systemd/systemd.js';
import { deliverMessage } from './send-command.js';
import { askAgent, lastReply } from './turn-commands.js';
import { queueMessage } from './queue-commands.js';
import { lifecycleUnits } from './lifecycle.js';
import { hostOfAgent, onHost, sendOnHost } from './mcp-hosts.js';
import { fleetPlacement, statusAcrossHosts } from '../fleet/hosts.js';
import { checkAgentName } from '../core/names.js';
import type { FleetContext } from '../fleet/context.js';
import type { HostConfig } from '../fleet/roster.js';

/** The default and the longest wait of ask, send_message with wait, and wait_for. */
export const DEFAULT_TIMEOUT_S = 300;
export const MAX_TIMEOUT_S = 3600;
/** The longest text a tool returns (a reply, a screen); a longer one keeps its end. */
export const MAX_TEXT_CHARS = 100_000;
/** The longest message a tool takes (agent-send takes more; a model should not). */
export const MAX_MESSAGE_CHARS = 100_000;
/** The most history lines read_screen gives. */
export const MAX_SCREEN_LINES = 2000;

/** The calling agent and its rules, from the environment its runtime gave this server. */
export interface Caller {
  /** MOSAIC_AGENT_NAME; undefined when the server runs outside an agent. */
  name: string | undefined;
  /** The agents it may message: names, or '*' for all (the default). */
  canMessage: string[] | '*';
  /** Why MOSAIC_AGENT_CAN_MESSAGE could not be read (then it may message nobody). */
  canMessageProblem?: string;
  canControl: boolean;
}

/** The caller's name and rules; a MOSAIC_AGENT_CAN_MESSAGE that cannot be read allows nobody. */
export function callerFromEnv(env: NodeJS.ProcessEnv): Caller {
  const name = env.MOSAIC_AGENT_NAME || undefined;
  const canControl = env.MOSAIC_AGENT_CAN_CONTROL === '1';
  const raw = env.MOSAIC_AGENT_CAN_MESSAGE;
  if (raw === undefined || raw === '') return { name, canMessage: '*', canControl };
  try {
    const list: unknown = JSON.parse(raw);
    if (!Array.isArray(list) || !list.every((n) => typeof n === 'string')) throw new Error('not a list of names');
    return { name, canMessage: list.includes('*') ? '*' : (list as string[]), canControl };
  } catch (err) {
    return { name, canMessage: [], canMessageProblem: `MOSAIC_AGENT_CAN_MESSAGE=${raw} cannot be read (${(err as Error).message})`, canControl };
  }
}

/** Why the caller may not message `target`, or undefined when it may. */
export function messageRefusal(caller: Caller, target: string): string | undefined {
  if (caller.canMessageProblem) return `refused: ${caller.canMessageProblem}, so no agent may be messaged`;
  if (caller.canMessage === '*' || caller.canMessage.includes(target)) return undefined;
  const rule = caller.canMessage.length === 0 ? '[]' : `[${caller.canMessage.join(', ')}]`;
  return `refused by the roster rule can_message: ${rule} of agent '${caller.name ?? '?'}': it may not message '${target}'`;
}

const CONTROL_REFUSAL = (caller: Caller) =>
  `refused by the roster rule can_control: agent '${caller.name ?? '?'}' does not have can_control: true, so it may not start, stop or restart agents`;

const agentArg = { type: 'string', description: 'The agent\'s name, as list_agents gives it.' } as const;
const messageArg = { type: 'string', description: `The message, as text (at most ${MAX_MESSAGE_CHARS} characters; no control characters but tab and newline).` } as const;
const timeoutArg = {
  type: 'number',
  description: `Seconds to wait at most (default ${DEFAULT_TIMEOUT_S}, at most ${MAX_TIMEOUT_S}).`,
  minimum: 1,
  maximum: MAX_TIMEOUT_S,
} as const;

/** The tools, as the model reads them: short, exact, with their limits. */
function tools(caller: Caller): Tool[] {
  const from = caller.name ? `It arrives with a first line naming you ('[from ${caller.name}]').` : 'It arrives with a first line naming you.';
  const list: Tool[] = [
    {
      name: 'list_agents',
      description:
        'List the agents of the fleet: name, runtime, state (idle, busy, waiting-for-input, starting, error, exited, unknown) with where it came from (event or screen) and its age in seconds, working directory, queued messages, and whether you may message it.',
      inputSchema: { type: 'object', properties: {} },
    },
    {
      name: 'send_message',
      description: `Type a message into another agent's input and submit it. ${from} Returns at once with the delivery result (delivered, not-delivered, unconfirmed), or with wait: true after that agent's turn ends, with its reply. Never resend an unconfirmed message: read_screen first.`,
      inputSchema: {
        type: 'object',
        properties: { agent: agentArg, message: messageArg, wait: { type: 'boolean', description: 'Wait for the end of the turn the message starts and return the reply (default false).' }, timeout_s: timeoutArg },
        required: ['agent', 'message'],
      },
    },
    {
      name: 'ask',
      description: `Send a message to another agent, wait for the end of the turn it starts, and return that agent's reply text. ${from} Fails after timeout_s (default ${DEFAULT_TIMEOUT_S} s); the other agent keeps working. Replies longer than ${MAX_TEXT_CHARS} characters keep their end.`,
      inputSchema: { type: 'object', properties: { agent: agentArg, message: messageArg, timeout_s: timeoutArg }, required: ['agent', 'message'] },
    },
    {
      name: 'read_output',
      description: `Return an agent's last reply, as its runtime reported it (no message is sent). Fails when it has none yet. At most ${MAX_TEXT_CHARS} characters (the end is kept).`,
      inputSchema: { type: 'object', properties: { agent: agentArg }, required: ['agent'] },
    },
    {
      name: 'read_screen',
      description: `Return the text of an agent's terminal screen as it is now, with up to \`lines\` lines of history above it (default 0, at most ${MAX_SCREEN_LINES}).`,
      inputSchema: { type: 'object', properties: { agent: agentArg, lines: { type: 'integer', minimum: 0, maximum: MAX_SCREEN_LINES, description: 'Lines of history above the screen (default 0).' } }, required: ['agent'] },
    },
    {
      name: 'wait_for',
      description: `Wait until an agent is in a state: idle, busy, waiting (for a person), or change (any other state than now). Returns the state reached; fails if the agent exits, its turn fails, it waits for a person (unless that is asked for), or after timeout_s (default ${DEFAULT_TIMEOUT_S} s).`,
      inputSchema: {
        type: 'object',
        properties: { agent: agentArg, until: { type: 'string', enum: [...UNTIL], description: 'The state to wait for.' }, timeout_s: timeoutArg },
        required: ['agent', 'until'],
      },
    },
    {
      name: 'queue_message',
      description: `Queue a message for an agent; the fleet delivers it when that agent is idle, in order, one per turn. ${from} Returns at once with the message id.`,
      inputSchema: { type: 'object', properties: { agent: agentArg, message: messageArg }, required: ['agent', 'message'] },
    },
  ];
  if (caller.canControl) {
    const control = (verb: string, what: string): Tool => ({
      name: `${verb}_agent`,
      description: what,
      inputSchema: { type: 'object', properties: { agent: agentArg }, required: ['agent'] },
    });
    list.push(
      control('start', 'Start an agent of the fleet that is not running (its runtime, in its own session). Returns once it started.'),
      control('stop', "Stop an agent: its session ends and what it was doing is lost. It stays stopped until started again."),
      control('restart', 'Restart an agent: its current turn is lost; with resume: true in the roster it continues its conversation.'),
    );
  }
  return list;
}

/** A call's argument, checked against its tool's schema by hand (the SDK does not check inputs of a low-level server). */
class Args {
  constructor(private readonly a: Record<string, unknown>) {}

  string(key: string): string {
    const v = this.a[key];
    if (typeof v !== 'string' || v === '') throw new FleetError(`'${key}' must be a non-empty string`);
    return v;
  }

  optionalNumber(key: string, min: number, max: number, integer = false): number | undefined {
    const v = this.a[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
      throw new FleetError(`'${key}' must be a ${integer ? 'whole ' : ''}number from ${min} to ${max}`);
    }
    return v;
  }

  optionalBoolean(key: string): boolean {
    const v = this.a[key];
    if (v === undefined || v === null) return false;
    if (typeof v !== 'boolean') throw new FleetError(`'${key}' must be true or false`);
    return v;
  }
}

/** A text no longer than MAX_TEXT_CHARS: a longer one keeps its end, saying how much went. */
function bounded(text: string): string {
  if (text.length <= MAX_TEXT_CHARS) return text;
  return `[the first ${text.length - MAX_TEXT_CHARS} characters are left out]\n${text.slice(-MAX_TEXT_CHARS)}`;
}

const ok = (text: string): CallToolResult => ({ content: [{ type: 'text', text }] });
const json = (value: unknown): CallToolResult => ok(JSON.stringify(value, null, 2));

/** The tools' implementations; each throws to fail (the caller turns that into isError). */
function handlers(ctx: FleetContext, caller: Caller): Record<string, (args: Args) => Promise<CallToolResult>> {
  const sender = (): string => {
    if (!caller.name) throw new FleetError('this server does not run inside a fleet agent (MOSAIC_AGENT_NAME is not set), so it has no sender for messages', "set roster mcp: true on the agent: the fleet starts the server with the agent's name");
    return caller.name;
  };
  /** A known agent: one of this host's, or one the roster places on another host, with that host (its calls go there). */
  const known = async (args: Args): Promise<{ name: string; host?: HostConfig }> => {
    const raw = args.string('agent');
    const host = hostOfAgent(checkAgentName(raw), ctx.env);
    if (host) return { name: raw, host };
    const [name] = await requireKnownAgents([raw], ctx);
    return { name: name! };
  };
  /** A far command's bound: its own timeout, and the connection's. */
  const farMs = (args: Args) => timeoutMs(args) + 60_000;
  /** A known agent the caller may message; `waits`: not itself (it would wait for its own turn). */
  const target = async (args: Args, waits: boolean): Promise<{ name: string; host?: HostConfig }> => {
    const agent = await known(args);
    const { name } = agent;
    const refusal = messageRefusal(caller, name);
    if (refusal) throw new FleetError(refusal, 'the roster sets it; ask a person to change can_message');
    if (waits && name === caller.name) throw new FleetError(`'${name}' is you: waiting for your own turn would never end`, 'use queue_message to leave yourself a message for after this turn');
    return agent;
  };
  const message = (args: Args): string => {
    const text = args.string('message');
    if (text.length > MAX_MESSAGE_CHARS) throw new FleetError(`the message has ${text.length} characters, more than ${MAX_MESSAGE_CHARS}`, 'send a shorter one, or a file path to read');
    const control = controlProblem(text);
    if (control) throw new FleetError(`the message holds a control character, ${control}: a runtime can read it as a key, so nothing was sent`, 'remove it');
    return text;
  };
  const timeoutMs = (args: Args): number => (args.optionalNumber('timeout_s', 1, MAX_TIMEOUT_S) ?? DEFAULT_TIMEOUT_S) * 1000;

  const control = (verb: 'start' | 'stop' | 'restart') => async (args: Args): Promise<CallToolResult> => {
    if (!caller.canControl) throw new FleetError(CONTROL_REFUSAL(caller));
    const { name, host } = await known(args);
    if (host) {
      await onHost(host, [verb, name], ctx.env, { timeoutMs: 180_000, agent: name });
      return json({ agent: name, host: host.name, done: verb });
    }
    await lifecycleUnits(ctx, verb, [agentUnit(name)]);
    return json({ agent: name, done: verb });
  };

  return {
    async list_agents() {
      // Every host's agents, each host asked at once (an unreachable one's agents say so).
      const fleet = fleetPlacement(ctx.env);
      const st = fleet ? await statusAcrossHosts((only) => fleetStatus(ctx, only, { unitsOptional: true }), fleet, [], ctx.env) : await fleetStatus(ctx, [], { unitsOptional: true });
      const now = Date.now();
      return json({
        you: caller.name ?? null,
        agents: st.agents.map((a) => ({
          name: a.name,
          ...(a.host ? { host: a.host } : {}),
          runtime: a.runtime || null,
          state: a.activity,
          stateSource: a.activitySource,
          stateAgeSeconds: a.activitySince === null ? null : Math.max(0, Math.round((now - a.activitySince) / 1000)),
          unit: a.unit.active,
          // Another host's agent's env file is on its host.
          workdir: a.host ? null : (readEnvValues(agentEnvFile(a.name, ctx.env)).MOSAIC_AGENT_WORKDIR ?? null),
          queued: a.queued,
          mayMessage: messageRefusal(caller, a.name) === undefined,
        })),
      });
    },

    async send_message(args) {
      const text = message(args);
      const from = sender();
      const wait = args.optionalBoolean('wait');
      const { name, host } = await target(args, wait);
      if (host) {
        const row = await sendOnHost(host, name, text, { from, wait, queue: false, ...(wait ? { timeout: String(timeoutMs(args) / 1000) } : {}) }, ctx.env);
        const turn = row.turn;
        return json({
          agent: name,
          host: host.name,
          outcome: 'delivered',
          bytes: row.bytes,
          ...(turn ? { turn: { ended: turn.ended, via: turn.via, ms: turn.ms }, ...(turn.reply === undefined ? {} : { reply: bounded(turn.reply) }) } : {}),
        });
      }
      const { results, ends, sentAt } = await deliverMessage(ctx, {
        agents: [name],
        text,
        opts: { from, submit: true, timeoutMs: 30_000, force: false },
        ...(wait ? { wait: { timeoutMs: timeoutMs(args) } } : {}),
      });
      const r = results[0]!;
      if (r instanceof Error) {
        const outcome = outcomeOf(r);
        throw new FleetError(
          `${outcome}: ${r.message}`,
          outcome === 'unconfirmed' ? `do not send it again blindly: read_screen ${name} first (it may have it)` : (r as FleetError).hint ?? 'it is safe to send again',
        );
      }
      const end = ends?.[0];
      if (end instanceof Error) throw new FleetError(`delivered, but: ${end.message}`, (end as FleetError).hint);
      return json({
        agent: name,
        outcome: 'delivered',
        bytes: r.bytes,
        ...(end ? { turn: { ended: true, via: end.event?.via ?? end.source, ms: (end.event?.ts ?? Date.now()) - sentAt }, ...(end.reply === undefined ? {} : { reply: bounded(end.reply) }) } : {}),
      });
    },

    async ask(args) {
      const text = message(args);
      const from = sender();
      const { name, host } = await target(args, true);
      if (host) {
        const out = await onHost(host, ['ask', '--from', from, '--timeout', String(timeoutMs(args) / 1000), '--json', name, '-'], ctx.env, { input: text, timeoutMs: farMs(args), agent: name });
        return ok(bounded((JSON.parse(out) as { reply: string }).reply));
      }
      const answer = await askAgent(ctx, name, text, { from, timeoutMs: timeoutMs(args) });
      return ok(bounded(answer.reply));
    },

    async read_output(args) {
      const { name, host } = await known(args);
      if (host) return ok(bounded((JSON.parse(await onHost(host, ['output', '--json', name], ctx.env, { timeoutMs: 60_000, agent: name })) as { reply: string }).reply));
      return ok(bounded(lastReply(name, ctx.env).reply));
    },

    async read_screen(args) {
      const { name, host } = await known(args);
      const lines = args.optionalNumber('lines', 0, MAX_SCREEN_LINES, true);
      const screen = host
        ? await onHost(host, ['read', ...(lines === undefined ? [] : ['--lines', String(lines)]), name], ctx.env, { timeoutMs: 60_000, agent: name })
        : await openTransport(ctx).read(name, lines);
      // The rows below the last drawn line are blank (as mosaic-agent read).
      return ok(bounded(screen.replace(/(\n[ \t]*)+$/, '')));
    },

    async wait_for(args) {
      const until = args.string('until') as Until;
      if (!UNTIL.includes(until)) throw new FleetError(`'until' must be one of ${UNTIL.join(', ')}`);
      const { name, host } = await target(args, true);
      if (host) {
        const out = await onHost(host, ['wait', '--until', until, '--timeout', String(timeoutMs(args) / 1000), '--json', name], ctx.env, { timeoutMs: farMs(args), agent: name });
        const [reached] = JSON.parse(out) as Array<{ activity: string; source: string; event?: { via?: string } }>;
        return json({ agent: name, host: host.name, state: reached!.activity, source: reached!.source, ...(reached!.event?.via ? { via: reached!.event.via } : {}) });
      }
      const watching = await watchAgents(openTransport(ctx), [name], ctx.env);
      try {
        const [reached] = await watching.until(until, { timeoutMs: timeoutMs(args), any: false });
        return json({ agent: name, state: reached!.activity, source: reached!.source, ...(reached!.event ? { via: reached!.event.via } : {}) });
      } finally {
        watching.close();
      }
    },

    async queue_message(args) {
      const text = message(args);
      const from = sender();
      const { name, host } = await target(args, false);
      if (host) {
        const row = await sendOnHost(host, name, text, { from, wait: false, queue: true }, ctx.env);
        return json({ agent: name, host: host.name, outcome: 'queued', id: row.id });
      }
      const { queued, hint } = await queueMessage(ctx, [name], text, from);
      return json({ agent: name, outcome: 'queued', id: queued[0]!.id, ...(hint ? { warning: hint } : {}) });
    },

    start_agent: control('start'),
    stop_agent: control('stop'),
    restart_agent: control('restart'),
  };
}

/** An error as the model reads it: what went wrong, then what to do. */
function toolError(err: unknown): CallToolResult {
  const e = err as FleetError;
  const text = `${e?.message ?? String(err)}${e?.hint ? ` (${e.hint})` : ''}`;
  return { content: [{ type: 'text', text }], isError: true };
}

/** The server, not yet connected: its tools answer for `caller`. */
export function mcpServer(ctx: FleetContext, caller: Caller, version: string): Server {
  const server = new Server({ name: 'mosaic-fleet', version }, { capabilities: { tools: {} } });
  const run = handlers(ctx, caller);
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: tools(caller) }));
  server.setRequestHandler(CallToolRequestSchema, async (req) => {
    const name = req.params.name;
    // The control tools are listed only with can_control; called without it, the rule is named.
    if (['start_agent', 'stop_agent', 'restart_agent'].includes(name) && !caller.canControl) return toolError(new FleetError(CONTROL_REFUSAL(caller)));
    const handler = Object.hasOwn(run, name) ? run[name] : undefined;
    if (!handler) return toolError(new FleetError(`no tool '${name}'`, 'list_agents, send_message, ask, read_output, read_screen, wait_for and queue_message are the tools'));
    try {
      return await handler(new Args((req.params.arguments ?? {}) as Record<string, unknown>));
    } catch (err) {
      return toolError(err);
    }
  });
  return server;
}

/** Serve over stdin and stdout until stdin ends. */
export async function serveMcp(version: string, ctx: FleetContext): Promise<number> {
  const caller = callerFromEnv(ctx.env);
  // A person who ran it by hand sees why nothing happens.
  if (process.stdin.isTTY) process.stderr.write(`mosaic-agent mcp: serving MCP on stdin and stdout${caller.name ? ` as agent '${caller.name}'` : ' (no MOSAIC_AGENT_NAME: nothing can be sent)'}; an agent's runtime starts it (roster mcp: true); Ctrl-D ends it\n`);
  const server = mcpServer(ctx, caller, version);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    server.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
    process.stdin.once('close', () => resolve());
  });
  await server.connect(transport);
  await closed;
  await server.close().catch(() => undefined);
  return 0;
}
