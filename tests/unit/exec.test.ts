// Running a child process: what comes back when it ends before reading its input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exec, execBlocking } from '../../lib/exec.js';

// More than a pipe holds, so the write meets a closed pipe (EPIPE) every time.
const INPUT = 'x'.repeat(1 << 20);
const QUITTER = ['sh', '-c', 'echo gone >&2; exit 3'];

test('a child that exits without reading its input reports its own exit code and stderr, blocking or not', async () => {
  for (const r of [execBlocking(QUITTER, { input: INPUT }), await exec(QUITTER, { input: INPUT })]) {
    assert.deepEqual([r.code, r.stderr, r.timedOut], [3, 'gone\n', false]);
  }
});

test('a program that cannot be started is exit -1 with the reason', () => {
  const r = execBlocking(['/nonexistent/program']);
  assert.equal(r.code, -1);
  assert.match(r.stderr, /ENOENT/);
});
