// Why a start failed: recorded by start-agent-session, read back when systemctl fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clearStartError, recordStartError, startFailure } from '../../lib/systemd/start-error.js';

function runtimeEnv(): NodeJS.ProcessEnv {
  return { MOSAIC_FLEET_RUNTIME_DIR: mkdtempSync(join(tmpdir(), 'mf-start-error-')) };
}

test('a failed start is reported with the error the agent\'s own start wrote', () => {
  const env = runtimeEnv();
  const since = Date.now();
  recordStartError('alpha', "start-agent-session: agent 'alpha' exited with status 127 right after it started\n", env);
  const err = startFailure('start agents', ['mosaic-agent@alpha.service', 'mosaic-agent@beta.service'], 'Job failed', since, env);
  assert.equal(err.message, "could not start agents; the start said:\nalpha: start-agent-session: agent 'alpha' exited with status 127 right after it started");
  assert.equal(err.hint, 'fix it, then: mosaic-agent start alpha');
});

test('without a start error of its own, the failure says what systemctl said', () => {
  const env = runtimeEnv();
  recordStartError('alpha', 'old news', env);
  clearStartError('alpha', env);
  const err = startFailure('start agents', ['mosaic-agent@alpha.service'], 'Job for mosaic-agent@alpha.service failed.\n', Date.now(), env);
  assert.match(err.message, /^systemctl could not start agents: Job for mosaic-agent@alpha\.service failed\.$/);
  assert.match(err.hint ?? '', /systemctl --user status mosaic-agent@alpha\.service/);
});

test('a start error older than the call is not taken for its reason', () => {
  const env = runtimeEnv();
  recordStartError('alpha', 'from an earlier start', env);
  const err = startFailure('start agents', ['mosaic-agent@alpha.service'], 'Job failed', Date.now() + 60_000, env);
  assert.doesNotMatch(err.message, /earlier/);
});
