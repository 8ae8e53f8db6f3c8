// Soak test of delivery into one real pi (issue #4): many messages, from
// several senders at once, while the mock keeps pi busy answering. Counts what
// the mock received against what agent-send reported: lost (reported delivered,
// never received), merged (two messages in one), altered, and honest failures
// (agent-send said it failed). Prints counts, not timings.
//   BENCH_SOAK_MESSAGES (default 300), BENCH_SOAK_SENDERS (4), BENCH_SOAK_DELAY_MS (mock answer delay, 150)
import { join } from 'node:path';
import { startTestFleet, waitFor, binArgv, ROOT } from '../tests/helpers/fleet.js';
import { startMockOpenAI, writePiConfig } from '../tests/fixtures/mock-openai.js';
import { agentPaneOf } from '../lib/tmux/tmux.js';
import { inputBoxText } from '../lib/runtimes/screen.js';
import { exec } from '../lib/core/exec.js';
import { table } from './lib.js';

const TOTAL = Number(process.env.BENCH_SOAK_MESSAGES ?? 300);
const SENDERS = Number(process.env.BENCH_SOAK_SENDERS ?? 4);
const DELAY_MS = Number(process.env.BENCH_SOAK_DELAY_MS ?? 150);

const fleet = await startTestFleet();
const mock = await startMockOpenAI({ delayMs: DELAY_MS });
try {
  await writePiConfig(fleet.home, mock.baseUrl);
  const pi = await fleet.startAgent('soak', { MOSAIC_AGENT_RUNTIME: 'pi', PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`, PI_OFFLINE: '1' });
  if (pi.result.code !== 0) throw new Error(pi.result.stderr);
  const paneId = agentPaneOf((await fleet.tmux.listPanes())!, 'soak')!.paneId;
  await waitFor(async () => inputBoxText((await fleet.tmux.screen(paneId)).lines) === '', { what: 'pi ready', timeoutMs: 30_000 });

  // Each message names itself, so a merged or altered one is recognised.
  const text = (i: number) => `soak-${i}-start "quoted" $HOME \`tick\` end-${i}`;
  const reported = new Map<number, { code: number; stderr: string }>();
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: SENDERS }, async () => {
      for (let i = next++; i < TOTAL; i = next++) {
        const r = await exec(binArgv('agent-send', ['-q', 'soak', text(i)]), { env: fleet.env, timeoutMs: 120_000 });
        reported.set(i, { code: r.code, stderr: r.stderr.trim() });
      }
    }),
  );
  const sendMs = performance.now() - started;
  const delivered = [...reported].filter(([, r]) => r.code === 0).map(([i]) => i);
  // Everything reported delivered must arrive; give pi time to work through its queue.
  await mock.waitForMessages(delivered.length, 60_000 + TOTAL * DELAY_MS).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 2000));

  const received = mock.userMessages();
  const seen = new Map<number, number>();
  let merged = 0;
  let altered = 0;
  let foreign = 0;
  for (const m of received) {
    const ids = [...m.matchAll(/soak-(\d+)-start/g)].map((x) => Number(x[1]));
    if (ids.length === 0) foreign++;
    if (ids.length > 1) merged++;
    for (const id of ids) seen.set(id, (seen.get(id) ?? 0) + 1);
    if (ids.length === 1 && m !== text(ids[0]!)) altered++;
  }
  const lost = delivered.filter((i) => !seen.has(i));
  const duplicated = [...seen].filter(([, n]) => n > 1).length;
  const failed = [...reported].filter(([, r]) => r.code !== 0);
  console.log(`pi delivery soak: ${TOTAL} messages, ${SENDERS} senders at once, mock answers after ${DELAY_MS} ms\n`);
  console.log(
    table([
      ['measure', 'count'],
      ['reported delivered', String(delivered.length)],
      ['reported failed (exit 1, said so)', String(failed.length)],
      ['received by the mock', String(received.length)],
      ['lost (reported delivered, never received)', String(lost.length)],
      ['merged (two messages in one)', String(merged)],
      ['altered', String(altered)],
      ['received twice', String(duplicated)],
      ['not ours', String(foreign)],
    ]),
  );
  console.log(`\n${(sendMs / TOTAL).toFixed(0)} ms per message on average (all senders together)`);
  if (lost.length) console.log(`lost: ${lost.slice(0, 20).join(', ')}`);
  for (const [i, r] of failed.slice(0, 5)) console.log(`failed ${i}: ${r.stderr}`);
  if (lost.length || merged || altered || duplicated) process.exitCode = 1;
} finally {
  await fleet.close();
  await mock.close();
}
