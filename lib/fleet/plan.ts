// The plan of an apply: the roster's agents against the env files apply wrote
// before, one action per agent, and whether a running agent takes an update
// without a restart. lib/fleet/apply.ts carries it out.
import { parseEnvFile } from '../core/env-file.js';
import { byCodeUnit, renderEnvFile } from './env-files.js';
import type { Roster } from './roster.js';

export type PlanAction = {
  kind: 'create' | 'update' | 'unchanged' | 'orphan' | 'disable';
  name: string;
  reason: string;
  /** An update a running agent takes without a restart (see liveChange). */
  live?: true;
};

/**
 * Profile fields that only change how a message is sent, how the screen is
 * read, or how a reset is typed: agent-send, status and reset read them from
 * the session (@mosaic_profile), so a running agent takes them in place.
 */
export const LIVE_PROFILE_FIELDS: ReadonlySet<string> = new Set([
  'submit_delay_ms', 'submit_key', 'bracketed', 'clear', 'busy', 'idle', 'approval', 'input_prompt', 'input_placeholder', 'reset', 'reset_confirm',
]);
// Env file keys of the same kind: only the sending side reads them.
// Read at each use, not at the agent's start: a change needs no restart (the dispatcher reads MOSAIC_AGENT_NOTIFY at each event).
const LIVE_KEYS: ReadonlySet<string> = new Set(['MOSAIC_AGENT_SUBMIT_DELAY_MS', 'MOSAIC_AGENT_NOTIFY']);

function profileFields(json: string | undefined): Record<string, unknown> {
  try {
    const v: unknown = json ? JSON.parse(json) : {};
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : { unreadable: json };
  } catch {
    return { unreadable: json };
  }
}

/**
 * Whether going from one env file text to another changes only what a
 * running agent takes without a restart (issue #13: a submit_delay_ms change
 * restarted a busy agent and lost its task). A change of nothing at all (the
 * roster moved, the file was reformatted) is live too.
 */
export function liveChange(before: string, after: string): boolean {
  const a = parseEnvFile(before);
  const b = parseEnvFile(after);
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (a[key] === b[key] || LIVE_KEYS.has(key)) continue;
    if (key !== 'MOSAIC_AGENT_PROFILE') return false;
    const pa = profileFields(a[key]);
    const pb = profileFields(b[key]);
    for (const field of new Set([...Object.keys(pa), ...Object.keys(pb)])) {
      if (JSON.stringify(pa[field]) !== JSON.stringify(pb[field]) && !LIVE_PROFILE_FIELDS.has(field)) return false;
    }
  }
  return true;
}

/**
 * Desired agents against the env files apply wrote before (`current`) and the
 * hand-made ones (never touched): one action per roster agent in roster
 * order, then one per orphaned applied file by name. The reasons speak of a
 * plan (`will be written`) unless `done`: an apply that carried it out.
 */
export function planApply(roster: Roster, current: Map<string, string>, handMade: Set<string>, done = false): PlanAction[] {
  const actions: PlanAction[] = [];
  const wanted = new Set<string>();
  for (const agent of roster.agents) {
    wanted.add(agent.name);
    const file = `${agent.name}.env`;
    let kind: PlanAction['kind'];
    let reason: string;
    let live = false;
    if (handMade.has(agent.name)) {
      kind = 'unchanged';
      reason = `${file} was not written by apply and is left as it is (delete it to let the roster manage this agent)`;
    } else {
      const desired = renderEnvFile(agent, roster.file);
      const existing = current.get(agent.name);
      if (existing === undefined) {
        kind = 'create';
        reason = `new agent: ${file} ${done ? 'written' : 'will be written'}`;
      } else if (existing === desired) {
        kind = 'unchanged';
        reason = `${file} is up to date`;
      } else {
        kind = 'update';
        reason = `${file}: ${describeChange(existing, desired)}`;
        live = liveChange(existing, desired);
      }
    }
    if (!agent.enabled) {
      reason = `enabled: false in the roster; ${kind === 'unchanged' ? reason : `${kind}: ${reason}`}`;
      kind = 'disable';
      live = false;
    }
    actions.push({ kind, name: agent.name, reason, ...(live ? { live: true as const } : {}) });
  }
  for (const name of [...current.keys()].filter((n) => !wanted.has(n) && !handMade.has(n)).sort(byCodeUnit)) {
    actions.push({ kind: 'orphan', name, reason: `${name}.env was written by apply but ${name} is no longer in the roster (removed with --prune)` });
  }
  return actions;
}

/** Which keys differ between two env file texts, for an update's reason. */
function describeChange(before: string, after: string): string {
  const a = parseEnvFile(before);
  const b = parseEnvFile(after);
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort(byCodeUnit);
  const added = keys.filter((k) => !(k in a));
  const removed = keys.filter((k) => !(k in b));
  const changed = keys.filter((k) => k in a && k in b && a[k] !== b[k]);
  const parts: string[] = [];
  if (changed.length) parts.push(`changed ${changed.join(', ')}`);
  if (added.length) parts.push(`added ${added.join(', ')}`);
  if (removed.length) parts.push(`removed ${removed.join(', ')}`);
  if (parts.length > 0) return parts.join('; ');
  const firstLine = (t: string) => t.split('\n', 1)[0];
  if (firstLine(before) !== firstLine(after)) return 'written from another roster file';
  return 'edited by hand since apply wrote it (same values, different text)';
}
