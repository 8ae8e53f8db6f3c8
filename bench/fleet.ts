// Benchmark for the fleet as a whole (issue #7), on a real user manager for a
// throwaway user: cold start, recovery, status, broadcast, memory and
// throughput. Figures are medians measured within one run (ratios where the
// goal is a ratio), printed, never asserted: this machine is shared and noisy.
//
// Also the helpers bench/status.ts uses (a fleet of N shell agents, "ready",
// timing installed tools as the user): it imports this module, whose main()
// runs only when it is the entry point.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setUpE2E, type E2E } from '../tests/e2e/setup.js';
import { interleavedMedians, median, table } from './lib.js';

export { interleavedMedians };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** BENCH_RUNS (default `dflt`), scaled for sections that are slower per run. */
export function runs(dflt: number, scale = 1, min = 2, max = Infinity): number {
  const base = Number(process.env.BENCH_RUNS ?? dflt);
  return Math.max(min, Math.min(max, Math.round(base * scale)));
}

export const fmtMs = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
export const fmtX = (x: number, digits = 2) => `${x.toFixed(digits)}x`;

// ---------------------------------------------------------------------------
// the fleet of the throwaway user

export const shellNames = (n: number) => Array.from({ length: n }, (_, i) => `s${i + 1}`);
const bin = (e: E2E, tool: string) => join(e.um.home, '.local', 'bin', tool);
const rosterPath = (e: E2E) => join(e.um.home, '.config', 'mosaic', 'fleet', 'roster.yaml');

/** Set up the user and install the fleet (no agent yet). Call e.close() in a finally. */
export async function setUpFleet(prefix: string): Promise<E2E> {
  const e = await setUpE2E(prefix);
  try {
    const r = await e.install('--no-demo');
    if (r.code !== 0) throw new Error(`install.sh failed: ${r.stderr}`);
  } catch (err) {
    await e.close();
    throw err;
  }
  return e;
}

/** Make the roster exactly `agents` (YAML lines after `agents:`), apply it with --prune. */
export async function applyRoster(e: E2E, agentLines: string[]): Promise<void> {
  await e.write(rosterPath(e), `agents:\n${agentLines.map((l) => `  ${l}\n`).join('')}`);
  const r = await e.tool('mosaic-agent', 'apply', '--prune');
  if (r.code !== 0) throw new Error(`mosaic-agent apply failed: ${r.stderr}`);
}

/** Exactly the shell agents s1..sN, all ready. */
export async function shellFleet(e: E2E, n: number, extra = ''): Promise<string[]> {
  const names = shellNames(n);
  await applyRoster(e, names.map((s) => `${s}: { runtime: shell${extra} }`));
  await waitReady(e, names, { timeoutMs: 180_000 });
  return names;
}

// ---------------------------------------------------------------------------
// "ready": unit active, session present, pane alive, shell prompt visible

export interface Pane {
  session: string;
  paneId: string;
  pid: number;
  dead: boolean;
  cursorX: number;
}

/** Every pane of the fleet's server, in one tmux call (undefined: no server). tmux prints a tab as '_', hence '|'. */
export async function listPanes(e: E2E): Promise<Pane[] | undefined> {
  const r = await e.tmux('list-panes', '-a', '-F', '#{session_name}|#{pane_id}|#{pane_pid}|#{pane_dead}|#{cursor_x}');
  if (r.code !== 0) return undefined;
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [session, paneId, pid, dead, x] = l.split('|');
      return { session: session!, paneId: paneId!, pid: Number(pid), dead: dead === '1', cursorX: Number(x) };
    });
}

/** ActiveState of every unit, in one systemctl call. */
export async function activeStates(e: E2E, units: string[]): Promise<Map<string, string>> {
  const r = await e.um.systemctl('show', '-p', 'Id', '-p', 'ActiveState', ...units);
  const m = new Map<string, string>();
  for (const block of r.stdout.split('\n\n')) {
    const id = block.match(/^Id=(.*)$/m)?.[1];
    const st = block.match(/^ActiveState=(.*)$/m)?.[1];
    if (id && st) m.set(id, st);
  }
  return m;
}

