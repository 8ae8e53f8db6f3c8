// The opencode plugin that reports an agent's turns to its event log
// (lib/events/hooks.ts lists it in OPENCODE_CONFIG_CONTENT, which opencode
// merges with the user's config: their plugins still load). It runs in
// opencode's process: it only appends lines (never prints: anything printed
// lands in the TUI) and never throws. The line is the event writer's
// (lib/events/event-writer.sh), with the reply already taken out.
// Facts (opencode 1.18.33): `session.status` busy repeats within a turn and
// idle can come twice, so each is written once per turn; sub-agents run in
// child sessions (their `session.created` has a parentID): ignored; the
// reply is not in the idle event: it is the text parts of the session's last
// assistant message, read with the plugin's client (~10 ms).
import { appendFileSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

// The runtime loads this file into its own process, so it is an entry point
// like those of bin/: the environment it reads is the agent's, set at launch.
const MAX_BYTES = Number(process.env.MOSAIC_EVENT_LOG_MAX_BYTES) || 2 * 1024 * 1024;

function write(kind, via, data, reply) {
  const log = process.env.MOSAIC_EVENT_LOG;
  if (!log) return;
  const line = JSON.stringify({ ts: Date.now(), agent: process.env.MOSAIC_AGENT_NAME ?? '', kind, via, data, ...(reply === undefined ? {} : { reply }) }) + '\n';
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
}

export const MosaicFleetEvents = async ({ client }) => {
  const children = new Set();
  const busy = new Set();
  return {
    event: async ({ event }) => {
      try {
        const p = event?.properties ?? {};
        switch (event?.type) {
          case 'session.created':
            if (p.info?.parentID) children.add(p.info.id);
            else write('started', 'opencode:session.created', { session_id: p.info?.id ?? null });
            return;
          case 'session.status': {
            const id = p.sessionID;
            if (children.has(id)) return;
            if (p.status?.type === 'busy' && !busy.has(id)) {
              busy.add(id);
              write('busy', 'opencode:session.status', { session_id: id });
            } else if (p.status?.type === 'idle' && busy.delete(id)) {
              let text;
              let error = null;
              try {
                const r = await client.session.messages({ path: { id }, query: { limit: 4 } });
                const last = (r?.data ?? []).filter((m) => m?.info?.role === 'assistant').at(-1);
                if (last) {
                  text = (last.parts ?? []).filter((x) => x?.type === 'text' && !x.synthetic && !x.ignored).map((x) => x.text).join('');
                  error = last.info.error ?? null;
                }
              } catch (e) {
                error = { name: 'PluginFetchError', message: String(e) };
              }
              write(error ? 'error' : 'idle', 'opencode:session.status', { session_id: id, error }, text);
            }
            return;
          }
          case 'permission.asked':
          case 'question.asked':
            if (children.has(p.sessionID)) return;
            write('waiting', `opencode:${event.type}`, { session_id: p.sessionID, permission: p.permission ?? null, patterns: p.patterns ?? null, message: p.question ?? p.metadata?.command ?? null });
            return;
          case 'permission.replied':
            if (children.has(p.sessionID)) return;
            write('busy', 'opencode:permission.replied', { session_id: p.sessionID, reply: p.reply ?? null });
            return;
        }
      } catch {
        // never in the agent's way
      }
    },
  };
};
