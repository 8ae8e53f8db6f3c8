// Scale and idle cost at 100 agents (issue #12), on a real user manager for a
// throwaway user with 100 shell agents: status T(100) / T(1), a broadcast to
// 100 / a send to one, all 100 back after a kill -9 of the tmux server, what
// supervising one agent costs in memory, and what an idle fleet costs in CPU.
// Figures are medians or totals measured within this one run, printed, never
// asserted: this machine is shared and noisy.
import { readdirSync, readFileSync } from 'node:fs';
import { agentBin, interleavedMedians, listPanes, measureMemory, runs, setUpFleet, shellFleet, timeAsUser, timeStatus, waitReady, fmtMs, fmtX } from './fleet.js';
import { median, table } from './lib.js';
import type { E2E } from '../tests/e2e/setup.js';

const N = Number(process.env.BENCH_AGENTS ?? 100);
const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 60);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Pids of a uid's processes, with their command lines. */
function processesOf(uid: number): Array<{ pid: number; cmd: string }> {
  return readdirSync('/proc').flatMap((d) => {
    if (!/^\d+$/.test(d)) return [];
    try {
      const status = readFileSync(`/proc/${d}/status`, 'utf8');
      if (Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]) !== uid) return [];
      return [{ pid: Number(d), cmd: readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ').trim() }];
    } catch {
      return [];
    }
  });
}

/** CPU time (ns) a process has used, exactly (schedstat), 0 when it is gone. */
function cpuNs(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return 0;
  }
}