/** Do all these panes show a shell prompt on their last non-empty line? One tmux call (commands chained with ';'). */
async function promptsVisible(e: E2E, panes: Pane[]): Promise<boolean> {
  const args: string[] = [];
  // A marker line before each screen (no '%' in it: display-message runs strftime over its text).
  for (const [i, p] of panes.entries()) args.push('display-message', '-p', '-t', p.paneId, `@@${i}`, ';', 'capture-pane', '-p', '-t', p.paneId, ';');
  const r = await e.tmux(...args.slice(0, -1));
  if (r.code !== 0) return false;
  const screens = r.stdout.split(/^@@\d+\n/m).slice(1);
  if (screens.length !== panes.length) return false;
  return screens.every((s) => /[$#]$/.test(s.trimEnd().split('\n').at(-1) ?? ''));
}

export interface ReadyTimes {
  /** from t0 until every agent was ready */
  ms: number;
  /** from t0 until the first / every agent session had a live pane */
  firstSessionMs: number;
  allSessionsMs: number;
  polls: number;
  calls: number;
}

/**
 * Poll (every ~50 ms) until every agent in `names` is ready: its session has a
 * live pane (whose pid is not in `notPids`), its unit is active and the pane
 * shows a shell prompt. One tmux call per poll until all panes are up; then
 * also one systemctl and one (chained) tmux capture call.
 */
export async function waitReady(e: E2E, names: string[], opts: { t0?: number; notPids?: Set<number>; timeoutMs?: number } = {}): Promise<ReadyTimes> {
  const t0 = opts.t0 ?? performance.now();
  const deadline = t0 + (opts.timeoutMs ?? 60_000);
  const want = new Set(names);
  const units = names.map((n) => `mosaic-agent@${n}.service`);
  let polls = 0;
  let calls = 0;
  let firstSessionMs = NaN;
  let allSessionsMs = NaN;
  for (;;) {
    polls++;
    calls++;
    const panes = await listPanes(e);
    const now = performance.now() - t0;
    const up = (panes ?? []).filter((p) => want.has(p.session) && !p.dead && !opts.notPids?.has(p.pid));
    if (up.length > 0 && Number.isNaN(firstSessionMs)) firstSessionMs = now;
    if (up.length === want.size) {
      if (Number.isNaN(allSessionsMs)) allSessionsMs = now;
      if (up.every((p) => p.cursorX > 0)) {
        calls++;
        const states = await activeStates(e, units);
        if (units.every((u) => states.get(u) === 'active')) {
          calls++;
          if (await promptsVisible(e, up)) return { ms: performance.now() - t0, firstSessionMs, allSessionsMs, polls, calls };
        }
      }
    }
    if (performance.now() > deadline) throw new Error(`agents not ready after ${(deadline - t0).toFixed(0)} ms (${up.length}/${want.size} sessions up)`);
    await sleep(50);
  }
}

// ---------------------------------------------------------------------------
// timing commands as the user

/** Wall time (ms) of running argv as the user; throws if it fails or `check` rejects the output. */
export async function timeAsUser(e: E2E, argv: string[], check?: (stdout: string) => boolean): Promise<number> {
  const t = performance.now();
  const r = await e.um.run(argv, { timeoutMs: 120_000 });
  const ms = performance.now() - t;
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed (${r.code}): ${r.stderr}`);
  if (check && !check(r.stdout)) throw new Error(`${argv.join(' ')}: unexpected output ${r.stdout.slice(0, 300)}`);
  return ms;
}

/** `mosaic-agent status --json` with `n` agents running: median ms, and of `node -e 0` taken in turn with it. */
export async function timeStatus(e: E2E, n: number, nRuns: number): Promise<{ status: number; node: number }> {
  const check = (out: string) => {
    const st = JSON.parse(out) as { agents: Array<{ unit: { active: string } }> };
    return st.agents.length === n && st.agents.every((a) => a.unit.active === 'active');
  };
  const [status, node] = await interleavedMedians(nRuns, [
    () => timeAsUser(e, [bin(e, 'mosaic-agent'), 'status', '--json'], check),
    () => timeAsUser(e, ['node', '-e', '0']),
  ]);
  return { status: status!, node: node! };
}

export const agentBin = bin;

// ---------------------------------------------------------------------------
// memory

function procField(pid: number, file: string, field: string): number {
  try {
    const m = readFileSync(`/proc/${pid}/${file}`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0; // gone meanwhile
  }
}

/** Pids in a unit's cgroup (whichever hierarchy has it: v1 named systemd, hybrid unified, or pure v2). */
function cgroupPids(cg: string): number[] {
  for (const root of ['/sys/fs/cgroup/unified', '/sys/fs/cgroup/systemd', '/sys/fs/cgroup']) {
    const f = join(root, cg, 'cgroup.procs');
    if (existsSync(f)) return readFileSync(f, 'utf8').split('\n').filter(Boolean).map(Number);
  }
  throw new Error(`no cgroup.procs for ${cg}`);
}

export interface Memory {
  /** RSS (KiB) of each agent unit's own processes (its cgroup) */
  unitRss: number[];
  unitPss: number[];
  unitProcs: number[];
  /** RSS (KiB) of the tmux server (the holder's main process) */
  serverRss: number;
  /** RSS / PSS (KiB) of everything in the holder's cgroup: the server, the agents themselves, their transcript writers */
  holderCgroupRss: number;
  holderCgroupPss: number;
}

export async function measureMemory(e: E2E, names: string[]): Promise<Memory> {
  const units = [...names.map((n) => `mosaic-agent@${n}.service`), 'mosaic-tmux-holder.service'];
  const r = await e.um.systemctl('show', '-p', 'Id', '-p', 'ControlGroup', '-p', 'MainPID', ...units);
  const cg = new Map<string, { cg: string; main: number }>();
  for (const block of r.stdout.split('\n\n')) {
    const id = block.match(/^Id=(.*)$/m)?.[1];
    if (id) cg.set(id, { cg: block.match(/^ControlGroup=(.*)$/m)?.[1] ?? '', main: Number(block.match(/^MainPID=(.*)$/m)?.[1]) });
  }
  const sum = (pids: number[], file: string, field: string) => pids.reduce((a, p) => a + procField(p, file, field), 0);
  const unitPids = names.map((n) => cgroupPids(cg.get(`mosaic-agent@${n}.service`)!.cg));
  const holder = cg.get('mosaic-tmux-holder.service')!;
  const holderPids = cgroupPids(holder.cg);
  return {
    unitRss: unitPids.map((p) => sum(p, 'status', 'VmRSS')),
    unitPss: unitPids.map((p) => sum(p, 'smaps_rollup', 'Pss')),
    unitProcs: unitPids.map((p) => p.length),
    serverRss: procField(holder.main, 'status', 'VmRSS'),
    holderCgroupRss: sum(holderPids, 'status', 'VmRSS'),
    holderCgroupPss: sum(holderPids, 'smaps_rollup', 'Pss'),
  };
}

const mb = (kib: number) => `${(kib / 1024).toFixed(1)} MB`;

// ---------------------------------------------------------------------------
// the sections

/** Stop the target and the holder (everything down), then time `systemctl --user start mosaic-fleet.target` until every agent is ready. */
async function coldStart(e: E2E, names: string[]): Promise<ReadyTimes & { startCmdMs: number }> {
  const stop = await e.um.systemctl('stop', 'mosaic-fleet.target', 'mosaic-tmux-holder.service');
  if (stop.code !== 0) throw new Error(`stop failed: ${stop.stderr}`);
  if ((await e.tmux('list-sessions')).code === 0) throw new Error('the tmux server outlived the holder');
  // Repeated cold starts would hit the units' start limit (5 a minute): clear it, outside the timing.
  await e.um.systemctl('reset-failed');
  await sleep(500);
  const t0 = performance.now();
  let startCmdMs = NaN;
  const start = e.um.systemctl('start', 'mosaic-fleet.target').then((r) => {
    startCmdMs = performance.now() - t0;
    return r;
  });
  const times = await waitReady(e, names, { t0, timeoutMs: 120_000 });
  const r = await start;
  if (r.code !== 0) throw new Error(`start failed: ${r.stderr}`);
  return { ...times, startCmdMs };
}

/** kill -9 of the agent's pane process until it is ready again (new pid). */
async function recoverPane(e: E2E, name: string): Promise<number> {
  const pane = (await listPanes(e))!.find((p) => p.session === name)!;
  await e.um.systemctl('reset-failed');
  const t0 = performance.now();
  process.kill(pane.pid, 'SIGKILL');
  return (await waitReady(e, [name], { t0, notPids: new Set([pane.pid]), timeoutMs: 60_000 })).ms;
}

/** kill -9 of the tmux server until every agent is ready again. */
async function recoverServer(e: E2E, names: string[]): Promise<ReadyTimes> {
  const old = new Set((await listPanes(e))!.map((p) => p.pid));
  const server = Number(await e.show('mosaic-tmux-holder.service', 'MainPID'));
  await e.um.systemctl('reset-failed');
  const t0 = performance.now();
  process.kill(server, 'SIGKILL');
  return waitReady(e, names, { t0, notPids: old, timeoutMs: 120_000 });
}

const SENDERS = 20;
const EACH = 5;

interface Throughput {
  sent: number;
  whole: number;
  extra: string[];
  /** the raw content of the user message each unexpected text came in */
  raw: string[];
  failures: string[];
  latencies: number[];
  allArrivedMs: number;
  /** every message reached the mock (else allArrivedMs is only when the wait gave up) */
  complete: boolean;
  rate: number;
}

/** SENDERS concurrent agent-send loops of EACH messages to p1, until the mock has them all; checks each arrived whole, once. */
async function throughput(e: E2E, run: number): Promise<Throughput> {
  const before = e.mock.userMessages().length;
  const reqsBefore = e.mock.requests.length;
  const sent: string[] = [];
  const latencies: number[] = [];
  const failures: string[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: SENDERS }, async (_, s) => {
      for (let m = 0; m < EACH; m++) {
        const text = `run ${run} sender ${s} message ${m}: the quick brown fox jumps over the lazy dog`;
        sent.push(text);
        const ts = performance.now();
        // --timeout: the last of 100 queued sends may wait long for the agent's lock; its wait is reported, not cut off.
        const r = await e.um.run([bin(e, 'agent-send'), '-q', '--timeout', '120', 'p1', text], { timeoutMs: 180_000 });
        latencies.push(performance.now() - ts);
        if (r.code !== 0) failures.push(`${text}: ${r.stderr.trim()}`);
      }
    }),
  );
  let complete = true;
  try {
    // Every send returned only once pi took its message: the rest is pi's turn against the mock.
    await e.mock.waitForMessages(before + sent.length, 15_000);
  } catch {
    complete = false;
  }
  const allArrivedMs = performance.now() - t0;
  const got = e.mock.userMessages().slice(before);
  const extra = got.filter((g) => !sent.includes(g));
  // How pi sent each unexpected text: one string typed as one message, or several content parts the mock joined.
  const raw = extra.map((x) => {
    const req = e.mock.requests.slice(reqsBefore).find((r) => r.newUserTexts.includes(x));
    const users = (req?.body?.messages ?? []).filter((m: { role?: string }) => m.role === 'user');
    return JSON.stringify(users.at(-1)?.content ?? null).slice(0, 400);
  });
  return {
    sent: sent.length,
    whole: sent.filter((s) => got.filter((g) => g === s).length === 1).length,
    extra,
    raw,
    failures,
    latencies,
    allArrivedMs,
    complete,
    rate: (sent.length / allArrivedMs) * 1000,
  };
}

async function main(): Promise<void> {
  const tStart = performance.now();
  const R = {
    status: runs(15),
    cold: runs(15, 1 / 2),
    pane: runs(15, 2 / 3, 2, 10), // one kill per agent of the 10: StartLimitBurst is 5 a minute
    server: runs(15, 1 / 3),
    send: runs(15),
    tput: runs(15, 1 / 5, 1),
  };
  const summary: Array<[string, string, string, string]> = [];
  const goal = (figure: string, measured: string, g: string, met: boolean | undefined) => summary.push([figure, measured, g, met === undefined ? '-' : met ? 'yes' : 'NO']);

  const e = await setUpFleet('mfbf');
  try {
    console.log(`fleet benchmark: ${R.cold} cold starts per size, ${R.pane} pane kills, ${R.server} server kills, ${R.status} status and ${R.send} send runs, ${R.tput} throughput runs (medians)\n`);
    const cold = new Map<number, ReadyTimes & { startCmdMs: number }>();
    const coldAll = new Map<number, number[]>();
    const mem = new Map<number, Memory>();
    const status = new Map<number, { status: number; node: number }>();
    let pane: number[] = [];
    let server: ReadyTimes[] = [];
    let broadcast: number[] = [];

    for (const n of [1, 10, 30]) {
      const names = await shellFleet(e, n);
      const times: Array<ReadyTimes & { startCmdMs: number }> = [];
      for (let i = 0; i < R.cold; i++) times.push(await coldStart(e, names));
      coldAll.set(n, times.map((t) => t.ms));
      const pick = (k: keyof ReadyTimes | 'startCmdMs') => median(times.map((t) => t[k]));
      cold.set(n, { ms: pick('ms'), firstSessionMs: pick('firstSessionMs'), allSessionsMs: pick('allSessionsMs'), polls: pick('polls'), calls: pick('calls'), startCmdMs: pick('startCmdMs') });
      await sleep(1000);
      mem.set(n, await measureMemory(e, names));
      if (n === 1 || n === 10) status.set(n, await timeStatus(e, n, R.status));
      if (n === 10) {
        for (let i = 0; i < R.pane; i++) pane.push(await recoverPane(e, names[i % names.length]!));
        for (let i = 0; i < R.server; i++) {
          server.push(await recoverServer(e, names));
          await sleep(500);
        }
        const [one, all] = await interleavedMedians(R.send, [
          () => timeAsUser(e, [bin(e, 'agent-send'), '-q', 's1', 'true']),
          () => timeAsUser(e, [bin(e, 'agent-send'), '-q', names.join(','), 'true']),
        ]);
        broadcast = [one!, all!];
      }
    }
    await shellFleet(e, 50);
    status.set(50, await timeStatus(e, 50, R.status));

    // Throughput: one pi agent, 20 concurrent senders x 5 messages each.
    await applyRoster(e, ['p1: { runtime: pi, env: { PI_OFFLINE: "1" } }']);
    const t = performance.now();
    while (!(await e.piReady('p1'))) {
      if (performance.now() - t > 60_000) throw new Error('pi not ready');
      await sleep(200);
    }
    const tputs: Throughput[] = [];
    for (let i = 0; i < R.tput; i++) tputs.push(await throughput(e, i));

    // ---- report
    const c1 = cold.get(1)!.ms;
    console.log('cold start: systemctl --user start mosaic-fleet.target until every agent is ready (median)\n');
    console.log(
      table([
        ['agents', 'all ready', 'x T(1)', 'first session', 'all sessions', 'start cmd returned', 'polls', 'tool calls', 'runs (ms)'],
        ...[1, 10, 30].map((n) => {
          const c = cold.get(n)!;
          return [String(n), fmtMs(c.ms), fmtX(c.ms / c1), fmtMs(c.firstSessionMs), fmtMs(c.allSessionsMs), fmtMs(c.startCmdMs), c.polls.toFixed(0), c.calls.toFixed(0), coldAll.get(n)!.map((x) => x.toFixed(0)).join(' ')];
        }),
      ]),
    );
    const c30 = cold.get(30)!.ms / c1;
    goal('cold start T(30) / T(1)', `${fmtX(c30, 3)} (${fmtMs(cold.get(30)!.ms)} / ${fmtMs(c1)})`, '<= 4x', c30 <= 4);

    const paneMed = median(pane);
    const serverMed = median(server.map((s) => s.ms));
    console.log('\nrecovery with 10 agents (median)\n');
    console.log(
      table([
        ['fault', 'back ready', 'runs (ms)', 'goal'],
        ['kill -9 of one agent pane process', fmtMs(paneMed), pane.map((x) => x.toFixed(0)).join(' '), '<= 3 s'],
        ['kill -9 of the tmux server (10 agents)', fmtMs(serverMed), server.map((x) => x.ms.toFixed(0)).join(' '), '<= 10 s'],
        ['  of which: first agent session back', fmtMs(median(server.map((s) => s.firstSessionMs))), '', ''],
      ]),
    );
    goal('recovery: kill -9 of one agent', fmtMs(paneMed), '<= 3 s', paneMed <= 3000);
    goal('recovery: kill -9 of the tmux server, 10 agents', fmtMs(serverMed), '<= 10 s', serverMed <= 10_000);

    const s1 = status.get(1)!.status;
    console.log('\nmosaic-agent status --json (median; node -e 0 taken in turn with it)\n');
    console.log(
      table([
        ['agents', 'status', 'x T(1)', 'node -e 0', 'status / node'],
        ...[1, 10, 50].map((n) => {
          const s = status.get(n)!;
          return [String(n), fmtMs(s.status), fmtX(s.status / s1), fmtMs(s.node), fmtX(s.status / s.node)];
        }),
      ]),
    );
    const st50 = status.get(50)!.status / s1;
    goal('status T(50) / T(1)', fmtX(st50, 3), '<= 1.3x', st50 <= 1.3);

    console.log('\nbroadcast: agent-send to shell agents (median)\n');
    console.log(
      table([
        ['send', 'ms', 'x one'],
        ["agent-send s1 'true'", fmtMs(broadcast[0]!), '1.00x'],
        ["agent-send s1,...,s10 'true'", fmtMs(broadcast[1]!), fmtX(broadcast[1]! / broadcast[0]!)],
      ]),
    );
    goal('broadcast to 10 / send to 1', fmtX(broadcast[1]! / broadcast[0]!, 3), '-', undefined);

    console.log('\nmemory (RSS; PSS counts shared pages once)\n');
    console.log(
      table([
        ['agents', 'per agent unit: procs', 'RSS median', 'RSS max', 'PSS median', 'tmux server RSS', 'server RSS / agent', 'holder cgroup RSS / agent', 'holder cgroup PSS / agent'],
        ...[1, 10, 30].map((n) => {
          const m = mem.get(n)!;
          return [String(n), median(m.unitProcs).toFixed(0), mb(median(m.unitRss)), mb(Math.max(...m.unitRss)), mb(median(m.unitPss)), mb(m.serverRss), mb(m.serverRss / n), mb(m.holderCgroupRss / n), mb(m.holderCgroupPss / n)];
        }),
      ]),
    );
    console.log('(the agent unit holds only its waiter; the agent itself, its transcript writer and the tmux server live in the holder\'s cgroup)');
    const maxUnit = Math.max(...[1, 10, 30].flatMap((n) => mem.get(n)!.unitRss));
    goal('RSS per agent unit (max, any size)', mb(maxUnit), '<= 10 MB', maxUnit <= 10 * 1024);
    goal('tmux server RSS / agent at 30', mb(mem.get(30)!.serverRss / 30), '-', undefined);

    const done = tputs.filter((x) => x.complete);
    const rate = done.length ? median(done.map((x) => x.rate)) : NaN;
    const sent = tputs.reduce((a, x) => a + x.sent, 0);
    const lat = tputs.flatMap((x) => x.latencies);
    const failures = tputs.flatMap((x) => x.failures);
    const extra = tputs.flatMap((x) => x.extra);
    const whole = tputs.reduce((a, x) => a + x.whole, 0);
    console.log(`\nthroughput: ${SENDERS} concurrent senders x ${EACH} messages to one pi agent (${R.tput} run${R.tput > 1 ? 's' : ''})\n`);
    console.log(
      table([
        ['measure', 'value'],
        ['messages sent / failed sends (all runs)', `${sent} / ${failures.length}`],
        ['arrived whole, exactly once (mock)', `${whole} / ${sent}${extra.length ? ` (+${extra.length} other texts)` : ''}`],
        ['all messages at the mock after (per run)', tputs.map((x) => (x.complete ? fmtMs(x.allArrivedMs) : 'incomplete')).join(', ')],
        ['throughput (median of complete runs)', `${rate.toFixed(1)} messages/s`],
        ['one send incl. lock wait: median / max', `${fmtMs(median(lat))} / ${fmtMs(Math.max(...lat))}`],
      ]),
    );
    for (const f of failures.slice(0, 3)) console.log(`  failed: ${f}`);
    for (const x of tputs.flatMap((r) => r.raw).slice(0, 3)) console.log(`  unexpected user message at the mock (raw content): ${x}`);
    goal('throughput to one pi agent', `${rate.toFixed(1)} msg/s`, 'all arrive whole', whole === sent && failures.length === 0 && extra.length === 0);

    console.log('\nsummary\n');
    console.log(table([['figure', 'measured', 'goal', 'met?'], ...summary]));
    console.log(`\n(wall time of this benchmark: ${fmtMs(performance.now() - tStart)})`);
  } finally {
    await e.close();
  }
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(realpathSync(entry)).href) await main();
