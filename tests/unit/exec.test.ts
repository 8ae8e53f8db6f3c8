// Running a child process: what comes back when it ends before reading its input, and how a failure is described.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeFailure, exec, execBlocking } from '../../lib/core/exec.js';

// More than a pipe holds, so the write meets a closed pipe (EPIPE) every time.
const INPUT = 'x'.repeat(1 << 20);
const QUITTER = ['sh', '-c', 'echo gone >&2; exit 3'];

test('a child that exits without reading its input reports its own exit code and stderr, blocking or not', async () => {
  for (const r of [execBlocking(QUITTER, { input: INPUT, env: process.env }), await exec(QUITTER, { input: INPUT, env: process.env })]) {
    assert.deepEqual([r.code, r.stderr, r.timedOut], [3, 'gone\n', false]);
  }
});

test('a program that cannot be started is exit -1 with the reason', () => {
  const r = execBlocking(['/nonexistent/program'], { env: process.env });
  assert.equal(r.code, -1);
  assert.match(r.stderr, /ENOENT/);
});

test('a failed command is described the same way whatever ran it: could not start, exit code, signal, time-out', async () => {
  const missing = ['/nonexistent/tool', 'x'];
  assert.match(describeFailure(missing, await exec(missing, { env: process.env })), /^\/nonexistent\/tool x could not start: .*ENOENT/);
  const failing = ['sh', '-c', 'echo first >&2; echo why >&2; exit 4'];
  assert.equal(describeFailure(failing, await exec(failing, { env: process.env })), 'sh -c echo first >&2; echo why >&2; exit 4 failed with exit code 4: first; why');
  const killed = ['sh', '-c', 'kill -TERM $$'];
  assert.match(describeFailure(killed, await exec(killed, { env: process.env })), /was killed by SIGTERM$/);
  const slow = ['sleep', '5'];
  assert.equal(describeFailure(slow, await exec(slow, { timeoutMs: 50, env: process.env }), 50), 'sleep 5 timed out after 50 ms');
  const blocking = execBlocking(killed, { env: process.env });
  assert.match(describeFailure(killed, blocking), /was killed by SIGTERM$/);
});
