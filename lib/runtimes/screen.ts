// Reading a runtime's screen: whether typed input is still waiting to be
// submitted, and which activity state the bottom of the screen shows. Pure
// functions over captured screens, so they are tested against screens
// captured from the real programs (tests/fixtures/screens).
import type { InputArea, Profile } from './profiles.js';
import type { Screen } from '../tmux/tmux.js';

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

function withoutPlaceholder(text: string, placeholder: string | undefined): string {
  return placeholder && text.startsWith(placeholder) ? '' : text;
}

/**
 * The input the runtime holds and has not submitted ('' when empty), or
 * undefined when its input area is not on the screen (still starting, or a
 * dialog covers it). Undefined for `cursor-line` runtimes, which show no area.
 */
export function inputText(area: InputArea, lines: string[]): string | undefined {
  switch (area.kind) {
    case 'box': {
      const text = inputBoxText(lines);
      if (text === undefined) return undefined;
      const bare = area.prompt && text.startsWith(area.prompt) ? text.slice(area.prompt.length).trim() : text;
      return withoutPlaceholder(bare, area.placeholder);
    }
    case 'line': {
      let top = -1;
      if (area.belowRule) {
        top = lines.length - 1;
        while (top >= 0 && !RULE.test(lines[top]!)) top--;
        if (top < 0) return undefined;
      }
      for (let i = lines.length - 1; i > top; i--) {
        const t = lines[i]!.trim();
        const prompt = area.prompts.find((p) => t === p || t.startsWith(`${p} `) || t.startsWith(`${p}\u00a0`));
        if (prompt) return withoutPlaceholder(t.slice(prompt.length).trim(), area.placeholder);
      }
      return undefined;
    }
    case 'bar': {
      let end = lines.length - 1;
      while (end >= 0 && !lines[end]!.trim().startsWith(area.bar)) end--;
      if (end < 0) return undefined;
      let start = end;
      while (start > 0 && lines[start - 1]!.trim().startsWith(area.bar)) start--;
      const body = lines.slice(start, end + 1 - area.footerLines).map((l) => l.trim().slice(area.bar.length).trim());
      return withoutPlaceholder(body.join('\n').trim(), area.placeholder);
    }
    case 'cursor-line':
      return undefined;
  }
}

/**
 * What the screen says, after the submit key, of the input the paste left:
 * `pending` while it is still there; `taken` once the input area is back and
 * empty, or the runtime shows it is working on it or asking about it;
 * `unknown` while the input area is not on the screen at all (a redraw, a
 * dialog): not proof that it was taken. `cursor-line`: pending while the
 * cursor is on the same line showing the same text as before the key.
 */
export function submitState(profile: Profile, beforeKey: Screen, now: Screen): 'pending' | 'taken' | 'unknown' {
  if (profile.input.kind === 'cursor-line') {
    const same = now.cursorY === beforeKey.cursorY && now.lines[now.cursorY] === beforeKey.lines[beforeKey.cursorY];
    return same ? 'pending' : 'taken';
  }
  const text = inputText(profile.input, now.lines);
  if (text !== undefined) return text === '' ? 'taken' : 'pending';
  const bottom = bottomText(now.lines);
  return [...profile.markers.busy, ...profile.markers.approval].some((m) => bottom.includes(m)) ? 'taken' : 'unknown';
}

/**
 * Whether the runtime is ready for input: its input area is drawn, or for
 * line-oriented runtimes, something (a prompt) is on the screen.
 */
export function inputReady(profile: Profile, screen: Screen): boolean {
  if ((profile.markers.startingLines ?? []).some((x) => screen.lines.some((l) => l.trim() === x))) return false;
  if (profile.input.kind !== 'cursor-line') return inputText(profile.input, screen.lines) !== undefined;
  return screen.lines.some((l) => l.trim() !== '');
}

/**
 * The last `n` lines of a screen that has text, trailing blank lines dropped:
 * where state markers count. Scrollback above can hold stale markers
 * (docs/runtime-notes.md #12), so the rest is ignored.
 */
export function bottomText(lines: string[], n = 25): string {
  let end = lines.length;
  while (end > 0 && lines[end - 1]!.trim() === '') end--;
  return lines.slice(Math.max(0, end - n), end).join('\n');
}
