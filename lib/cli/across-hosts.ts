// mosaic-agent's commands for agents of other hosts (issue #19). A command
// that names an agent the roster places on another host runs there, as that
// host's own `mosaic-agent` (its systemd, its tmux, its locks and checks),
// over ssh: the same options, rebuilt word by word from what was parsed here
// (lib/core/ssh.ts quotes each one), its output passed through as it comes and
// its exit status returned. Commands for agents of several hosts run on each
// host at once with that host's names, this host's share here; the exit
// status is the first failure's. Nothing here knows what a command does: only
// which of its words are agent names.
import { spawn } from 'node:child_process';
import { EXIT, FleetError } from '../core/errors.js';
import { allQueued, findMessage, type QueuedMessage } from '../dispatch/queue.js';
import { requireKnownAgents } from '../fleet/known-agents.js';
import { readFileSync } from 'node:fs';
import { rosterFile } from '../core/paths.js';
import { sshFailure, sshForward, type SshResult } from '../core/ssh.js';
import { byHost, failedBeforeRunning, fleetPlacement, sshHost, toolkitMissing, toolkitMissingMessage, type FleetPlacement } from '../fleet/hosts.js';
import { LOCAL_HOST, type HostConfig } from '../fleet/roster.js';
import { renderWorktrees, type WorktreeInfo } from '../fleet/worktree.js';
import { END_WITH_STDIN, parseFlags, flagSpec, type CommandDef, type Flags } from './cli.js';
import type { FleetContext } from '../fleet/context.js';

/** Set for this host's share of a command run in a process of its own: it runs here, whatever names it has. */
const HERE_ONLY = 'MOSAIC_HERE_ONLY';

/** How a command names agents: one (the first word), or every word. */
const ROUTES: Record<string, 'one' | 'many'> = {
  read: 'one',
  attach: 'one',
  logs: 'one',
  reset: 'one',
  ask: 'one',
  output: 'one',
  events: 'one',
  wait: 'many',
  start: 'many',
  stop: 'many',
  restart: 'many',
};

/**
 * Whether the remote run reads our stdin: attach (its keys), ask with its
 * message on stdin (`-`, or no words). Others get none, so a script's stdin
 * is left to it.
 */
function readsStdin(command: string, words: string[]): boolean {
  return command === 'attach' || (command === 'ask' && (words.length === 0 || (words.length === 1 && words[0] === '-')));
}

/**
 * The command's options as words again, from what was parsed: each option of
 * its definition that was given, in the definition's order, then `--`.
 */
export function optionWords(flags: Flags, def: CommandDef): string[] {
  const words: string[] = [];
  for (const o of def.options ?? []) {
    const v = flags[o.name] as unknown;
    if (v === undefined || v === false) continue;
    if (o.value === undefined) words.push(`--${o.name}`);
    else for (const x of Array.isArray(v) ? v : [v]) words.push(`--${o.name}`, String(x));
  }
  if (flags.verbose) words.push('--verbose');
  return words;
}

/** The exit status for an ssh call that failed as ssh, after saying so on stderr. */
function reportSshFailure(host: HostConfig, r: SshResult, command: string, names: string[]): number {
  const err = sshFailure(sshHost(host), r);
  const before = failedBeforeRunning(r);
  const what = before ? 'nothing was done there' : `the connection broke while it ran; what it did there is unknown (look: mosaic-agent status ${names.join(' ')})`;
  process.stderr.write(`mosaic-agent: ${command} ${names.join(' ')}: ${err.message}; ${what}${err.hint ? ` (${err.hint})` : ''}\n`);
  // An ask whose connection broke may have delivered its message: unconfirmed, as agent-send says it.
  return !before && command === 'ask' ? EXIT.unconfirmed : EXIT.failure;
}

let ending: AbortController | undefined;

/**
 * Aborted when this process is told to end (Ctrl-C, a kill, a hang-up): the
 * ssh clients are ended with it, so their remote commands end too (their
 * stdin ends), instead of living on as orphans that follow or wait for nobody.
 */
function endedHere(): AbortSignal {
  if (!ending) {
    const controller = new AbortController();
    ending = controller;
    for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
      process.once(sig, () => {
        controller.abort();
        process.exitCode = code;
        // The ssh clients close on their own signal; give them a moment, then go.
        setTimeout(() => process.exit(code), 200).unref();
      });
    }
  }
  return ending.signal;
}

