// Reading an agent's event log from its end (lib/events/event-log.ts):
// status and the waits read only what they need, whatever the lines' sizes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allEvents, appendEvent, currentRun, lastEvents, replyOf } from '../../lib/events/event-log.js';

function withState(fn: (env: NodeJS.ProcessEnv) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'mf-evlog-'));
  try {
    fn({ MOSAIC_FLEET_STATE_DIR: dir });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the last events and the current run come back whole, oldest first, across lines longer than a read', () =>
  withState((env) => {
    appendEvent('a', 'started', 'fleet', { hooks: 'pi' }, env);
    appendEvent('a', 'idle', 'pi:agent_end', { last_assistant_message: 'old' }, env);
    appendEvent('a', 'started', 'fleet', { hooks: 'pi' }, env);
    const big = 'x'.repeat(50_000);
    appendEvent('a', 'busy', 'pi:agent_start', null, env);
    appendEvent('a', 'idle', 'pi:agent_end', { last_assistant_message: big }, env);
    appendEvent('a', 'busy', 'pi:agent_start', null, env);
    const last = lastEvents('a', 2, env);
    assert.deepEqual(last.map((e) => e.kind), ['idle', 'busy']);
    assert.equal(replyOf(last[0]!), big);
    const run = currentRun('a', env);
    assert.deepEqual(run.map((e) => `${e.kind}:${e.via}`), ['started:fleet', 'busy:pi:agent_start', 'idle:pi:agent_end', 'busy:pi:agent_start']);
    assert.equal(lastEvents('a', 100, env).length, 6);
    assert.equal(allEvents('a', env).length, 6);
    assert.deepEqual(lastEvents('nobody', 3, env), []);
    assert.deepEqual(currentRun('nobody', env), []);
  }));
