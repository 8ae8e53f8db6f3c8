// What an agent name may be. The name becomes a tmux session name and a
// systemd instance name; tmux rewrites `.` and `:` in session names and treats
// them as target separators, systemd escapes `/`, `@` and spaces, and a name
// starting with `-` reads as a flag. We refuse all of those at the door rather
// than let two layers disagree about which agent a name means.
import { UsageError } from './errors.js';

export const MAX_NAME_LENGTH = 64;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/** Why `name` cannot be an agent name, or undefined when it can. */
export function nameProblem(name: string): string | undefined {
  if (name === '') return 'the name is empty';
  if (name.length > MAX_NAME_LENGTH) return `the name is longer than ${MAX_NAME_LENGTH} characters`;
  if (!NAME_RE.test(name)) {
    const bad = [...name].find((c, i) => !/[A-Za-z0-9_-]/.test(c) || (i === 0 && !/[A-Za-z0-9]/.test(c)));
    const shown = bad === ' ' ? 'a space' : bad === undefined ? 'it' : JSON.stringify(bad);
    return `${shown} is not allowed (use letters, digits, '_' and '-', starting with a letter or digit)`;
  }
  return undefined;
}

/** Throw a usage error unless `name` can be an agent name. */
export function checkAgentName(name: string | undefined): string {
  if (name === undefined) throw new UsageError('no agent name given', 'pass the agent name as the first argument');
  const problem = nameProblem(name);
  if (problem) throw new UsageError(`invalid agent name ${JSON.stringify(name)}: ${problem}`);
  return name;
}