/**
 * Run `mosaic-agent COMMAND WORDS...` on one host; its output as it comes (or
 * kept, with captureStdout). A command that reads no stdin is told to end
 * when its stdin does, which is when this connection ends: a Ctrl-C here (or
 * a wait --any won elsewhere) leaves nothing running there.
 */
async function onHost(env: NodeJS.ProcessEnv, fleet: FleetPlacement, host: string, command: string, words: string[], names: string[], opts: { captureStdout?: boolean; signal?: AbortSignal; stdin?: boolean; input?: string } = {}): Promise<{ code: number; stdout: string }> {
  const h = fleet.hosts.get(host)!;
  const reads = opts.stdin === true || opts.input !== undefined;
  const ends = new AbortController();
  for (const signal of [opts.signal, endedHere()]) signal?.addEventListener('abort', () => ends.abort(), { once: true });
  const argv = [...(reads ? [] : ['env', `${END_WITH_STDIN}=1`]), 'mosaic-agent', command, ...words];
  const r = await sshForward(sshHost(h), argv, {
    stdin: opts.input !== undefined ? { input: opts.input } : reads ? 'inherit' : 'hold',
    tty: command === 'attach' && Boolean(process.stdin.isTTY),
    ...(opts.captureStdout ? { captureStdout: true } : {}),
    signal: ends.signal,
    env,
  });
  if (ends.signal.aborted) return { code: EXIT.failure, stdout: '' };
  if (r.sshFailed) return { code: reportSshFailure(h, r, command, names), stdout: '' };
  if (toolkitMissing(r)) {
    process.stderr.write(`mosaic-agent: ${command} ${names.join(' ')}: ${toolkitMissingMessage(host)}\n`);
    return { code: EXIT.failure, stdout: '' };
  }
  return { code: r.code, stdout: r.stdout };
}

/**
 * Run `command` where its agents are, if any of them is another host's;
 * undefined when they are all this host's (the caller runs it as usual).
 * `runHere` runs the command here with the words given.
 */
export async function routeAcrossHosts(ctx: FleetContext, command: string, argv: string[], def: CommandDef | undefined, runHere: (argv: string[]) => Promise<number>): Promise<number | undefined> {
  const route = ROUTES[command];
  if ((!route && command !== 'queue' && command !== 'worktree') || !def) return undefined;
  // This host's share of a command already routed (hereInChild): run here, never routed again.
  if (ctx.env[HERE_ONLY] === '1') return undefined;
  const fleet = fleetPlacement(ctx.env);
  if (!fleet) return undefined;
  // ask's message may hold words that look like options: they end at its name, as ask parses them.
  const flags = parseFlags(argv, { ...flagSpec(def.options), stopEarly: command === 'ask' });
  if (command === 'queue') return queueAcrossHosts(ctx, fleet, flags, runHere);
  if (command === 'worktree') return worktreeAcrossHosts(ctx, fleet, flags, argv);
  if (route === 'one') {
    const name = flags._[0];
    const host = name === undefined ? undefined : fleet.agentHost.get(name);
    if (host === undefined) return undefined;
    // The words as given: the other host parses them as this one would have (ask's message included).
    return (await onHost(ctx.env, fleet, host, command, argv, [name!], { stdin: readsStdin(command, flags._.slice(1)) })).code;
  }
  const all = flags.all === true;
  const names = flags._;
  if (!all && !names.some((n) => fleet.agentHost.has(n))) return undefined;
  const options = optionWords(flags, def);
  // --all: each host's own fleet target; names: each host its own.
  const groups = all ? new Map([[LOCAL_HOST, [] as string[]], ...[...fleet.hosts.keys()].map((h): [string, string[]] => [h, []])]) : byHost(names, fleet.agentHost);
  if (command === 'wait' && flags.any === true && groups.size > 1) return waitAny(ctx, fleet, groups, options);
  // JSON from several hosts is one array: every share's output is kept, this host's too (in a process of its own).
  const json = flags.json === true;
  const runs = [...groups].map(async ([host, agents]) => {
    const words = [...options, '--', ...agents];
    if (host === LOCAL_HOST) return { host, ...(json ? await hereInChild(ctx, command, words, { captureStdout: true }) : { code: await runHere(words), stdout: '' }) };
    return { host, ...(await onHost(ctx.env, fleet, host, command, words, agents.length ? agents : [`--all (${host})`], { captureStdout: json })) };
  });
  const results = await Promise.all(runs);
  if (json) {
    // Each host's JSON array, each row with its host (this host's rows without one, as status gives them).
    const rows: unknown[] = [];
    for (const r of results) {
      if (r.stdout.trim() === '') continue;
      try {
        const parsed = JSON.parse(r.stdout) as unknown;
        rows.push(...(Array.isArray(parsed) ? parsed : [parsed]).map((row) => (row && typeof row === 'object' && r.host !== LOCAL_HOST ? { ...row, host: r.host } : row)));
      } catch {
        process.stdout.write(r.stdout);
      }
    }
    if (rows.length > 0) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
  }
  return worst(results.map((r) => r.code));
}

