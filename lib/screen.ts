// Reading a runtime's screen: whether typed input is still waiting to be
// submitted, and which activity state the bottom of the screen shows. Pure
// functions over captured screens, so they are tested against screens
// captured from the real programs (tests/fixtures/screens).
import type { Profile } from './profiles.js';
import type { Screen } from './tmux.js';

// A horizontal rule as pi draws above and below its editor: a line starting
// with box-drawing dashes (it may carry a label such as `─── ↑ 3 more`).
const RULE = /^\s*[─━]{3,}/;

/** The text inside the last rule-framed box on the screen (pi's input editor), or undefined. */
export function inputBoxText(lines: string[]): string | undefined {
  let bottom = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (RULE.test(lines[i]!)) {
      if (bottom === -1) bottom = i;
      else return lines.slice(i + 1, bottom).map((l) => l.trim()).join('\n').trim();
    }
  }
  return undefined;
}

/**
 * Whether the input the paste left is still waiting after the submit key.
 * `box`: the editor box still holds text. `cursor-line`: the cursor is still
 * on the same line showing the same text as before the key.
 */
export function inputPending(profile: Profile, beforeKey: Screen, now: Screen): boolean {
  if (profile.input === 'box') {
    const text = inputBoxText(now.lines);
    if (text !== undefined) return text !== '';
  }
  return now.cursorY === beforeKey.cursorY && now.lines[now.cursorY] === beforeKey.lines[beforeKey.cursorY];
}

/**
 * Whether the runtime is ready for input: for `box` runtimes, its editor box
 * is drawn; for line-oriented ones, something (a prompt) is on the screen.
 */
export function inputReady(profile: Profile, screen: Screen): boolean {
  if (profile.input === 'box') return inputBoxText(screen.lines) !== undefined;
  return screen.lines.some((l) => l.trim() !== '');
}
