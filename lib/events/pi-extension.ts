// The pi extension that reports an agent's turns to its event log
// (lib/events/hooks.ts loads it with `pi -e THIS`, added to the user's own
// extensions). pi awaits handlers inside its process: each one only appends
// a line (no Node start-up, no output to the terminal) and never throws.
// The line is the event writer's (lib/events/event-writer.sh), with the
// reply already taken out of the turn's messages.
import { appendFileSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

type Message = { role?: string; content?: unknown; stopReason?: string; errorMessage?: string };
type Pi = { on(event: string, handler: (event: Record<string, unknown>, ctx: Record<string, unknown>) => unknown): void };

// The runtime loads this file into its own process, so it is an entry point
// like those of bin/: the environment it reads is the agent's, set at launch.
const MAX_BYTES = Number(process.env.MOSAIC_EVENT_LOG_MAX_BYTES) || 2 * 1024 * 1024;

function textOf(m: Message | undefined): string {
  if (!m) return '';
  if (typeof m.content === 'string') return m.content;
  if (!Array.isArray(m.content)) return '';
  return m.content.filter((p: { type?: string; text?: unknown }) => p?.type === 'text' && typeof p.text === 'string').map((p: { text: string }) => p.text).join('');
}

export default function mosaicEvents(pi: Pi): void {
  const log = process.env.MOSAIC_EVENT_LOG;
  if (!log) return;
  const agent = process.env.MOSAIC_AGENT_NAME ?? '';
  const write = (kind: string, via: string, data: unknown, reply?: string): void => {
    const line = JSON.stringify({ ts: Date.now(), agent, kind, via, data, ...(reply === undefined ? {} : { reply }) }) + '\n';
    try {
      if ((statSync(log, { throwIfNoEntry: false })?.size ?? 0) > MAX_BYTES) renameSync(log, `${log}.1`);
    } catch {
      // rotation is best effort
    }
    try {
      appendFileSync(log, line, { mode: 0o600 });
    } catch {
      try {
        mkdirSync(dirname(log), { recursive: true, mode: 0o700 });
        appendFileSync(log, line, { mode: 0o600 });
      } catch {
        // the agent's turn matters more than its event
      }
    }
  };
  pi.on('session_start', (event, ctx) => {
    let sessionFile: unknown;
    try {
      sessionFile = (ctx.sessionManager as { getSessionFile(): unknown }).getSessionFile();
    } catch {
      sessionFile = undefined;
    }
    write('started', 'pi:session_start', { reason: event.reason, session_file: sessionFile });
  });
  pi.on('agent_start', () => write('busy', 'pi:agent_start', null));
  pi.on('agent_end', (event) => {
    const messages = (Array.isArray(event.messages) ? event.messages : []) as Message[];
    const last = [...messages].reverse().find((m) => m?.role === 'assistant');
    const reason = last?.stopReason;
    if (reason === 'error') write('error', 'pi:agent_end', { stop_reason: reason, error: last?.errorMessage ?? '' }, textOf(last));
    else write('idle', 'pi:agent_end', { stop_reason: reason ?? null }, textOf(last));
  });
}
