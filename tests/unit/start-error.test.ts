// Why a start failed: recorded by start-agent-session, read back when systemctl fails.
import { test } from 'node:test';
import { scratchDir } from '../helpers/scratch.js';
import assert from 'node:assert/strict';

import { clearStartError, recordStartError, unitsFailure } from '../../lib/systemd/start-error.js';
import { Systemd } from '../../lib/systemd/systemd.js';

function runtimeEnv(): NodeJS.ProcessEnv {
  return { MOSAIC_FLEET_RUNTIME_DIR: scratchDir('mf-start-error-') };
}

/** A user manager that knows no unit's state (as when it does not answer). */
function noStates(env: NodeJS.ProcessEnv): Systemd {
  return Object.assign(new Systemd(env), { unitStates: () => Promise.reject(new Error('no manager')) });
}

test('a failed start is reported with the error the agent\'s own start wrote', async () => {
  const env = runtimeEnv();
  const since = Date.now();
  recordStartError('alpha', "start-agent-session: agent 'alpha' exited with status 127 right after it started\n", env);
  const err = await unitsFailure(noStates(env), 'start', ['mosaic-agent@alpha.service', 'mosaic-agent@beta.service'], 'Job failed', since, 'start agents');
  assert.equal(err.message, "could not start agents; the start said:\nalpha: start-agent-session: agent 'alpha' exited with status 127 right after it started");
  assert.equal(err.hint, 'fix it, then: mosaic-agent start alpha');
});

test('without a start error of its own, the failure names the units systemctl failed for and what it said', async () => {
  const env = runtimeEnv();
  recordStartError('alpha', 'old news', env);
  clearStartError('alpha', env);
  const err = await unitsFailure(noStates(env), 'start', ['mosaic-agent@alpha.service'], 'Job for mosaic-agent@alpha.service failed.\n', Date.now(), 'start agents');
  assert.match(err.message, /^could not start alpha: Job for mosaic-agent@alpha\.service failed\.$/);
  assert.match(err.hint ?? '', /systemctl --user status mosaic-agent@alpha\.service/);
});

test('a start error older than the call is not taken for its reason', async () => {
  const env = runtimeEnv();
  recordStartError('alpha', 'from an earlier start', env);
  const err = await unitsFailure(noStates(env), 'start', ['mosaic-agent@alpha.service'], 'Job failed', Date.now() + 60_000, 'start agents');
  assert.doesNotMatch(err.message, /earlier/);
});
