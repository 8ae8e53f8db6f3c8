// One fleet across several hosts (issue #19). Each host's own toolkit, under
// its own systemd, runs its agents; this module only carries commands to it
// over ssh (lib/core/ssh.ts): a send to a remote agent is that host's own
// send command, reached through the ssh connection's socket forward
// (send-forward.ts) or run as its agent-send with the message on stdin;
// status is that host's own
// `mosaic-agent status --json`, one call per host, all hosts at once.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { FleetError } from '../core/errors.js';
import { rosterFile } from '../core/paths.js';
import { HostError, sshFailure, sshRun, type SshHost, type SshResult } from '../core/ssh.js';
import { hostOf, loadRoster, LOCAL_HOST, type HostConfig, type Roster } from './roster.js';
import type { AgentStatus, FleetStatus } from './fleet-status.js';
import { rosterPlacement } from './known-agents.js';
import type { SocketSendResult } from '../send/send-socket.js';
import { sendOverForward, setUpForward } from './send-forward.js';

type Env = NodeJS.ProcessEnv;

/** Whether a roster's text may define hosts (a cheap look before the YAML parser is loaded). */
export function mentionsHosts(text: string): boolean {
  return /^\s*"?hosts"?\s*:|[{,]\s*"?hosts"?\s*:/m.test(text);
}

/** The roster's hosts and where its remote agents run. */
export interface FleetPlacement {
  hosts: Map<string, HostConfig>;
  /** Remote agents only: agent name -> host name. */
  agentHost: Map<string, string>;
}

/** The same, with the roster they come from (for apply). */
export interface FleetHosts extends FleetPlacement {
  roster: Roster;
}

/**
 * The roster's hosts and remote agents as the cached placement has them (no
 * YAML parse while the roster file is unchanged: a send or a status pays
 * nothing for it); undefined when the roster names no hosts.
 */
export function fleetPlacement(env: Env): FleetPlacement | undefined {
  const p = rosterPlacement(env);
  if (p.hosts.length === 0) return undefined;
  return { hosts: new Map(p.hosts.map((h) => [h.name, h])), agentHost: new Map(Object.entries(p.remote)) };
}

/** The roster's hosts, or undefined when it has none (or is missing or broken: apply and doctor report that). */
export function loadFleetHosts(env: Env, file = rosterFile(env)): FleetHosts | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  if (!mentionsHosts(text)) return undefined;
  let roster: Roster;
  try {
    roster = loadRoster(file, { home: env.HOME || homedir(), checkWorkdirs: false });
  } catch {
    return undefined;
  }
  if (!roster.hosts || roster.hosts.size === 0) return undefined;
  const agentHost = new Map(roster.agents.filter((a) => hostOf(a) !== LOCAL_HOST).map((a) => [a.name, hostOf(a)]));
  return { roster, hosts: roster.hosts, agentHost };
}

/** The ssh gateway's view of a roster host. */
export function sshHost(h: HostConfig): SshHost {
  return { name: h.name, ssh: h.ssh, ...(h.port === undefined ? {} : { port: h.port }) };
}

/** Agents grouped by host, in the order given; names not in `agentHost` are local. */
export function byHost(agents: readonly string[], agentHost: ReadonlyMap<string, string>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const a of agents) {
    const h = agentHost.get(a) ?? LOCAL_HOST;
    out.set(h, [...(out.get(h) ?? []), a]);
  }
  return out;
}

/**
 * Whether an ssh failure happened before the remote command could have done
 * anything (no connection, refused, host key, authentication): then nothing
 * was sent. Any other ssh failure (a connection lost mid-way) leaves it unknown.
 */
export function failedBeforeRunning(r: SshResult): boolean {
  if (r.code === -1 || r.hostKey) return true;
  return /Connection refused|Connection timed out|timed out during banner|No route to host|Network is unreachable|Could not resolve hostname|Name or service not known|Permission denied|Host key verification failed|Too many authentication failures|Connection closed by .* port|kex_exchange_identification/.test(r.stderr);
}

/** The remote shell found no such command (127): the toolkit is not installed there. */
export function toolkitMissing(r: SshResult): boolean {
  return !r.sshFailed && r.code === 127;
}

export function toolkitMissingMessage(host: string): string {
  return `the toolkit is not installed on host ${host}, so nothing was done there (install it: mosaic-agent hosts install ${host})`;
}

// ---------------------------------------------------------------------------
// Sending

/** agent-send's options as given, to pass on to the remote agent-send. */
export interface RemoteSendFlags {
  from?: string;
  submit: boolean;
  force: boolean;
  allowControl: boolean;
  json: boolean;
  quiet: boolean;
  wait: boolean;
  queue: boolean;
  /** --timeout as given (seconds). */
  timeout?: string;
}

