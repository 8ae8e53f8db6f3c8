// Benchmark for agent events (issue #15), on a private tmux server with a
// real pi agent (its extension reports its turns) against the mock LLM:
// - event latency: from the runtime's hook firing (the event's own time) to
//   `mosaic-agent wait` returning, next to how long reading the screen (as
//   status does: two readings 150 ms apart agreeing) takes to see the same
//   moment, in the same turn;
// - the cost of one event write by lib/events/event-writer.sh (a Claude Code
//   Stop payload of 10 KB on stdin), next to starting Node;
// - `mosaic-agent ask` over the mock's own answer time, next to pi's submit delay.
import { join } from 'node:path';
import { startTestFleet, waitFor, binArgv, ROOT } from '../tests/helpers/fleet.js';
import { startMockOpenAI, writePiConfig } from '../tests/fixtures/mock-openai.js';
import { agentPaneOf } from '../lib/tmux/tmux.js';
import { inputBoxText } from '../lib/runtimes/screen.js';
import { activityOf } from '../lib/runtimes/activity.js';
import { profileFor } from '../lib/runtimes/profiles.js';
import { lastEvents } from '../lib/events/event-log.js';
import { EVENT_WRITER } from '../lib/events/hooks.js';
import { exec } from '../lib/core/exec.js';
import { interleavedMedians, median, table } from './lib.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const TURN_MS = 1500;

