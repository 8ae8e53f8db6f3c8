// An agent's activity state, read from its runtime profile's screen markers.
import type { Profile } from './profiles.js';
import { inputBoxText } from './screen.js';

export type Activity = 'starting' | 'idle' | 'busy' | 'waiting-for-input' | 'exited' | 'unknown';

const SHELLS = new Set(['bash', 'zsh', 'sh', 'dash', 'fish', 'ksh', 'mksh', 'tcsh', 'csh']);

/**
 * The state the bottom of an agent's screen shows. Only the last lines count:
 * scrollback above can hold stale markers (runtime-notes, "Stale scrollback").
 */
export function activityOf(profile: Profile, pane: { dead: boolean; currentCommand: string }, lines: string[]): Activity {
  if (pane.dead) return 'exited';
  if (profile.name === 'shell') return SHELLS.has(pane.currentCommand) ? 'idle' : 'busy';
  const bottom = trimBlank(lines).slice(-15).join('\n');
  if (profile.markers.approval.some((m) => bottom.includes(m))) return 'waiting-for-input';
  if (profile.markers.busy.some((m) => bottom.includes(m))) return 'busy';
  if (profile.input === 'box') return inputBoxText(lines) === undefined ? 'starting' : 'idle';
  if (profile.markers.idle.some((m) => bottom.includes(m))) return 'idle';
  return 'unknown';
}

function trimBlank(lines: string[]): string[] {
  let end = lines.length;
  while (end > 0 && lines[end - 1]!.trim() === '') end--;
  return lines.slice(0, end);
}