function kib(pid: number, file: string, field: string): number {
  try {
    return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/${file}`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

type Kind = 'waiter' | 'transcript writer' | 'tmux server' | 'dispatcher' | 'agent (bash)' | 'user manager' | 'other';

function kindOf(cmd: string): Kind {
  if (/^agent-waiter \d+|agent-waiter\.sh/.test(cmd)) return 'waiter';
  if (/agent-logger\.sh|^head -c|^stdbuf/.test(cmd)) return 'transcript writer';
  if (/^tmux /.test(cmd)) return 'tmux server';
  if (/mosaic-dispatcher/.test(cmd)) return 'dispatcher';
  if (/systemd --user/.test(cmd)) return 'user manager';
  if (/^(-|\/\S*\/)?bash( -l)?$/.test(cmd)) return 'agent (bash)';
  return 'other';
}

/** CPU used by each kind of the user's processes over `seconds` of an idle fleet, as a share of one core. */
async function idleCpu(e: E2E, seconds: number): Promise<Map<Kind, { procs: number; share: number }>> {
  const procs = processesOf(e.um.uid);
  const before = new Map(procs.map((p) => [p.pid, cpuNs(p.pid)]));
  const t0 = process.hrtime.bigint();
  await sleep(seconds * 1000);
  const elapsedNs = Number(process.hrtime.bigint() - t0);
  const out = new Map<Kind, { procs: number; share: number }>();
  for (const p of procs) {
    const used = Math.max(0, cpuNs(p.pid) - before.get(p.pid)!);
    const k = kindOf(p.cmd);
    const cur = out.get(k) ?? { procs: 0, share: 0 };
    out.set(k, { procs: cur.procs + 1, share: cur.share + used / elapsedNs });
  }
  return out;
}

/** Memory of each agent's transcript writer (bash + head, in the holder's cgroup), in KiB. */
function writerMemory(uid: number): { rss: number; pss: number; procs: number } {
  const ps = processesOf(uid).filter((p) => kindOf(p.cmd) === 'transcript writer');
  return {
    rss: ps.reduce((a, p) => a + kib(p.pid, 'status', 'VmRSS'), 0),
    pss: ps.reduce((a, p) => a + kib(p.pid, 'smaps_rollup', 'Pss'), 0),
    procs: ps.length,
  };
}

async function main(): Promise<void> {
  const tStart = performance.now();
  const R = { status: runs(15), send: runs(15), server: runs(15, 1 / 5, 2, 3) };
  const summary: string[][] = [['figure', 'measured', 'goal', 'met?']];
  const goal = (figure: string, measured: string, g: string, met: boolean) => summary.push([figure, measured, g, met ? 'yes' : 'NO']);
  const e = await setUpFleet('mfbs');
  try {
    console.log(`scale benchmark: ${N} shell agents; ${R.status} status and ${R.send} send runs, ${R.server} server kills, ${IDLE_S} s idle (medians)\n`);
    await shellFleet(e, 1);
    const st1 = await timeStatus(e, 1, R.status);
    // Every agent with notifiers (issue #16): the dispatcher follows all their events.
    const names = await shellFleet(e, N, ', notify: { done: { command: [/bin/true] }, waiting: desktop, exited: { command: [/bin/true] } }');

    // Idle first, once every agent has settled (kickstarts, first prompts).
    await sleep(5000);
    const idle = await idleCpu(e, IDLE_S);
    const sup = await measureMemory(e, names);
    const writers = writerMemory(e.um.uid);

    const stN = await timeStatus(e, N, R.status);
    const [one, all] = await interleavedMedians(R.send, [
      () => timeAsUser(e, [agentBin(e, 'agent-send'), '-q', 's1', 'true']),
      () => timeAsUser(e, [agentBin(e, 'agent-send'), '-q', names.join(','), 'true']),
    ]);
    const back: number[] = [];
    for (let i = 0; i < R.server; i++) {
      const old = new Set((await listPanes(e))!.map((p) => p.pid));
      const server = Number(await e.show('mosaic-tmux-holder.service', 'MainPID'));
      await e.um.systemctl('reset-failed');
      const t0 = performance.now();
      process.kill(server, 'SIGKILL');
      back.push((await waitReady(e, names, { t0, notPids: old, timeoutMs: 120_000 })).ms);
      await sleep(2000);
    }

    console.log(`idle fleet of ${N} agents: CPU over ${IDLE_S} s, by kind of process (share of one core)\n`);
    const rows = [...idle.entries()].sort((a, b) => b[1].share - a[1].share);
    console.log(table([['processes', 'count', 'CPU', 'per agent'], ...rows.map(([k, v]) => [k, String(v.procs), `${(v.share * 100).toFixed(3)} %`, `${((v.share * 100) / N).toFixed(4)} %`])]));
    const fleetShare = ['waiter', 'transcript writer', 'tmux server', 'dispatcher'].reduce((a, k) => a + (idle.get(k as Kind)?.share ?? 0), 0);
    const allShare = [...idle.values()].reduce((a, v) => a + v.share, 0);
    console.log(`\n(the fleet's own processes: waiters, transcript writers, the tmux server; 'all' adds the agents' own shells and the user manager)`);

    const waiterRss = median(sup.unitRss);
    const waiterPss = median(sup.unitPss);
    console.log('\nsupervision per agent (median)\n');
    console.log(
      table([
        ['part', 'RSS', 'PSS'],
        ['waiter (the agent unit\'s cgroup)', `${(waiterRss / 1024).toFixed(2)} MB`, `${(waiterPss / 1024).toFixed(2)} MB`],
        ['transcript writer (bash + head)', `${(writers.rss / N / 1024).toFixed(2)} MB`, `${(writers.pss / N / 1024).toFixed(2)} MB`],
        ['tmux server / agent', `${(sup.serverRss / N / 1024).toFixed(2)} MB`, ''],
      ]),
    );

    console.log(`\nstatus --json: T(1) ${fmtMs(st1.status)}, T(${N}) ${fmtMs(stN.status)}; broadcast: one ${fmtMs(one!)}, ${N} ${fmtMs(all!)}; server kill -9 -> all ${N} ready: ${back.map(fmtMs).join(', ')}`);
    goal(`status T(${N}) / T(1)`, fmtX(stN.status / st1.status, 3), '<= 1.3x', stN.status / st1.status <= 1.3);
    goal(`broadcast to ${N} / send to one`, fmtX(all! / one!, 3), '<= 3x', all! / one! <= 3);
    goal(`all ${N} back after kill -9 of the tmux server`, fmtMs(median(back)), '<= 15 s', median(back) <= 15_000);
    const perAgent = (waiterPss + writers.pss / N) / 1024;
    goal('supervision per agent (waiter + transcript writer, PSS)', `${perAgent.toFixed(2)} MB (RSS ${((waiterRss + writers.rss / N) / 1024).toFixed(2)} MB)`, '<= 5 MB', perAgent <= 5);
    const dispatcherPid = Number(await e.show('mosaic-fleet-dispatch.service', 'MainPID'));
    const dispatcherRss = kib(dispatcherPid, 'status', 'VmRSS') / 1024;
    goal(`the dispatcher, following ${N} agents with notifiers (RSS)`, `${dispatcherRss.toFixed(1)} MB`, '<= 50 MB', dispatcherRss > 0 && dispatcherRss <= 50);
    goal(`idle fleet of ${N}: the fleet's processes`, `${(fleetShare * 100).toFixed(3)} % of a core (all the user's: ${(allShare * 100).toFixed(3)} %)`, '<= 1 %', fleetShare <= 0.01);
    console.log('\nsummary\n');
    console.log(table(summary));
    console.log(`\n(wall time: ${fmtMs(performance.now() - tStart)})`);
  } finally {
    await e.close();
  }
}

await main();
