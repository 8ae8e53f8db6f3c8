// Transcripts people can read (issue #13). A transcript holds the raw bytes a
// pane printed: for a full-screen runtime such as pi, mostly escape codes that
// redraw the same few lines (~149 KB after three messages). Stripping the codes
// would leave every redraw in; a terminal emulator (@xterm/headless: no DOM,
// no dependencies) plays the bytes back as tmux did, and what is left on its
// screen and in its scrollback is what a person saw. It is loaded only by
// `mosaic-agent logs` (lib/cli/commands.ts imports this module with import()).
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import * as headless from '@xterm/headless';

// A webpack bundle marked __esModule: the CommonJS build sees its exports, but
// Node's ES module loader (the sources under tsx) finds only a default export.
const { Terminal } = 'Terminal' in headless ? headless : (headless as unknown as { default: typeof headless }).default;

export interface TermSize {
  cols: number;
  rows: number;
}

/** The pane size of an agent whose start line names none (MOSAIC_AGENT_WIDTH/HEIGHT's defaults). */
export const DEFAULT_TERM_SIZE: TermSize = { cols: 200, rows: 50 };

// The line lib/systemd/supervisor.ts writes before each start of the agent.
const MARKER = /\n(--- mosaic-fleet: agent [A-Za-z0-9_-]+ started [^\n]* ---)\n/g;
const MARKER_SIZE = /\bsize (\d+)x(\d+)\b/;
// Plenty for the 10 MiB a transcript holds at most; xterm allocates lines as they come.
const SCROLLBACK = 1_000_000;

/** One life of the agent: its start line (absent before the first one in the file) and what its pane printed. */
export interface TranscriptPart {
  marker?: string;
  bytes: Buffer;
}

/** Cut a raw transcript at its start lines. */
export function splitTranscript(raw: Buffer): TranscriptPart[] {
  // latin1 maps each byte to one character and back: the cut keeps every byte.
  const text = raw.toString('latin1');
  const parts: TranscriptPart[] = [];
  let from = 0;
  let marker: string | undefined;
  for (const m of text.matchAll(MARKER)) {
    if (m.index > from || marker !== undefined) parts.push({ marker, bytes: Buffer.from(text.slice(from, m.index), 'latin1') });
    marker = Buffer.from(m[1]!, 'latin1').toString('utf8');
    from = m.index + m[0].length;
  }
  parts.push({ marker, bytes: Buffer.from(text.slice(from), 'latin1') });
  return parts.filter((p) => p.marker !== undefined || p.bytes.length > 0);
}

/** The pane size a start line records, if it records one. */
export function markerSize(marker: string | undefined): TermSize | undefined {
  const m = marker === undefined ? null : MARKER_SIZE.exec(marker);
  return m ? { cols: Number(m[1]), rows: Number(m[2]) } : undefined;
}

/**
 * One life of an agent played back on a terminal the size of its pane.
 * What a program clears away (ED 2 or 3) or shows on the alternate screen is
 * kept, unless the program draws it again: pi clears screen and scrollback
 * now and then and redraws its whole conversation, which would otherwise
 * appear twice.
 */
export class TranscriptScreen {
  private readonly term: headless.Terminal;
  /** Everything shown up to the last clear, merged (see merge); undefined before the first. */
  private history: string[] | undefined;

  constructor(readonly size: TermSize) {
    this.term = new Terminal({ cols: size.cols, rows: size.rows, scrollback: SCROLLBACK, allowProposedApi: true });
    // Handlers run before xterm's own; false lets xterm's run too.
    this.term.parser.registerCsiHandler({ final: 'J' }, (params) => {
      // A full-screen program may clear its alternate screen at every frame: only what it showed last is kept.
      if ((params[0] === 2 || params[0] === 3) && this.term.buffer.active.type === 'normal') this.cleared();
      return false;
    });
    this.term.parser.registerCsiHandler({ prefix: '?', final: 'l' }, (params) => {
      if (this.term.buffer.active.type === 'alternate' && params.some((p) => p === 47 || p === 1047 || p === 1049)) {
        this.history = merge(this.history, this.shown());
      }
      return false;
    });
  }

  /** Play bytes of the pane's output. */
  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve) => this.term.write(bytes, resolve));
  }

  /** Everything the pane showed so far, as lines of text. */
  lines(): string[] {
    return tidy(merge(this.history, this.shown()));
  }

  private cleared(): void {
    const shown = this.shown();
    // ED 3 then ED 2 (or the reverse) is one clear: the second sees a part of what the first saw.
    if (this.history && endsWith(this.history, shown)) return;
    this.history = merge(this.history, shown);
  }

  /** The normal screen with its scrollback, and the alternate screen while it is shown. */
  private shown(): string[] {
    const normal = bufferLines(this.term.buffer.normal);
    return this.term.buffer.active.type === 'alternate' ? [...normal, ...bufferLines(this.term.buffer.alternate)] : normal;
  }
}

/**
 * What was shown before a clear, then what is shown after it. The lines both
 * begin with are the same lines drawn again; of the rest of the earlier lines,
 * those drawn again further down (a redrawn input box or status line) are
 * dropped, and the others (what a clear took away for good) kept.
 */
function merge(before: string[] | undefined, after: string[]): string[] {
  if (!before) return after;
  const same = commonPrefix(before, after);
  const again = new Set(after.slice(same));
  return [...before.slice(0, same), ...before.slice(same).filter((l) => l !== '' && !again.has(l)), ...after.slice(same)];
}

