// The roster's `notify:` (issue #16): which events tell a person, and how.
// Pure data and its checks: the roster validates with them, the dispatcher
// (lib/dispatch/notify.ts) runs them.

/**
 * `waiting` a prompt needs a person; `done` a turn finished (busy, then
 * idle); `failed` the agent's unit failed or is crash-looping; `exited` the
 * agent's process ended.
 */
export const NOTIFY_EVENTS = ['waiting', 'done', 'failed', 'exited'] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

/**
 * Where a notification goes: `{ command: [WORD, ...] }` (run without a
 * shell), `desktop` (notify-send), or an http(s) URL (a POST of the event as JSON).
 */
export type NotifyTarget = { command: string[] } | string;
export type NotifyConfig = Partial<Record<NotifyEvent, NotifyTarget | NotifyTarget[]>>;

/** The targets of an event, as a list. */
export function targetsOf(config: NotifyConfig | undefined, event: NotifyEvent): NotifyTarget[] {
  const t = config?.[event];
  return t === undefined ? [] : Array.isArray(t) ? t : [t];
}

/** What is wrong with one target, or undefined. */
export function targetProblem(t: unknown): string | undefined {
  if (typeof t === 'string') {
    if (t === 'desktop') return undefined;
    if (/^https?:\/\//.test(t)) {
      try {
        new URL(t);
        return undefined;
      } catch {
        return `${JSON.stringify(t)} is not a URL`;
      }
    }
    return `${JSON.stringify(t)} is not a target (desktop, an http:// or https:// URL, or { command: [WORD, ...] })`;
  }
  if (t && typeof t === 'object' && !Array.isArray(t)) {
    const keys = Object.keys(t);
    const command = (t as { command?: unknown }).command;
    if (keys.length !== 1 || keys[0] !== 'command') return `a target map has one key, command (got ${keys.join(', ') || 'none'})`;
    if (!Array.isArray(command) || command.length === 0) return 'command must be a list of words, the program first (it runs without a shell)';
    const bad = command.findIndex((w) => typeof w !== 'string' || w === '');
    if (bad >= 0) {
      const w = command[bad] as unknown;
      // YAML reads true, 10 or null as such, not as words.
      const why = typeof w === 'string' ? 'is empty' : `is ${JSON.stringify(w)}, a YAML ${w === null ? 'null' : typeof w}, not a word: quote it ("${String(w)}")`;
      return `command word ${bad + 1} ${why}`;
    }
    return undefined;
  }
  return `a target is desktop, a URL or { command: [...] }, not ${JSON.stringify(t)}`;
}

/** Every problem of a `notify:` map (empty: it is good). */
export function notifyProblems(value: unknown): string[] {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return ['must be a map of event to target'];
  const problems: string[] = [];
  for (const [event, target] of Object.entries(value)) {
    if (!(NOTIFY_EVENTS as readonly string[]).includes(event)) {
      problems.push(`unknown event ${JSON.stringify(event)} (events: ${NOTIFY_EVENTS.join(', ')})`);
      continue;
    }
    const list = Array.isArray(target) ? target : [target];
    if (list.length === 0) problems.push(`${event}: an empty list (leave the event out instead)`);
    for (const t of list) {
      const p = targetProblem(t);
      if (p) problems.push(`${event}: ${p}`);
    }
  }
  return problems;
}

/** The notify config of an agent as apply wrote it (MOSAIC_AGENT_NOTIFY); undefined when none or unreadable. */
export function notifyFromJson(json: string | undefined): NotifyConfig | undefined {
  if (!json) return undefined;
  try {
    const v = JSON.parse(json) as unknown;
    return notifyProblems(v).length === 0 ? (v as NotifyConfig) : undefined;
  } catch {
    return undefined;
  }
}
