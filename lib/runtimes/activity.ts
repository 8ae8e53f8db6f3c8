// An agent's activity state, read from its runtime profile's screen markers.
import { SHELL_NAMES, type Profile } from './profiles.js';
import { sleep } from '../core/poll.js';
import { bottomText, inputText } from './screen.js';

export type Activity = 'starting' | 'idle' | 'busy' | 'waiting-for-input' | 'error' | 'exited' | 'unknown';


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

/** Whether an agent's activity is read off its screen (not off its pane alone: exited, a shell's foreground). */
export function readsScreen(profile: Profile, pane: { dead: boolean }): boolean {
  return !pane.dead && profile.name !== 'shell';
}

/**
 * Each agent's activity once two polls in a row agree: one stale line, or a
 * screen caught mid-redraw, must not flip the state (docs/runtime-notes.md #12,
 * "require two consecutive polls"). `poll` reads the ones it is given (one
 * call for all of them); only those still changing are read again, every
 * `intervalMs`, up to `maxPolls` readings; one that never settles keeps its
 * last reading. `once` are read a single time: nothing on their screen counts.
 */
export async function settledActivities<K>(
  keys: K[],
  once: Set<K>,
  poll: (keys: K[]) => Promise<Map<K, Activity>>,
  opts: { intervalMs: number; maxPolls: number },
): Promise<Map<K, Activity>> {
  const settled = new Map<K, Activity>();
  let last = await poll(keys);
  let changing = keys.filter((k) => {
    if (once.has(k)) settled.set(k, last.get(k)!);
    return !once.has(k);
  });
  for (let n = 1; changing.length > 0; n++) {
    if (n >= opts.maxPolls) {
      for (const k of changing) settled.set(k, last.get(k)!);
      break;
    }
    await sleep(opts.intervalMs);
    const now = await poll(changing);
    changing = changing.filter((k) => {
      if (now.get(k) === last.get(k)) settled.set(k, now.get(k)!);
      return now.get(k) !== last.get(k);
    });
    last = now;
  }
  return settled;
}
