// The MCP tools for agents of other hosts (issue #19): an orchestrator agent
// reaches every agent of the roster, wherever it runs. Each call for another
// host's agent is that host's own command (agent-send, mosaic-agent ask,
// wait, output, read, start, stop, restart), as `across-hosts` runs them for a
// person, with --json where there is one, and its answer shaped as the
// tool's answer for an agent here. The caller's rules (can_message,
// can_control) and the sender are checked and set here, as for any target.
import { FleetError } from '../core/errors.js';
import { sshFailure, sshRun } from '../core/ssh.js';
import { failedBeforeRunning, fleetPlacement, sendRemote, sshHost, toolkitMissing, toolkitMissingMessage, type RemoteSendFlags } from '../fleet/hosts.js';
import type { HostConfig } from '../fleet/roster.js';

type Env = NodeJS.ProcessEnv;

/** The host of an agent the roster places on another host; undefined for this host's. */
export function hostOfAgent(name: string, env: Env): HostConfig | undefined {
  const fleet = fleetPlacement(env);
  const host = fleet?.agentHost.get(name);
  return host === undefined ? undefined : fleet!.hosts.get(host);
}

/** What the far command said on stderr, one line, without the tool's prefix the model does not need. */
function words(stderr: string): string {
  return stderr
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.replace(/^(mosaic-agent|agent-send)(: [a-z]+)?: /, ''))
    .join('; ');
}

/**
 * `mosaic-agent ARGV` on `host`, its stdout; a failure there is an error with
 * its words, and one of ssh names the host and says whether anything was done.
 */
export async function onHost(host: HostConfig, argv: string[], env: Env, opts: { input?: string; timeoutMs: number; agent: string }): Promise<string> {
  const r = await sshRun(sshHost(host), ['mosaic-agent', ...argv], { env, timeoutMs: opts.timeoutMs, ...(opts.input === undefined ? {} : { input: opts.input }) });
  if (r.sshFailed) {
    const err = sshFailure(sshHost(host), r);
    if (failedBeforeRunning(r)) throw new FleetError(`${err.message}; nothing was done there`, err.hint);
    throw new FleetError(`${err.message}; the connection broke while it ran there, so what it did is unknown`, `read_screen ${opts.agent} before trying again`);
  }
  if (toolkitMissing(r)) throw new FleetError(toolkitMissingMessage(host.name));
  if (r.code !== 0) throw new FleetError(`on host ${host.name}: ${words(r.stderr) || `mosaic-agent ${argv[0]} exited with ${r.code}`}`);
  return r.stdout;
}

/** One row of agent-send --json as it came back (its fields, the turn with --wait). */
export interface RemoteRow {
  outcome?: string;
  bytes?: number;
  id?: string;
  turn?: { ended: boolean; via?: string; ms?: number; reply?: string; error?: string };
}

/**
 * agent-send on `host` for one agent with --json: its row; a send that was
 * not delivered, unconfirmed or whose wait failed is an error with its words
 * (unconfirmed: never to be sent again blindly).
 */
export async function sendOnHost(host: HostConfig, agent: string, text: string, flags: Omit<RemoteSendFlags, 'json' | 'quiet' | 'submit' | 'force' | 'allowControl'>, env: Env): Promise<RemoteRow> {
  const r = await sendRemote(host, [agent], text, { ...flags, submit: true, force: false, allowControl: false, json: true, quiet: false }, 'agent-send', env);
  let row: RemoteRow | undefined;
  try {
    row = (JSON.parse(r.stdout) as RemoteRow[])[0];
  } catch {
    row = undefined;
  }
  if (r.code === 0 && row) return row;
  const said = words(r.stderr) || `agent-send exited with ${r.code}`;
  if (row?.outcome === 'delivered') throw new FleetError(`delivered on host ${host.name}, but: ${said}`);
  if (r.code === 3) throw new FleetError(`unconfirmed on host ${host.name}: ${said}`, `do not send it again blindly: read_screen ${agent} first (it may have it)`);
  throw new FleetError(`${flags.queue ? 'not queued' : 'not-delivered'} on host ${host.name}: ${said}`);
}
