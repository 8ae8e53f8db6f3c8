// Benchmark for `mosaic-agent status` (issue #5) on a real user manager for a
// throwaway user: its cost with 1, 10 and 50 shell agents running, and the
// start-up cost of the tool (`--version`) against bare Node. Every command runs
// as the user, with the same environment; medians, ratios within one run.
import { join } from 'node:path';
import { setUpFleet, shellFleet, timeAsUser, timeStatus, interleavedMedians, agentBin, listPanes, runs, fmtMs, fmtX } from './fleet.js';
import type { E2E } from '../tests/e2e/setup.js';
import { table } from './lib.js';

/** The external calls `status` makes (lib/fleet/fleet-status.ts), each timed alone as the user: which one grows with the fleet. */
async function steps(e: E2E, names: string[], n: number): Promise<number[]> {
  const panes = (await listPanes(e))!.filter((p) => names.includes(p.session));
  const units = ['mosaic-tmux-holder.service', ...names.map((a) => `mosaic-agent@${a}.service`)];
  const props = 'Id,LoadState,ActiveState,SubState,Result,MainPID,NRestarts,ActiveEnterTimestamp,UnitFileState';
  const capture = panes.flatMap((p, i) => [...(i > 0 ? [';'] : []), 'display-message', '-p', '-t', p.paneId, `:|:mosaic-screen:|:${i}`, ';', 'capture-pane', '-p', '-t', p.paneId]);
  const fields = ['session_name', 'session_created', 'pane_id', 'pane_pid', 'pane_dead', 'pane_dead_status', 'pane_current_command', 'pane_title'].map((f) => `#{${f}}`).join(':|:');
  const argvs = [
    ['tmux', '-L', 'mosaic-factory', 'list-panes', '-a', '-F', fields],
    ['systemctl', '--user', 'list-units', '--all', '--plain', '--no-legend', '--no-pager', 'mosaic-agent@*'],
    ['systemctl', '--user', 'show', '--timestamp=unix', '--property', props, '--', ...units],
    ['tmux', '-L', 'mosaic-factory', ...capture],
  ];
  if (panes.length !== n) throw new Error(`expected ${n} panes`);
  return interleavedMedians(RUNS, argvs.map((a) => () => timeAsUser(e, a)));
}

const RUNS = runs(15);
const tStart = performance.now();
const e = await setUpFleet('mfbs');
try {
  const emptyModule = join(e.um.home, 'empty.mjs');
  await e.write(emptyModule, '');
  const direct = join(e.um.home, '.config', 'mosaic', 'tools', 'fleet', 'current', 'dist', 'bin', 'mosaic-agent.js');
  const isVersion = (out: string) => /\d+\.\d+\.\d+/.test(out);
  const [version, node, esm, noWrapper] = await interleavedMedians(RUNS, [
    () => timeAsUser(e, [agentBin(e, 'mosaic-agent'), '--version'], isVersion),
    () => timeAsUser(e, ['node', '-e', '0']),
    () => timeAsUser(e, ['node', emptyModule]),
    () => timeAsUser(e, ['node', direct, '--version'], isVersion),
  ]);
  const status = new Map<number, { status: number; node: number }>();
  const parts = new Map<number, number[]>();
  for (const n of [1, 10, 50]) {
    const names = await shellFleet(e, n);
    status.set(n, await timeStatus(e, n, RUNS));
    parts.set(n, await steps(e, names, n));
  }

  const s1 = status.get(1)!.status;
  const s50 = status.get(50)!.status / s1;
  const v = version! / node!;
  console.log(`status benchmark (medians of ${RUNS} runs, each command run as the user; node -e 0 taken in turn with each)\n`);
  console.log(
    table([
      ['measure', 'median', 'x T(1)', 'node -e 0', 'x node', 'goal'],
      ...[1, 10, 50].map((n) => {
        const s = status.get(n)!;
        return [`mosaic-agent status --json, ${n} agent${n > 1 ? 's' : ''}`, fmtMs(s.status), fmtX(s.status / s1), fmtMs(s.node), fmtX(s.status / s.node), n === 50 ? '<= 1.30x T(1)' : ''];
      }),
      ['mosaic-agent --version', fmtMs(version!), '', fmtMs(node!), fmtX(v), '<= 1.30x node'],
      ['  node dist/bin/mosaic-agent.js --version (no wrapper)', fmtMs(noWrapper!), '', fmtMs(node!), fmtX(noWrapper! / node!), ''],
      ['  node empty.mjs (the ESM loader alone)', fmtMs(esm!), '', fmtMs(node!), fmtX(esm! / node!), ''],
    ]),
  );
  console.log(`\nexternal calls, each alone (median ms). status makes list-panes + list-units in parallel, then the capture;\n'systemctl show' of every unit is what status used to make (now only for failed units), for comparison\n`);
  const stepNames = ['tmux list-panes -a', 'systemctl list-units mosaic-agent@*', 'systemctl show (holder + every agent), not made', 'tmux capture of every agent screen (one call)'];
  console.log(
    table([
      ['call', ...[1, 10, 50].map((n) => `${n} agent${n > 1 ? 's' : ''}`)],
      ...stepNames.map((name, i) => [name, ...[1, 10, 50].map((n) => fmtMs(parts.get(n)![i]!))]),
      ['status minus its external calls', ...[1, 10, 50].map((n) => { const p = parts.get(n)!; return fmtMs(status.get(n)!.status - Math.max(p[0]!, p[1]!) - p[3]!); })],
    ]),
  );
  console.log('\nsummary\n');
  console.log(
    table([
      ['figure', 'measured', 'goal', 'met?'],
      ['status T(50) / T(1)', fmtX(s50, 3), '<= 1.3x', s50 <= 1.3 ? 'yes' : 'NO'],
      ['status T(10) / T(1)', fmtX(status.get(10)!.status / s1), '-', '-'],
      ['--version / node -e 0', fmtX(v, 3), '<= 1.3x', v <= 1.3 ? 'yes' : 'NO'],
    ]),
  );
  console.log(`\n(wall time of this benchmark: ${fmtMs(performance.now() - tStart)})`);
} finally {
  await e.close();
}
