// Per-agent send lock: two senders' paste/Enter pairs must never interleave,
// or one Enter submits both messages merged (docs/runtime-notes.md #6). A lock file
// created with O_EXCL holds the owner's pid; a lock whose owner is gone (a
// sender killed mid-send) is taken over instead of blocking the agent forever.
import { mkdirSync, openSync, closeSync, linkSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { FleetError } from '../core/errors.js';
import { isAlive } from '../core/exec.js';
import { pollUntil } from '../core/poll.js';

const POLL_MS = 5;

function ownerOf(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function tryAcquire(path: string, token: string): boolean {
  try {
    const fd = openSync(path, 'wx', 0o600);
    writeSync(fd, token);
    closeSync(fd);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const owner = ownerOf(path);
    // No readable owner yet (it is being written) or a live owner: wait. A dead owner: take over.
    if (owner !== undefined && !isAlive(owner)) removeStale(path, owner);
    return false;
  }
}

/**
 * Remove a lock left by a dead owner. Two waiters can see the same stale lock;
 * the file is moved aside first (atomic), so the slower one cannot delete a
 * lock the faster one has just taken: if what it moved aside is not the stale
 * lock, it puts it back (link fails only if yet another lock took its place).
 */
function removeStale(path: string, deadOwner: number): void {
  const aside = `${path}.stale-${process.pid}`;
  try {
    renameSync(path, aside);
  } catch {
    return; // someone else moved it already
  }
  if (ownerOf(aside) !== deadOwner) {
    try {
      linkSync(aside, path);
    } catch {
      // a newer lock holds the place
    }
  }
  unlinkQuietly(aside);
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/** Run `fn` holding the lock at `path`; fail after `timeoutMs` with `busyMessage`. */
export async function withLock<T>(path: string, timeoutMs: number, busyMessage: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const token = `${process.pid}\n`;
  // Jittered, so senders that met at a lock do not keep meeting.
  if (!(await pollUntil(() => (tryAcquire(path, token) ? true : undefined), Date.now() + timeoutMs, () => POLL_MS + Math.random() * POLL_MS))) {
    const owner = ownerOf(path);
    throw new FleetError(`${busyMessage}${owner ? ` (lock held by pid ${owner})` : ''}`, `try again, or raise --timeout; the lock is ${path}`);
  }
  try {
    return await fn();
  } finally {
    // Release only our own lock (a stale-lock takeover may have replaced it).
    try {
      if (readFileSync(path, 'utf8') === token) unlinkQuietly(path);
    } catch {
      // already gone
    }
  }
}
