// Freeze a process without a signal: tmux sends SIGCONT to a pane process
// that SIGSTOP stopped, so a stopped runtime is simulated with the cgroup
// freezer instead (v1 here, cgroup.freeze on v2). Root only.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

const V1 = '/sys/fs/cgroup/freezer';
const V2 = '/sys/fs/cgroup';

/** Why freezing cannot work here, or undefined when it can. */
export function freezeUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'freezing a process with the cgroup freezer needs root';
  if (existsSync(join(V1, 'cgroup.procs')) || existsSync(join(V2, 'cgroup.subtree_control'))) return undefined;
  return 'no cgroup freezer on this machine';
}

/** Freeze `pid` (all its threads) until the returned function thaws it. */
export function freeze(pid: number): () => void {
  const v1 = existsSync(join(V1, 'cgroup.procs'));
  const root = v1 ? V1 : V2;
  const dir = join(root, `mf-freeze-${randomBytes(4).toString('hex')}`);
  const home = v1 ? undefined : readFileSync(`/proc/${pid}/cgroup`, 'utf8').match(/^0::(.*)$/m)?.[1];
  mkdirSync(dir);
  writeFileSync(join(dir, 'cgroup.procs'), String(pid));
  writeFileSync(join(dir, v1 ? 'freezer.state' : 'cgroup.freeze'), v1 ? 'FROZEN' : '1');
  return () => {
    writeFileSync(join(dir, v1 ? 'freezer.state' : 'cgroup.freeze'), v1 ? 'THAWED' : '0');
    writeFileSync(join(home ? join(V2, home) : root, 'cgroup.procs'), String(pid));
    rmdirSync(dir);
  };
}
