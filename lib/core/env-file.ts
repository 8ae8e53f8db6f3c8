// Env files as systemd reads them (EnvironmentFile=): the agents' own, which
// apply writes, and fleet.env. Here, below everything, because the fleet's
// long-lived dispatcher reads them without the roster's YAML parser.
import { readFileSync } from 'node:fs';
import { FleetError } from './errors.js';

/**
 * Parse an env file as systemd's EnvironmentFile= does (src/basic/env-file.c,
 * v247 and later; documented in systemd.exec(5)): `#`/`;` comment lines, lines
 * without `=` ignored, unquoted values trimmed with `\` escaping the next
 * character (and `\` + newline continuing the line), '…' verbatim,
 * "…" with `\"` `\\` `` \` `` `\$` unescaped and other backslashes kept,
 * quoted parts joined to what follows them, CR ending a line like LF, and
 * the last assignment of a key winning. No `$VAR` expansion: systemd does none.
 */
export function parseEnvFile(text: string): Record<string, string> {
  const NEWLINE = '\n\r';
  const WHITESPACE = ' \t\n\r';
  const SHELL_NEED_ESCAPE = '"\\`$';
  type State = 'preKey' | 'key' | 'preValue' | 'value' | 'valueEscape' | 'single' | 'double' | 'doubleEscape' | 'comment' | 'commentEscape';

  const out: Record<string, string> = {};
  let state: State = 'preKey';
  let key = '';
  let value = '';
  // Where trailing whitespace starts, so it can be cut off (-1: none pending).
  let keyWs = -1;
  let valueWs = -1;

  const push = (trimValue: boolean) => {
    const k = keyWs >= 0 ? key.slice(0, keyWs) : key;
    const v = trimValue && valueWs >= 0 ? value.slice(0, valueWs) : value;
    delete out[k]; // the last assignment wins and is listed last, as in systemd
    out[k] = v;
    key = '';
    value = '';
  };

  // By index, not for-of: the dispatcher runs without a JIT, and there each
  // step of a string's iterator allocates a result object (~40 bytes a
  // character for every notification). Only ASCII is special here, so UTF-16
  // units do what code points did.
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    switch (state) {
      case 'preKey':
        if (c === '#' || c === ';') state = 'comment';
        else if (!WHITESPACE.includes(c)) {
          state = 'key';
          keyWs = -1;
          key = c;
        }
        break;
      case 'key':
        if (NEWLINE.includes(c)) {
          state = 'preKey';
          key = '';
        } else if (c === '=') {
          state = 'preValue';
          valueWs = -1;
        } else {
          if (!WHITESPACE.includes(c)) keyWs = -1;
          else if (keyWs < 0) keyWs = key.length;
          key += c;
        }
        break;
      case 'preValue':
        if (NEWLINE.includes(c)) {
          state = 'preKey';
          push(false);
        } else if (c === "'") state = 'single';
        else if (c === '"') state = 'double';
        else if (c === '\\') state = 'valueEscape';
        else if (!WHITESPACE.includes(c)) {
          state = 'value';
          value += c;
        }
        break;
      case 'value':
        if (NEWLINE.includes(c)) {
          state = 'preKey';
          push(true);
        } else if (c === '\\') {
          state = 'valueEscape';
          valueWs = -1;
        } else {
          if (!WHITESPACE.includes(c)) valueWs = -1;
          else if (valueWs < 0) valueWs = value.length;
          value += c;
        }
        break;
      case 'valueEscape':
        state = 'value';
        if (!NEWLINE.includes(c)) value += c;
        break;
      case 'single':
        if (c === "'") state = 'preValue';
        else value += c;
        break;
      case 'double':
        if (c === '"') state = 'preValue';
        else if (c === '\\') state = 'doubleEscape';
        else value += c;
        break;
      case 'doubleEscape':
        state = 'double';
        if (SHELL_NEED_ESCAPE.includes(c)) value += c;
        else if (c !== '\n') value += `\\${c}`;
        break;
      case 'comment':
        if (c === '\\') state = 'commentEscape';
        else if (NEWLINE.includes(c)) state = 'preKey';
        break;
      case 'commentEscape':
        // Since v254 a backslash at the end of a comment no longer continues it.
        state = NEWLINE.includes(c) ? 'preKey' : 'comment';
        break;
    }
  }
  if (state === 'value') push(true);
  else if (state === 'preValue' || state === 'valueEscape' || state === 'single' || state === 'double' || state === 'doubleEscape') push(false);
  return out;
}

/** The values of an env file as systemd reads them; a missing file has none. */
export function readEnvValues(file: string): Record<string, string> {
  try {
    return parseEnvFile(readFileSync(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new FleetError(`cannot read ${file}: ${(err as Error).message}`, `chmod 600 ${file}`);
  }
}