const fleet = await startTestFleet();
const mock = await startMockOpenAI();
try {
  await writePiConfig(fleet.home, mock.baseUrl);
  const env = fleet.env;
  const pi = await fleet.startAgent('pi1', { MOSAIC_AGENT_RUNTIME: 'pi', PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`, PI_OFFLINE: '1' });
  if (pi.result.code !== 0) throw new Error(pi.result.stderr);
  const paneId = agentPaneOf((await fleet.tmux.listPanes())!, 'pi1')!.paneId;
  const ready = () => waitFor(async () => inputBoxText((await fleet.tmux.screen(paneId)).lines) === '', { what: 'pi ready', timeoutMs: 30_000 });
  await ready();
  const profile = profileFor('pi', process.env);

  /** The screen's state as status reads it: two readings 150 ms apart that agree. */
  const screenState = async () => {
    const pane = agentPaneOf((await fleet.tmux.listPanes())!, 'pi1')!;
    let last = '';
    for (;;) {
      const now = activityOf(profile, pane, (await fleet.tmux.screen(paneId)).lines);
      if (now === last) return now;
      last = now;
      await new Promise((r) => setTimeout(r, 150));
    }
  };

  // 1. Event latency, with the screen's in the same turn.
  mock.setDelay(TURN_MS);
  const byEvent: number[] = [];
  const byScreen: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    await exec(binArgv('agent-send', ['-q', 'pi1', `turn ${i}`]), { env });
    await waitFor(() => lastEvents('pi1', 1, env)[0]?.kind === 'busy', { what: 'busy', timeoutMs: 20_000, intervalMs: 20 });
    let returned = 0;
    const waiting = exec(binArgv('mosaic-agent', ['wait', 'pi1', '--timeout', '60']), { env }).then((r) => {
      returned = Date.now();
      if (r.code !== 0) throw new Error(r.stderr);
    });
    let seen = 0;
    while (!seen) {
      if ((await screenState()) === 'idle') seen = Date.now();
    }
    await waiting;
    const fired = lastEvents('pi1', 1, env)[0]!;
    if (fired.kind !== 'idle') throw new Error(`last event is ${fired.kind}`);
    if (i > 0) {
      byEvent.push(returned - fired.ts);
      byScreen.push(seen - fired.ts);
    }
    await ready();
  }
  mock.setDelay(0);

  // 2. One event write, next to starting Node.
  const payload = JSON.stringify({
    session_id: '2a1f8c1e-0000-4000-8000-000000000000',
    transcript_path: '/home/u/.claude/projects/x/2a1f8c1e.jsonl',
    cwd: '/home/u/work',
    hook_event_name: 'Stop',
    stop_hook_active: false,
    last_assistant_message: 'Here is the change. "quoted" — ünïcödé\n'.repeat(400),
  });
  const writeEnv = { ...env, MOSAIC_EVENT_LOG: join(fleet.dir, 'bench-events.jsonl'), MOSAIC_AGENT_NAME: 'bench' };
  const timed = async (argv: string[], input?: string) => {
    const t = performance.now();
    const r = await exec(argv, { env: writeEnv, input });
    if (r.code !== 0) throw new Error(r.stderr);
    return performance.now() - t;
  };
  // /bin/true started the same way: what spawning any program from here costs, which a runtime pays for any hook.
  const [nodeStart, spawnTrue, write] = await interleavedMedians(RUNS * 4, [
    () => timed([process.execPath, '-e', '0']),
    () => timed(['/bin/true'], payload),
    () => timed([EVENT_WRITER, 'idle', 'claude:Stop'], payload),
  ]);

  // 3. ask over the mock's own answer time.
  const ANSWER_MS = 500;
  mock.setDelay(ANSWER_MS);
  const asks: number[] = [];
  const before: number[] = [];
  const after: number[] = [];
  const parts: number[][] = [];
  for (let i = 0; i <= RUNS; i++) {
    const n = mock.requests.length;
    const t = Date.now();
    const r = await exec(binArgv('mosaic-agent', ['ask', 'pi1', `question ${i}`]), { env });
    const done = Date.now();
    if (r.code !== 0) throw new Error(r.stderr);
    const req = mock.requests.slice(n).find((q) => q.offersTools)!;
    const [busy, idle] = lastEvents('pi1', 2, env);
    if (i > 0) {
      parts.push([busy!.ts - t, req.at - busy!.ts, idle!.ts - req.at - ANSWER_MS, done - idle!.ts]);
      asks.push(done - t);
      before.push(req.at - t);
      after.push(done - req.at - ANSWER_MS);
    }
    await ready();
  }
  mock.setDelay(0);

  const ev = median(byEvent);
  const sc = median(byScreen);
  const ask = median(asks);
  console.log(`events benchmark (medians of ${RUNS} runs, ms)\n`);
  console.log(
    table([
      ['measure', 'ms', 'ratio', 'goal'],
      ['hook fired -> mosaic-agent wait returned', ev, '1.00', '<= 50 ms'],
      ['hook fired -> the screen read as idle (status debounce)', sc, (sc / ev).toFixed(2), '(x the event)'],
      ['one event write (16 KB Claude Stop payload), spawn included', write, (write / nodeStart).toFixed(2), '(x node -e 0)'],
      ['  the same spawn of /bin/true', spawnTrue, (spawnTrue / nodeStart).toFixed(2), ''],
      ['  the write itself (the two above apart)', write - spawnTrue, '', '<= 5 ms'],
      ['node -e 0', nodeStart, '1.00', ''],
      [`mosaic-agent ask, mock answering in ${ANSWER_MS} ms`, ask, (ask - ANSWER_MS).toFixed(1), `<= ${profile.submit.delayMs} (pi delay) + 150 over the answer`],
    ]),
  );
  console.log('\n(ratio column: x the event latency; x node -e 0; ms over the mock\'s answer time)');
  console.log(`event latencies: ${byEvent.map((x) => x.toFixed(0)).join(' ')}`);
  console.log(`screen latencies: ${byScreen.map((x) => x.toFixed(0)).join(' ')}`);
  console.log(`ask: ${asks.map((x) => x.toFixed(0)).join(' ')}`);
  console.log(`ask, start to the model's request (Node start, delivery, pi's request): median ${median(before).toFixed(0)} ms`);
  console.log(`ask, the model's answer to the reply printed (pi's rendering, the hook, the wait's wake, exit): median ${median(after).toFixed(0)} ms`);
  console.log(`ask in parts (medians): start -> pi's busy ${median(parts.map((p) => p[0]!)).toFixed(0)}, busy -> the model's request ${median(parts.map((p) => p[1]!)).toFixed(0)}, the answer's end -> pi's idle ${median(parts.map((p) => p[2]!)).toFixed(0)}, idle -> ask exited ${median(parts.map((p) => p[3]!)).toFixed(0)}`);
  console.log(`node -e 0 in the same run: ${nodeStart.toFixed(0)} ms; pi's submit delay: ${profile.submit.delayMs} ms`);
} finally {
  await fleet.close();
  await mock.close();
}
