// Benchmark for agent-send (issue #4): medians measured in one run, as ratios
// to the Node floor, on a private tmux server with a real pi and shell agents.
import { join } from 'node:path';
import { startTestFleet, waitFor, binArgv, ROOT } from '../tests/helpers/fleet.js';
import { startMockOpenAI, writePiConfig } from '../tests/fixtures/mock-openai.js';
import { agentPaneOf } from '../lib/tmux/tmux.js';
import { inputBoxText } from '../lib/runtimes/screen.js';
import { profileFor } from '../lib/runtimes/profiles.js';
import { interleavedMedians, median, medianOf, table, timeCommand } from './lib.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const FANOUT = 20;

const fleet = await startTestFleet();
const mock = await startMockOpenAI();
try {
  await writePiConfig(fleet.home, mock.baseUrl);
  const pi = await fleet.startAgent('pi1', { MOSAIC_AGENT_RUNTIME: 'pi', PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`, PI_OFFLINE: '1' });
  if (pi.result.code !== 0) throw new Error(pi.result.stderr);
  const shells = Array.from({ length: FANOUT }, (_, i) => `sh${i}`);
  for (const s of shells) await fleet.startAgent(s, { MOSAIC_AGENT_RUNTIME: 'shell' });
  await waitFor(async () => inputBoxText((await fleet.tmux.screen(agentPaneOf((await fleet.tmux.listPanes())!, 'pi1')!.paneId)).lines) === '', { what: 'pi ready', timeoutMs: 30_000 });

  const env = fleet.env;
  const shPane = agentPaneOf((await fleet.tmux.listPanes())!, 'sh0')!.paneId;
  const piPane = agentPaneOf((await fleet.tmux.listPanes())!, 'pi1')!.paneId;
  let seq = 0;
  // Taken in turn (floor, shell, pi, floor, ...), so the machine's drift hits them alike.
  // A shell agent's paste goes in the call that lists the panes; pi's screen must be read
  // first (is its editor drawn? a prompt up?), which comes with that call too.
  // What each --no-submit left is cleared outside the timing.
  const [floor, noSubmit, noSubmitPi] = await interleavedMedians(RUNS, [
    () => timeCommand([process.execPath, '-e', '0'], env),
    async () => {
      const ms = await timeCommand(binArgv('agent-send', ['--no-submit', 'sh0', '#']), env);
      await fleet.tmux.sendKeys(shPane, 'C-u');
      return ms;
    },
    async () => {
      const n = mock.userMessages().length;
      const ms = await timeCommand(binArgv('agent-send', ['--no-submit', 'pi1', `left in the editor ${++seq}`]), env);
      await fleet.tmux.sendKeys(piPane, 'Enter');
      await mock.waitForMessages(n + 1, 20_000);
      await waitFor(async () => inputBoxText((await fleet.tmux.screen(piPane)).lines) === '', { what: 'pi ready', timeoutMs: 20_000 });
      return ms;
    },
  ]);

  const fullPi: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    const n = mock.userMessages().length;
    const t = performance.now();
    await timeCommand(binArgv('agent-send', ['-q', 'pi1', `bench message ${i}`]), env);
    await mock.waitForMessages(n + 1, 20_000);
    if (i > 0) fullPi.push(performance.now() - t);
  }
  const single = await medianOf(RUNS, () => timeCommand(binArgv('agent-send', ['-q', 'sh0', ': single']), env));
  const fan = await medianOf(Math.max(5, Math.floor(RUNS / 3)), () => timeCommand(binArgv('agent-send', ['-q', shells.join(','), ': fan-out']), env));

  const piDelay = profileFor('pi', process.env).submit.delayMs;
  const fullPiMedian = median(fullPi);
  console.log(`agent-send benchmark (medians of ${RUNS} runs, ms)\n`);
  console.log(
    table([
      ['measure', 'ms', 'ratio', 'goal'],
      ['node -e 0 (Node floor)', floor, '1.00', ''],
      ['agent-send --no-submit (live shell agent)', noSubmit, (noSubmit / floor).toFixed(2), '<= 1.60 x floor'],
      ['agent-send --no-submit (live pi agent)', noSubmitPi, (noSubmitPi / floor).toFixed(2), '<= 1.60 x floor'],
      ['full send to pi until the mock has it', fullPiMedian, (fullPiMedian - floor - piDelay).toFixed(1), `<= floor + ${piDelay} (pi delay) + 150`],
      ['full send to 1 shell agent', single, '1.00', ''],
      [`full send to ${FANOUT} shell agents at once`, fan, (fan / single).toFixed(2), '<= 2.00 x single'],
    ]),
  );
  console.log(`\n(ratio column: x floor, ms over floor + submit delay, x single send)`);
} finally {
  await fleet.close();
  await mock.close();
}