/**
 * The queue on every host: a listing gathers each host's (their JSON, each
 * message with its host); drop and retry go to the host that holds each id
 * (ids are looked up first: one not found anywhere changes nothing).
 */
async function queueAcrossHosts(ctx: FleetContext, fleet: FleetPlacement, flags: Flags, runHere: (argv: string[]) => Promise<number>): Promise<number | undefined> {
  const [verb, ...rest] = flags._;
  const hosts = [...fleet.hosts.keys()];
  const listings = (names: (host: string) => string[]) =>
    Promise.all(
      hosts.map(async (host) => {
        const r = await onHost(ctx.env, fleet, host, 'queue', ['--json', '--', ...names(host)], [`(${host})`], { captureStdout: true });
        try {
          return { host, code: r.code, messages: r.code === 0 ? (JSON.parse(r.stdout) as QueuedMessage[]) : undefined };
        } catch {
          return { host, code: EXIT.failure, messages: undefined };
        }
      }),
    );
  if (verb === 'drop' || verb === 'retry') {
    const here = rest.filter((id) => findMessage(id, ctx.env) !== undefined);
    if (here.length === rest.length) return undefined;
    const found = await listings(() => []);
    const holder = new Map<string, string>();
    for (const f of found) for (const m of f.messages ?? []) holder.set(m.id, f.host);
    const nowhere = rest.filter((id) => !here.includes(id) && !holder.has(id));
    if (nowhere.length > 0) {
      const silent = found.filter((f) => f.messages === undefined).map((f) => f.host);
      throw new FleetError(
        `no queued message ${nowhere.map((id) => `'${id}'`).join(', ')} on any host${silent.length ? ` that answered (not: ${silent.join(', ')})` : ''}`,
        'the ids are in: mosaic-agent queue (a delivered message is no longer there)',
      );
    }
    const codes: number[] = [];
    if (here.length > 0) codes.push(await runHere([verb, ...here]));
    for (const host of hosts) {
      const ids = rest.filter((id) => holder.get(id) === host);
      if (ids.length > 0) codes.push((await onHost(ctx.env, fleet, host, 'queue', [verb, ...ids], ids)).code);
    }
    return worst(codes);
  }
  const groups = flags._.length > 0 ? byHost(flags._, fleet.agentHost) : undefined;
  if (groups && !flags._.some((n) => fleet.agentHost.has(n))) return undefined;
  const localNames = groups ? (groups.get(LOCAL_HOST) ?? []) : [];
  const mine = !groups || localNames.length > 0 ? allQueued(await requireKnownAgents(localNames, ctx), ctx.env) : [];
  const theirs = await listings((host) => (groups ? (groups.get(host) ?? []) : []));
  const asked = theirs.filter((t) => !groups || groups.has(t.host));
  const messages: Array<QueuedMessage & { host?: string }> = [...mine];
  let code = 0;
  for (const t of asked) {
    if (t.messages) messages.push(...t.messages.map((m) => ({ ...m, host: t.host })));
    else {
      process.stderr.write(`mosaic-agent: queue: host ${t.host} did not list its queue; its messages are not shown\n`);
      if (groups) code = EXIT.failure;
    }
  }
  const { renderQueue } = await import('./queue-commands.js');
  process.stdout.write((flags.json ? JSON.stringify(messages, null, 2) : renderQueue(messages)) + '\n');
  return code;
}

/**
 * Worktrees on every host: `worktree remove NAME` runs on the agent's host;
 * a listing gathers each host's (`--json` there), each row with its host.
 * Each host is given its share of this roster (`--roster -`), as apply gives
 * it: whether a worktree is still wanted is this roster's to say, not the
 * host's own roster's.
 */