/** A buffer's lines, scrollback included, wrapped lines joined, trailing blanks dropped. */
function bufferLines(buffer: headless.IBuffer): string[] {
  const out: string[] = [];
  for (let i = 0; i < buffer.length; i++) {
    const line = buffer.getLine(i);
    if (!line) continue;
    const text = line.translateToString(true);
    if (line.isWrapped && out.length > 0) out[out.length - 1] += text;
    else out.push(text);
  }
  for (let i = 0; i < out.length; i++) out[i] = out[i]!.trimEnd();
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}

/** Blank lines at either end dropped, and runs of them made one. */
function tidy(lines: string[]): string[] {
  const out: string[] = [];
  for (const l of lines) if (l !== '' || (out.length > 0 && out[out.length - 1] !== '')) out.push(l);
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}

/** How many lines two lists begin with in common. */
function commonPrefix(a: string[], b: string[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

/** Lines as text, each ending in a newline. */
function text(lines: string[]): string {
  return lines.map((l) => `${l}\n`).join('');
}

function endsWith(all: string[], tail: string[]): boolean {
  return tail.length <= all.length && tail.every((l, i) => all[all.length - tail.length + i] === l);
}

/** A raw transcript as readable lines: each life after its start line. */
export async function renderTranscript(raw: Buffer, fallback: TermSize = DEFAULT_TERM_SIZE): Promise<string[]> {
  const { lines, last } = await playTranscript(raw, fallback);
  return [...lines, ...last.lines()];
}

/** Play a raw transcript: the lines of every life but the last, and the screen of the last (live, for following). */
async function playTranscript(raw: Buffer, fallback: TermSize): Promise<{ lines: string[]; last: TranscriptScreen }> {
  const parts = splitTranscript(raw);
  // Output before the first start line (the rest of a rotated life) most likely had the size of the next.
  const firstSize = parts.map((p) => markerSize(p.marker)).find((s) => s !== undefined) ?? fallback;
  const lines: string[] = [];
  let last = new TranscriptScreen(firstSize);
  for (const [i, part] of parts.entries()) {
    if (part.marker !== undefined) {
      lines.push(part.marker);
      last = new TranscriptScreen(markerSize(part.marker) ?? fallback);
    } else if (i > 0) {
      last = new TranscriptScreen(firstSize);
    }
    await last.write(part.bytes);
    if (i < parts.length - 1) lines.push(...last.lines());
  }
  return { lines, last };
}

/** How often a followed transcript is looked at (ms). */
const FOLLOW_INTERVAL_MS = 250;

/**
 * Print a transcript's last `tail` lines, then what the agent prints from
 * then on, until the process is ended. New lines are printed once the pane
 * has been quiet for a moment; a line the program redraws after it was
 * printed (an input box, a status line) is printed again, below.
 */
export async function followTranscript(file: string, tail: number, write: (text: string) => void, fallback: TermSize = DEFAULT_TERM_SIZE): Promise<never> {
  let offset = size(file);
  const { lines, last } = await playTranscript(Buffer.concat([readRange(`${file}.1`, 0), readRange(file, 0, offset)]), fallback);
  let screen = last;
  let shown = screen.lines();
  const all = [...lines, ...shown];
  if (tail > 0) write(text(all.slice(-tail)));
  let held = Buffer.alloc(0);
  let dirty = false;
  for (;;) {
    await new Promise((r) => setTimeout(r, FOLLOW_INTERVAL_MS));
    const now = size(file);
    let fresh: Buffer;
    if (now < offset) {
      // Rotated (lib/tmux/agent-logger.sh): what came after our offset went to FILE.1 before FILE was emptied.
      fresh = Buffer.concat([readRange(`${file}.1`, offset), readRange(file, 0, now)]);
    } else {
      fresh = readRange(file, offset, now);
    }
    offset = now;
    if (fresh.length === 0 && held.length === 0) {
      if (dirty) {
        const next = screen.lines();
        write(text(next.slice(commonPrefix(shown, next))));
        shown = next;
        dirty = false;
      }
      continue;
    }
    let data = Buffer.concat([held, fresh]);
    // A start line may be cut by the read: hold back a last line that may be the beginning of one.
    const lastNewline = data.lastIndexOf(0x0a);
    const rest = lastNewline >= 0 ? data.subarray(lastNewline + 1).toString('latin1') : '';
    if (fresh.length > 0 && lastNewline >= 0 && rest.length > 0 && '--- mosaic-fleet: agent '.startsWith(rest.slice(0, 24)) && !rest.includes('\n')) {
      held = Buffer.from(data.subarray(lastNewline));
      data = data.subarray(0, lastNewline);
    } else {
      held = Buffer.alloc(0);
    }
    for (const part of splitTranscript(data)) {
      if (part.marker !== undefined) {
        const next = screen.lines();
        write(text([...next.slice(commonPrefix(shown, next)), part.marker]));
        screen = new TranscriptScreen(markerSize(part.marker) ?? screen.size);
        shown = [];
      }
      await screen.write(part.bytes);
    }
    dirty = true;
  }
}

function size(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** Bytes `from` up to `to` (default: the end) of a file; none if it is not there. */
function readRange(file: string, from: number, to?: number): Buffer {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return Buffer.alloc(0);
  }
  try {
    const end = to ?? statSync(file).size;
    if (end <= from) return Buffer.alloc(0);
    const buf = Buffer.alloc(end - from);
    const n = readSync(fd, buf, 0, buf.length, from);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}
