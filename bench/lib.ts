// Small helpers for the benchmark scripts: time commands, take medians, print tables.
import { exec } from '../lib/core/exec.js';

/** Median of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Wall time in ms of running argv to completion (spawned directly, no shell, so every figure pays the same spawn cost). */
export async function timeCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const t = performance.now();
  const r = await exec(argv, { env });
  const ms = performance.now() - t;
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed (${r.code}): ${r.stderr}`);
  return ms;
}

/** Median wall time of `runs` repetitions of an async action (after one warm-up). */
export async function medianOf(runs: number, fn: () => Promise<number>): Promise<number> {
  await fn();
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) xs.push(await fn());
  return median(xs);
}

/** Medians of several measures taken in turn (a, b, c, a, b, c, ...) after one warm-up round, so drift hits them alike. */
export async function interleavedMedians(n: number, fns: Array<() => Promise<number>>): Promise<number[]> {
  for (const f of fns) await f();
  const xs = fns.map(() => [] as number[]);
  for (let i = 0; i < n; i++) for (const [j, f] of fns.entries()) xs[j]!.push(await f());
  return xs.map(median);
}

/** Print rows as an aligned table. */
export function table(rows: Array<Array<string | number>>): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? c.toFixed(1) : c)));
  const w = cells[0]!.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ')).join('\n');
}