/** The remote agent-send's argv: the same options, the names, and `-` (the message comes on stdin). */
export function remoteSendArgv(agents: readonly string[], f: RemoteSendFlags): string[] {
  return [
    'agent-send',
    ...(f.from === undefined ? [] : ['--from', f.from]),
    ...(f.submit ? [] : ['--no-submit']),
    ...(f.force ? ['--force'] : []),
    ...(f.allowControl ? ['--allow-control'] : []),
    ...(f.json ? ['--json'] : []),
    ...(f.quiet ? ['--quiet'] : []),
    ...(f.wait ? ['--wait'] : []),
    ...(f.queue ? ['--queue'] : []),
    ...(f.timeout === undefined ? [] : ['--timeout', f.timeout]),
    agents.join(','),
    '-',
  ];
}

/** What a remote send gave: the remote agent-send's exit code and output, or the ssh failure in its place. */
export interface RemoteSendResult {
  host: string;
  agents: string[];
  code: number;
  stdout: string;
  stderr: string;
  /** How it went: to the host's dispatcher through the ssh connection's socket forward, or to its agent-send as an ssh command. */
  via: 'forward' | 'ssh';
}

/**
 * Deliver `text` to agents on one remote host with that host's own send
 * command (its exactness, lock and checks): through the ssh connection to its
 * dispatcher where it can, else as its agent-send with the message on stdin.
 * Its exit code comes back as it is; when ssh itself fails, 1 if nothing can
 * have been typed, else 3 (unconfirmed: the connection broke after the send
 * started).
 */
export async function sendRemote(host: HostConfig, agents: string[], text: string, flags: RemoteSendFlags, tool: string, env: Env): Promise<RemoteSendResult> {
  // The remote bounds its own wait (--timeout, --wait); ssh is bounded only when nothing waits.
  const timeoutMs = flags.wait || flags.queue ? undefined : (Number(flags.timeout ?? 30) + 30) * 1000;
  const argv = remoteSendArgv(agents, flags);
  // An immediate send, what a caller waits on, goes to the host's dispatcher
  // over the warm connection when it can (lib/fleet/send-forward.ts); a
  // queued one or one that waits for the turn, where a few milliseconds do
  // not matter, runs the host's agent-send.
  let fast: SocketSendResult | undefined;
  if (timeoutMs !== undefined) {
    fast = await sendOverForward(sshHost(host), { tool, argv: argv.slice(1), text }, timeoutMs, env);
    if (fast?.kind === 'answered') return { host: host.name, agents, ...fast.response, via: 'forward' };
    if (fast?.kind === 'unanswered') {
      return { ...brokenSend(host, agents, tool, flags.json, new HostError(host.name, `host ${host.name} (${host.ssh}): the send over its connection got no answer (${fast.why})`), false), via: 'forward' };
    }
  }
  const r = await sshRun(sshHost(host), argv, { input: text, env, ...(timeoutMs === undefined ? { timeoutMs: 2 ** 31 - 1 } : { timeoutMs }) });
  if (toolkitMissing(r)) return { host: host.name, agents, code: 1, stdout: '', stderr: `${tool}: ${agents.join(', ')}: not delivered: ${toolkitMissingMessage(host.name)}\n`, via: 'ssh' };
  if (!r.sshFailed) {
    // No forward yet (the first send since the master connection started): set it up for the next send.
    if (fast?.kind === 'not-sent' && fast.noListener) await setUpForward(sshHost(host), env);
    return { host: host.name, agents, code: r.code, stdout: r.stdout, stderr: r.stderr, via: 'ssh' };
  }
  return brokenSend(host, agents, tool, flags.json, sshFailure(sshHost(host), r), failedBeforeRunning(r));
}

/** A remote send that failed on the way: not delivered when nothing reached the host, else unconfirmed. */
function brokenSend(host: HostConfig, agents: string[], tool: string, json: boolean, err: HostError, before: boolean): RemoteSendResult {
  const word = before ? 'not delivered' : 'unconfirmed';
  const what = before ? 'nothing was sent' : `the connection broke during the send (read the agent before sending again: mosaic-agent read ${agents[0]})`;
  const stderr = agents.map((a) => `${tool}: ${a}: ${word}: ${err.message}; ${what}${err.hint ? ` (${err.hint})` : ''}\n`).join('');
  const stdout = json ? JSON.stringify(agents.map((a) => ({ agent: a, host: host.name, outcome: before ? 'not-delivered' : 'unconfirmed', ok: false, error: err.message })), null, 2) + '\n' : '';
  return { host: host.name, agents, code: before ? 1 : 3, stdout, stderr, via: 'ssh' };
}