async function worktreeAcrossHosts(ctx: FleetContext, fleet: FleetPlacement, flags: Flags, argv: string[]): Promise<number | undefined> {
  if (flags._[0] === 'remove') {
    const name = flags._[1];
    const host = name === undefined ? undefined : fleet.agentHost.get(name);
    if (host === undefined) return undefined;
    return (await onHost(ctx.env, fleet, host, 'worktree', ['--roster', '-', ...argv], [name!], { input: (await rosterShares(ctx.env, fleet))(host) })).code;
  }
  const names = flags._;
  if (names.length > 0 && !names.some((n) => fleet.agentHost.has(n))) return undefined;
  const share = await rosterShares(ctx.env, fleet);
  const groups = names.length > 0 ? byHost(names, fleet.agentHost) : new Map([[LOCAL_HOST, [] as string[]], ...[...fleet.hosts.keys()].map((h): [string, string[]] => [h, []])]);
  const results = await Promise.all(
    [...groups].map(async ([host, agents]) => {
      const words = ['--json', '--', ...agents];
      const r =
        host === LOCAL_HOST
          ? await hereInChild(ctx, 'worktree', words, { captureStdout: true })
          : await onHost(ctx.env, fleet, host, 'worktree', ['--roster', '-', ...words], agents.length ? agents : [`(${host})`], { captureStdout: true, input: share(host) });
      let rows: WorktreeInfo[] = [];
      try {
        if (r.code === 0) rows = (JSON.parse(r.stdout) as WorktreeInfo[]).map((w) => (host === LOCAL_HOST ? w : { ...w, host }));
      } catch {
        process.stdout.write(r.stdout);
      }
      return { code: r.code, rows };
    }),
  );
  const list = results.flatMap((r) => r.rows);
  process.stdout.write((flags.json ? JSON.stringify(list, null, 2) : renderWorktrees(list)) + '\n');
  return worst(results.map((r) => r.code));
}

/** Each host's share of the roster, as apply sends it (the YAML parser is loaded only here). */
async function rosterShares(env: NodeJS.ProcessEnv, fleet: FleetPlacement): Promise<(host: string) => string> {
  const { subRoster } = await import('../fleet/hosts-apply.js');
  const text = readFileSync(rosterFile(env), 'utf8');
  return (host) => subRoster(text, host, new Set([...fleet.agentHost].filter(([, h]) => h === host).map(([n]) => n)));
}

/**
 * This host's share of a command in a process of its own (the same tool and
 * environment), so that it can be ended (wait --any) or its output kept
 * (JSON from several hosts); stderr passes through.
 */
function hereInChild(ctx: FleetContext, command: string, words: string[], opts: { captureStdout?: boolean; signal?: AbortSignal }): Promise<{ code: number; stdout: string }> {
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, command, ...words], { env: { ...ctx.env, [HERE_ONLY]: '1' }, stdio: ['ignore', opts.captureStdout ? 'pipe' : 'inherit', 'inherit'] });
  let stdout = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  opts.signal?.addEventListener('abort', () => child.kill('SIGTERM'), { once: true });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? EXIT.failure, stdout })));
}

/** The exit status of several runs: the first failure's, in the order asked (0 when all succeeded). */
function worst(codes: number[]): number {
  return codes.find((c) => c !== 0) ?? 0;
}

/**
 * wait --any across hosts: every host waits for its own agents at once (this
 * host's share in a process of its own, like the others), and the first that
 * returns 0 ends the wait; the others are ended (a wait only reads).
 */
async function waitAny(ctx: FleetContext, fleet: FleetPlacement, groups: Map<string, string[]>, options: string[]): Promise<number> {
  const controller = new AbortController();
  const runs = [...groups].map(async ([host, agents]): Promise<number> => {
    const words = [...options, '--', ...agents];
    if (host !== LOCAL_HOST) return (await onHost(ctx.env, fleet, host, 'wait', words, agents, { signal: controller.signal })).code;
    return (await hereInChild(ctx, 'wait', words, { signal: controller.signal })).code;
  });
  const codes: number[] = [];
  const first = await new Promise<number>((resolve) => {
    for (const p of runs) {
      void p.then((code) => {
        codes.push(code);
        if (code === 0) resolve(0);
        else if (codes.length === runs.length) resolve(worst(codes));
      });
    }
  });
  controller.abort();
  await Promise.all(runs);
  return first;
}

