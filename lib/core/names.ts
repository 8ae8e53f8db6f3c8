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

/**
 * The edit distance between two names: insertions, deletions, substitutions
 * and swaps of two neighbouring characters each cost 1 (optimal string
 * alignment), so `stauts` is one step from `status`.
 */
export function editDistance(a: string, b: string): number {
  // d[i][j]: the distance between the first i characters of a and the first j of b.
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate `name` was most likely a typo of, for a "did you mean": at
 * most two edits away and fewer than half of `name`'s length (so a short name
 * is not matched by almost anything); the first of equally near ones.
 */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  // d < length / 2 is d <= ceil(length / 2) - 1 in whole numbers.
  let bestDistance = Math.min(2, Math.ceil(name.length / 2) - 1) + 1;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d > 0 && d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}