// ---------------------------------------------------------------------------
// Status across hosts

export const UNREACHABLE = 'unreachable';

/** One host's answer to status: its status, or why there is none. */
export interface HostStatus {
  host: string;
  ssh: string;
  reachable: boolean;
  error?: string;
  ms: number;
}

/** The status of a fleet on several hosts: each agent carries its host (absent: this one). */
export interface FleetStatusAcrossHosts extends FleetStatus {
  hosts: HostStatus[];
}

function remoteBoundMs(env: Env): number {
  const connect = Number(env.MOSAIC_SSH_CONNECT_TIMEOUT) > 0 ? Number(env.MOSAIC_SSH_CONNECT_TIMEOUT) : 5;
  // The connection, then a status on that host (about a second for a few dozen agents).
  return (connect + 5) * 1000;
}

/** `mosaic-agent status --json` on one host, bounded; never throws. */
export async function remoteStatus(host: HostConfig, only: string[], env: Env): Promise<{ st?: FleetStatus; host: HostStatus }> {
  const started = Date.now();
  const r = await sshRun(sshHost(host), ['mosaic-agent', 'status', '--json', ...only], { env, timeoutMs: remoteBoundMs(env) });
  const ms = Date.now() - started;
  const base = { host: host.name, ssh: host.ssh, ms };
  if (r.sshFailed) {
    const err = sshFailure(sshHost(host), r);
    return { host: { ...base, reachable: false, error: `${err.message}${err.hint ? ` (${err.hint})` : ''}` } };
  }
  if (r.code !== 0) return { host: { ...base, reachable: true, error: `mosaic-agent status there failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-2).join('; ')}` } };
  try {
    return { st: JSON.parse(r.stdout) as FleetStatus, host: { ...base, reachable: true } };
  } catch {
    return { host: { ...base, reachable: true, error: `mosaic-agent status --json there printed no JSON (is the toolkit there installed? mosaic-agent hosts install ${host.name})` } };
  }
}

/** A roster agent of a host that did not answer. */
function unreachableAgent(name: string, host: string): AgentStatus & { host: string } {
  return {
    name,
    host,
    applied: true,
    unit: { active: UNREACHABLE, sub: '', result: '', enabled: '', restarts: 0 },
    session: false,
    runtime: '',
    pid: null,
    uptimeSeconds: null,
    activity: UNREACHABLE as AgentStatus['activity'],
    activitySource: null,
    activitySince: null,
    queued: 0,
  };
}

/**
 * The local status and every remote host's, asked at once; a host that does
 * not answer within the bound shows its roster agents as `unreachable`.
 */
export async function statusAcrossHosts(local: (only: string[]) => Promise<FleetStatus>, fleet: FleetPlacement, only: string[], env: Env): Promise<FleetStatusAcrossHosts> {
  const wanted = only.length > 0 ? byHost(only, fleet.agentHost) : undefined;
  const remote = [...fleet.hosts.values()].filter((h) => !wanted || wanted.has(h.name));
  const localOnly = wanted ? (wanted.get(LOCAL_HOST) ?? []) : [];
  const [mine, ...theirs] = await Promise.all([
    !wanted || localOnly.length > 0 ? local(localOnly) : Promise.resolve(undefined),
    ...remote.map((h) => remoteStatus(h, wanted?.get(h.name) ?? [], env)),
  ]);
  const agents: AgentStatus[] = mine ? [...mine.agents] : [];
  const hosts: HostStatus[] = [];
  theirs.forEach((t, i) => {
    const h = remote[i]!;
    hosts.push(t.host);
    const names = wanted?.get(h.name) ?? [...fleet.agentHost].filter(([, host]) => host === h.name).map(([n]) => n);
    if (t.st) {
      const seen = new Set(t.st.agents.map((a) => a.name));
      agents.push(...t.st.agents.map((a) => ({ ...a, host: h.name })));
      // A roster agent the host does not know yet: apply has not put it there.
      for (const n of names.filter((n) => !seen.has(n))) agents.push({ ...unreachableAgent(n, h.name), applied: false, unit: { active: 'not applied', sub: '', result: '', enabled: '', restarts: 0 }, activity: 'not applied' as AgentStatus['activity'] });
    } else {
      agents.push(...names.map((n) => unreachableAgent(n, h.name)));
    }
  });
  return { holder: mine?.holder ?? { active: '-', sub: '-', server: false, socket: '-' }, agents, hosts };
}

