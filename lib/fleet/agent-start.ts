// An agent unit's start (ExecStart= of mosaic-agent@NAME, through
// bin/start-agent-session.ts): the session, its checks and transcript, the
// kickstart, then the waiter. The supervisor (lib/systemd/supervisor.ts) does
// all of it but the kickstart, which is a send: lib/systemd comes before
// lib/send and cannot import it, so the one step that sends joins the others
// here, in the first folder that may import both.
import { agentSpecFromEnv } from '../runtimes/agent-spec.js';
import { formatError } from '../core/errors.js';
import { launchAgent, startWaiter } from '../systemd/supervisor.js';
import { markRunning } from '../systemd/running.js';
import { clearStartError, recordStartError } from '../systemd/start-error.js';
import { openTransport } from '../send/open-transport.js';
import type { FleetContext } from './context.js';

/** The tool whose words a start's error and warnings are in (what apply, start and restart show). */
const TOOL = 'start-agent-session';
const KICKSTART_TIMEOUT_MS = 30_000;

/**
 * Create, respawn or adopt the agent's session, kickstart a new one, then
 * hand the unit its waiter (whose pid goes to `pidFile`). A failed start is
 * also recorded for apply, start and restart to show (lib/systemd/start-error.ts).
 */
export async function startAgent(ctx: FleetContext, name: string, pidFile: string): Promise<void> {
  try {
    await start(ctx, name, pidFile);
    clearStartError(name, ctx.env);
  } catch (err) {
    // systemctl only says "control process exited with error code": apply,
    // start and restart read this instead.
    try {
      recordStartError(name, formatError(TOOL, err), ctx.env);
    } catch {
      // an unwritable runtime dir must not hide the error itself, which the unit's stderr still gets
    }
    throw err;
  }
}

async function start(ctx: FleetContext, name: string, pidFile: string): Promise<void> {
  const { env, tmux } = ctx;
  const spec = agentSpecFromEnv(name, env);
  const outcome = await launchAgent(tmux, spec, env);
  if (outcome.action !== 'adopted') await sendKickstart(ctx, name);
  const waiter = startWaiter(outcome.pid, pidFile, env);
  markRunning(name, env);
  const what = spec.command ? 'MOSAIC_AGENT_COMMAND' : `runtime ${spec.runtime}`;
  process.stdout.write(
    `agent ${name}: ${outcome.action} session (${what}, pane ${outcome.paneId}, pid ${outcome.pid}, waiter ${waiter})\n`,
  );
}

/**
 * Deliver MOSAIC_AGENT_KICKSTART once per (re)start, once the runtime is
 * ready. A kickstart that cannot be delivered is reported but does not fail
 * the start: the agent itself runs.
 */
async function sendKickstart(ctx: FleetContext, name: string): Promise<void> {
  const text = ctx.env.MOSAIC_AGENT_KICKSTART;
  if (!text) return;
  const [result] = await openTransport(ctx).send([name], text, { submit: true, timeoutMs: KICKSTART_TIMEOUT_MS, force: false, waitReady: true });
  if (result instanceof Error) process.stderr.write(`${TOOL}: warning: kickstart not delivered to ${name}: ${result.message}\n`);
  else process.stdout.write(`agent ${name}: kickstart delivered (${result.bytes} bytes)\n`);
}
