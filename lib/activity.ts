// An agent's activity state, read from its runtime profile's screen markers.
import { SHELL_NAMES, type Profile } from './profiles.js';
import { bottomText, inputText } from './screen.js';

export type Activity = 'starting' | 'idle' | 'busy' | 'waiting-for-input' | 'exited' | 'unknown';


/** The state the bottom of an agent's screen (see bottomText) and its pane title show. */
export function activityOf(profile: Profile, pane: { dead: boolean; currentCommand: string; title?: string }, lines: string[]): Activity {
  if (pane.dead) return 'exited';
  if (profile.name === 'shell') return SHELL_NAMES.has(pane.currentCommand) ? 'idle' : 'busy';
  const bottom = bottomText(lines);
  const title = pane.title ?? '';
  const m = profile.markers;
  if (m.approval.some((x) => bottom.includes(x)) || (m.titleApproval ?? []).some((x) => title.includes(x))) return 'waiting-for-input';
  if (m.busy.some((x) => bottom.includes(x)) || (m.titleBusy ?? []).some((x) => title.includes(x))) return 'busy';
  if ((m.startingLines ?? []).some((x) => lines.some((l) => l.trim() === x))) return 'starting';
  if (profile.input.kind !== 'cursor-line') return inputText(profile.input, lines) === undefined ? 'starting' : 'idle';
  if (m.idle.some((x) => bottom.includes(x))) return 'idle';
  return 'unknown';
}