/** Exit 1 naming the host, for a command that needs a host that did not answer. */
export function requireReachable(st: FleetStatusAcrossHosts, names: string[], agentHost: ReadonlyMap<string, string>): void {
  const down = st.hosts.filter((h) => !h.reachable && names.some((n) => agentHost.get(n) === h.host));
  if (down.length > 0) throw new HostError(down[0]!.host, down.map((h) => h.error ?? `host ${h.host} is unreachable`).join('\n'));
}

// ---------------------------------------------------------------------------
// doctor on every host

/** One host's doctor: its own checks as it printed them, or why it could not run them. */
export interface RemoteDoctor {
  host: string;
  ok: boolean;
  text: string;
}

/** `mosaic-agent doctor` on every host at once, each bounded; never throws. */
export async function remoteDoctors(fleet: FleetPlacement, env: Env): Promise<RemoteDoctor[]> {
  return Promise.all(
    [...fleet.hosts.values()].map(async (h): Promise<RemoteDoctor> => {
      const r = await sshRun(sshHost(h), ['mosaic-agent', 'doctor'], { env, timeoutMs: remoteBoundMs(env) + 30_000 });
      if (r.sshFailed) {
        const err = sshFailure(sshHost(h), r);
        return { host: h.name, ok: false, text: `FAIL ssh: ${err.message}${err.hint ? `\n     fix: ${err.hint}` : ''}` };
      }
      if (r.code === 127 || (r.code !== 0 && r.stdout.trim() === '')) {
        return { host: h.name, ok: false, text: `FAIL toolkit: mosaic-agent does not run there: ${r.stderr.trim().split('\n').slice(-1)[0] ?? ''}\n     fix: mosaic-agent hosts install ${h.name}` };
      }
      return { host: h.name, ok: r.code === 0, text: r.stdout.trimEnd() };
    }),
  );
}

// ---------------------------------------------------------------------------
// mosaic-agent hosts

export interface HostReport {
  host: string;
  ssh: string;
  port?: number;
  reachable: boolean;
  version: string | null;
  /** Roster agents placed on it. */
  agents: number;
  /** Agents its own status lists (running or not), when it answered. */
  running: number | null;
  error?: string;
  ms: number;
}

/** Each host: reachability, installed version, agent count; all at once. */
export async function hostsReport(fleet: FleetPlacement, env: Env): Promise<HostReport[]> {
  return Promise.all(
    [...fleet.hosts.values()].map(async (h): Promise<HostReport> => {
      const started = Date.now();
      const agents = [...fleet.agentHost.values()].filter((x) => x === h.name).length;
      const base = { host: h.name, ssh: h.ssh, ...(h.port === undefined ? {} : { port: h.port }), agents };
      const v = await sshRun(sshHost(h), ['mosaic-agent', '--version'], { env, timeoutMs: remoteBoundMs(env) });
      if (v.sshFailed) {
        const err = sshFailure(sshHost(h), v);
        return { ...base, reachable: false, version: null, running: null, error: `${err.message}${err.hint ? ` (${err.hint})` : ''}`, ms: Date.now() - started };
      }
      if (v.code !== 0) {
        return { ...base, reachable: true, version: null, running: null, error: `the toolkit is not installed there (mosaic-agent hosts install ${h.name})`, ms: Date.now() - started };
      }
      const st = await remoteStatus(h, [], env);
      return { ...base, reachable: true, version: v.stdout.trim(), running: st.st ? st.st.agents.filter((a) => a.session).length : null, ...(st.host.error ? { error: st.host.error } : {}), ms: Date.now() - started };
    }),
  );
}

/** `mosaic-agent hosts` as a table. */
export function renderHosts(rows: HostReport[]): string {
  const table = [['HOST', 'SSH', 'REACHABLE', 'VERSION', 'AGENTS', 'RUNNING', 'NOTE']];
  table.push(['local', '-', 'yes', '-', '-', '-', 'this host']);
  for (const r of rows) {
    table.push([r.host, `${r.ssh}${r.port === undefined ? '' : `:${r.port}`}`, r.reachable ? 'yes' : 'no', r.version ?? '-', String(r.agents), r.running === null ? '-' : String(r.running), r.error ?? '']);
  }
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  return table.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

/** The roster's hosts, or a FleetError saying how to add some. */
export function requireFleetHosts(env: Env): FleetPlacement {
  const fleet = fleetPlacement(env);
  if (!fleet) throw new FleetError(`the roster ${rosterFile(env)} has no hosts`, 'add hosts: { NAME: { ssh: user@box } } to it and host: NAME to the agents that run there');
  return fleet;
}
