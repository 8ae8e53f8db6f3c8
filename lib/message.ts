// The message rules, in one place: what agent-send delivers is exactly the
// text given, with two documented normalisations: CRLF (and lone CR) become
// LF, and one trailing newline is dropped (the submit key ends the message).

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

/** Why a sender name cannot be used with --from, or undefined. */
export function senderProblem(sender: string): string | undefined {
  if (sender.trim() === '') return 'the sender is empty';
  if (/[\r\n]/.test(sender)) return 'the sender contains a line break';
  if (sender.length > 200) return 'the sender is longer than 200 characters';
  return undefined;
}
