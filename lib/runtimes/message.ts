// The message rules, in one place: what agent-send delivers is exactly the
// text given, with two documented normalisations: CRLF (and lone CR) become
// LF, and one trailing newline is dropped (the submit key ends the message).
// Other control characters are refused unless asked for (controlProblem).

/** How a --from line is written unless the runtime's profile says otherwise; {sender} is the sender. */
export const DEFAULT_ATTRIBUTION = '[from {sender}]';

/** The attribution line put before a message sent with --from, after the profile's pattern. */
export function attributionLine(sender: string, pattern: string = DEFAULT_ATTRIBUTION): string {
  return pattern.replaceAll('{sender}', () => sender);
}

/** Normalise a message for delivery; see the module comment. */
export function normaliseMessage(text: string): string {
  const lf = text.replace(/\r\n?/g, '\n');
  return lf.endsWith('\n') ? lf.slice(0, -1) : lf;
}

/** The text to paste: the normalised message, after an attribution line (written after `pattern`) when `from` is given. */
export function composeMessage(text: string, from?: string, pattern?: string): string {
  const body = normaliseMessage(text);
  return from === undefined ? body : `${attributionLine(from, pattern)}\n${body}`;
}

// Control characters other than tab, LF and CR (which becomes LF): C0, DEL
// and C1. tmux up to 3.6 pastes them raw, and an ESC reaching a runtime is a
// key (it cancels a turn in several); tmux 3.7 turns them into visible `\033`
// text unless `paste-buffer -S`. Refusing them gives one behaviour on every
// tmux; --allow-control pastes them raw everywhere.
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]/;
const C0_NAMES = 'NUL SOH STX ETX EOT ENQ ACK BEL BS TAB LF VT FF CR SO SI DLE DC1 DC2 DC3 DC4 NAK SYN ETB CAN EM SUB ESC FS GS RS US'.split(' ');

/**
 * The first control character in `text` that a runtime could read as a key
 * (see CONTROL), named with its position, or undefined when there is none.
 */
export function controlProblem(text: string): string | undefined {
  const m = CONTROL.exec(text);
  if (!m) return undefined;
  const code = m[0].charCodeAt(0);
  const name = code < 0x20 ? `${C0_NAMES[code]} (0x${code.toString(16).padStart(2, '0')})` : code === 0x7f ? 'DEL (0x7f)' : `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  const before = text.slice(0, m.index);
  const line = before.split(/\r\n?|\n/).length;
  const column = m.index - Math.max(before.lastIndexOf('\n'), before.lastIndexOf('\r')) ;
  return `${name} at byte ${Buffer.byteLength(before) + 1} (line ${line}, column ${column})`;
}

/** Why a sender name cannot be used with --from, or undefined. */
export function senderProblem(sender: string): string | undefined {
  if (sender.trim() === '') return 'the sender is empty';
  if (/[\r\n]/.test(sender)) return 'the sender contains a line break';
  const control = controlProblem(sender);
  if (control) return `the sender holds a control character, ${control}`;
  if (sender.length > 200) return 'the sender is longer than 200 characters';
  return undefined;
}
