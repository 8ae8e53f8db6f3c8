// `mosaic-agent apply` for a roster with hosts (issue #19): this host's agents
// the usual way; each other host gets its share of the roster (its agents,
// without hosts: and host:) on the stdin of its own `mosaic-agent apply
// --roster -`, which writes the env files there (0600), checks the workdirs
// and runtimes there and runs that host's systemctl. An agent the roster now
// places elsewhere is stopped and removed where it was (--prune-also) and
// started where it is: a move. Its conversation stays where it ran.
import { mkdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { isMap, isScalar, parseDocument, type Pair, type YAMLMap } from 'yaml';
import { writeFileAtomic } from '../core/fsutil.js';
import { stateDir } from '../core/paths.js';
import { sshFailure, sshRun } from '../core/ssh.js';
import { applyRoster, type ApplyResult } from './apply.js';
import type { FleetContext } from './context.js';
import { sshHost, type FleetHosts } from './hosts.js';
import { hostOf, LOCAL_HOST } from './roster.js';

type Env = NodeJS.ProcessEnv;

/**
 * The roster for one remote host: its agents only, without `hosts:` and
 * without `host:` (there, they are local); `~` in workdirs stays for that
 * host's home; profiles and defaults as they are.
 */
export function subRoster(text: string, host: string, agentsThere: ReadonlySet<string>): string {
  const doc = parseDocument(text);
  doc.delete('hosts');
  const defaults = doc.get('defaults', true);
  if (isMap(defaults)) (defaults as YAMLMap).delete('host');
  const agents = doc.get('agents', true);
  if (isMap(agents)) {
    const map = agents as YAMLMap;
    map.items = (map.items as Pair[]).filter((p) => agentsThere.has(isScalar(p.key) ? String(p.key.source ?? p.key.value) : String(p.key)));
    for (const p of map.items as Pair[]) if (isMap(p.value)) (p.value as YAMLMap).delete('host');
  }
  void host;
  return doc.toString();
}

/** Where apply last put each agent: agent -> host. */
function placementFile(env: Env): string {
  return join(stateDir(env), 'hosts', 'placement.json');
}

function readPlacement(env: Env): Record<string, string> {
  try {
    return JSON.parse(readFileSync(placementFile(env), 'utf8')) as Record<string, string>;
  } catch {
    return {};
  }
}

export interface ApplyAcrossOptions {
  rosterPath: string;
  dryRun: boolean;
  prune: boolean;
  restartBusy: boolean;
  ctx: FleetContext;
}

/** Apply on every host at once; prints each host's lines under its name; returns the exit code. */
export async function applyAcrossHosts(opts: ApplyAcrossOptions, fleet: FleetHosts, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const { env } = opts.ctx;
  const text = readFileSync(opts.rosterPath, 'utf8');
  const agents = fleet.roster.agents;
  const label = `${hostname()}:${opts.rosterPath}`;
  const notOn = (h: string) => agents.filter((a) => hostOf(a) !== h).map((a) => a.name);
  const before = readPlacement(env);
  const moves = agents.filter((a) => before[a.name] !== undefined && before[a.name] !== hostOf(a));

  const localRun = applyRoster({
    rosterPath: opts.rosterPath,
    dryRun: opts.dryRun,
    prune: opts.prune,
    restartBusy: opts.restartBusy,
    ctx: opts.ctx,
    only: (a) => hostOf(a) === LOCAL_HOST,
    pruneAlso: new Set(notOn(LOCAL_HOST)),
  }).then(
    (r): { r?: ApplyResult; error?: unknown } => ({ r }),
    (error: unknown): { r?: ApplyResult; error?: unknown } => ({ error }),
  );
  const remoteRuns = [...fleet.hosts.values()].map(async (h) => {
    const mine = new Set(agents.filter((a) => hostOf(a) === h.name).map((a) => a.name));
    const others = notOn(h.name);
    const argv = [
      'mosaic-agent', 'apply', '--roster', '-', '--roster-label', label,
      ...(others.length ? ['--prune-also', others.join(',')] : []),
      ...(opts.dryRun ? ['--dry-run'] : []),
      ...(opts.prune ? ['--prune'] : []),
      ...(opts.restartBusy ? ['--restart-busy'] : []),
    ];
    const r = await sshRun(sshHost(h), argv, { input: subRoster(text, h.name, mine), env, timeoutMs: 300_000 });
    return { h, r, count: mine.size };
  });
  const [local, remote] = await Promise.all([localRun, Promise.all(remoteRuns)]);

  let code = 0;
  const section = (name: string) => out(`${name}:\n`);
  section(LOCAL_HOST);
  if (local.error !== undefined) {
    code = 1;
    const e = local.error as Error & { hint?: string };
    err(`mosaic-agent: local: ${e.message}${e.hint ? ` (${e.hint})` : ''}\n`);
  } else {
    const r = local.r!;
    out(r.changed || r.busy.length ? r.lines.map((l) => `  ${l}\n`).join('') : '  nothing to do\n');
    if (r.busy.length) code = 1;
  }
  for (const { h, r } of remote) {
    section(h.name);
    if (r.sshFailed) {
      code = 1;
      const e = sshFailure(sshHost(h), r);
      err(`mosaic-agent: ${h.name}: nothing applied there: ${e.message}${e.hint ? ` (${e.hint})` : ''}\n`);
      continue;
    }
    out(r.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => `  ${l.trim()}\n`).join(''));
    if (r.stderr.trim()) err(r.stderr.trim().split('\n').map((l) => `${h.name}: ${l}\n`).join(''));
    if (r.code !== 0) code = Math.max(code, r.code);
  }
  for (const a of moves) {
    out(`move    ${a.name}: ${before[a.name]} -> ${hostOf(a)}${opts.dryRun ? ' (will be stopped there and started here)' : ''}; its conversation stays on ${before[a.name]} and does not move\n`);
  }
  if (!opts.dryRun) {
    // Every host's share that went through counts; a failed host keeps its old placement.
    const failed = new Set(remote.filter(({ r }) => r.sshFailed || r.code !== 0).map(({ h }) => h.name));
    if (local.error !== undefined) failed.add(LOCAL_HOST);
    const next: Record<string, string> = {};
    for (const a of agents) next[a.name] = failed.has(hostOf(a)) && before[a.name] !== undefined ? before[a.name]! : hostOf(a);
    mkdirSync(dirname(placementFile(env)), { recursive: true });
    writeFileAtomic(placementFile(env), JSON.stringify(next, null, 2) + '\n', 0o600);
  }
  return code;
}
