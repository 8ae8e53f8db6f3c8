// Benchmark for the queue and notifications (issue #16), on a private tmux
// server with a real pi agent against the mock LLM and the real dispatcher
// (dist/bin/mosaic-dispatcher.js):
// - from the idle event that ends a turn to the next queued message being
//   submitted (pi's agent_start, which its submit fires), next to pi's submit delay;
// - from an event to its notifier command starting, with the debounce off
//   (MOSAIC_NOTIFY_SETTLE_MS=0) and at its default.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestFleet, waitFor, binArgv, ROOT } from '../tests/helpers/fleet.js';
import { startMockOpenAI, writePiConfig } from '../tests/fixtures/mock-openai.js';
import { agentPaneOf } from '../lib/tmux/tmux.js';
import { inputBoxText } from '../lib/runtimes/screen.js';
import { profileFor } from '../lib/runtimes/profiles.js';
import { allEvents } from '../lib/events/event-log.js';
import { agentEnvFile } from '../lib/core/paths.js';
import { exec } from '../lib/core/exec.js';
import { NOTIFY_SETTLE_MS } from '../lib/dispatch/notify.js';
import { median, table } from './lib.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);

async function run(settleMs: number | undefined): Promise<{ queue: number[]; notify: number[] }> {
  const fleet = await startTestFleet();
  const mock = await startMockOpenAI();
  const env = { ...fleet.env, ...(settleMs === undefined ? {} : { MOSAIC_NOTIFY_SETTLE_MS: String(settleMs) }) };
  const dispatcher = spawn(process.execPath, binArgv('mosaic-dispatcher', []).slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  dispatcher.stderr.on('data', (d: Buffer) => (log += d.toString()));
  try {
    await writePiConfig(fleet.home, mock.baseUrl);
    const notes = join(fleet.dir, 'notes');
    const script = join(fleet.dir, 'note.sh');
    // The notifier's start, in ms: the first thing it does.
    writeFileSync(script, `#!/bin/bash\nnow=\${EPOCHREALTIME/./}; echo "\${now:0:13}" >> ${notes}\n`, { mode: 0o755 });
    mkdirSync(join(agentEnvFile('p1', env), '..'), { recursive: true });
    writeFileSync(agentEnvFile('p1', env), `MOSAIC_AGENT_NOTIFY='${JSON.stringify({ done: { command: [script] } })}'\n`);
    const pi = await fleet.startAgent('p1', { MOSAIC_AGENT_RUNTIME: 'pi', PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`, PI_OFFLINE: '1' });
    if (pi.result.code !== 0) throw new Error(pi.result.stderr);
    const paneId = agentPaneOf((await fleet.tmux.listPanes())!, 'p1')!.paneId;
    await waitFor(async () => inputBoxText((await fleet.tmux.screen(paneId)).lines) === '', { what: 'pi ready', timeoutMs: 30_000 });
    await waitFor(() => log.includes('dispatcher running'), { what: 'the dispatcher', timeoutMs: 10_000 });
    mock.setDelay(800);
    const queue: number[] = [];
    const notify: number[] = [];
    for (let i = 0; i <= RUNS; i++) {
      const before = allEvents('p1', env).length;
      await exec(binArgv('agent-send', ['-q', 'p1', `turn ${i}`]), { env });
      await waitFor(() => allEvents('p1', env).slice(before).some((e) => e.kind === 'busy'), { what: 'busy', timeoutMs: 20_000, intervalMs: 10 });
      const q = await exec(binArgv('agent-send', ['-q', '--queue', 'p1', `queued ${i}`]), { env });
      if (q.code !== 0) throw new Error(q.stderr);
      // The first turn's idle, then the queued message's busy.
      const events = await waitFor(() => {
        const evs = allEvents('p1', env).slice(before);
        const idle = evs.findIndex((e) => e.kind === 'idle');
        return idle >= 0 && evs.slice(idle).some((e) => e.kind === 'busy') ? evs : undefined;
      }, { what: 'the queued turn', timeoutMs: 30_000, intervalMs: 10 });
      const idle = events!.find((e) => e.kind === 'idle')!;
      const next = events!.slice(events!.indexOf(idle)).find((e) => e.kind === 'busy')!;
      await waitFor(() => allEvents('p1', env).slice(before).filter((e) => e.kind === 'idle').length >= 2, { what: 'the queued turn to end', timeoutMs: 30_000, intervalMs: 10 });
      const lastIdle = allEvents('p1', env).slice(before).filter((e) => e.kind === 'idle')[1]!;
      const started = await waitFor(() => {
        const lines = (() => {
          try {
            return readFileSync(notes, 'utf8').split('\n').filter(Boolean).map(Number);
          } catch {
            return [];
          }
        })();
        return lines.find((t) => t >= lastIdle.ts);
      }, { what: 'the notifier', timeoutMs: NOTIFY_SETTLE_MS + 10_000, intervalMs: 10 });
      if (i > 0) {
        queue.push(next.ts - idle.ts);
        notify.push(started! - lastIdle.ts);
      }
      await waitFor(async () => inputBoxText((await fleet.tmux.screen(paneId)).lines) === '', { what: 'pi ready', timeoutMs: 30_000 });
      await new Promise((r) => setTimeout(r, (settleMs ?? NOTIFY_SETTLE_MS) + 200));
    }
    return { queue, notify };
  } finally {
    dispatcher.kill('SIGTERM');
    await fleet.close();
    await mock.close();
  }
}

const fast = await run(0);
const debounced = await run(undefined);
const delay = profileFor('pi', process.env).submit.delayMs;
console.log(`dispatch benchmark (medians of ${RUNS} turns, ms)\n`);
console.log(
  table([
    ['measure', 'ms', 'over', 'goal'],
    ['idle event -> next queued message submitted', median(fast.queue), (median(fast.queue) - delay).toFixed(1), `<= 100 over pi's submit delay (${delay})`],
    ['event -> notifier started (debounce off)', median(fast.notify), '', '<= 100'],
    [`event -> notifier started (default debounce ${NOTIFY_SETTLE_MS} ms)`, median(debounced.notify), (median(debounced.notify) - NOTIFY_SETTLE_MS).toFixed(1), `<= 100 over the debounce`],
  ]),
);
console.log(`\nqueue: ${fast.queue.map((x) => x.toFixed(0)).join(' ')}`);
console.log(`notify (no debounce): ${fast.notify.map((x) => x.toFixed(0)).join(' ')}`);
