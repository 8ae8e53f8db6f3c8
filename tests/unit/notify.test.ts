// The notifier on its own: events handed to it directly, systemd's answers
// from a recorder, and a real notifier command (a tiny script) that notes
// what it was told.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Notifier, UNIT_LOOK_MS } from '../../lib/dispatch/notify.js';
import { agentEnvFile } from '../../lib/core/paths.js';
import { scratchDir } from '../helpers/scratch.js';
import { waitFor } from '../helpers/fleet.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

test('agents that end by themselves together have their units looked at in one call, after the restart delay', async () => {
  const dir = scratchDir('mf-notify-');
  const env = { HOME: dir, MOSAIC_FLEET_CONFIG_DIR: join(dir, 'config'), MOSAIC_FLEET_RUNTIME_DIR: join(dir, 'run'), MOSAIC_NOTIFY_SETTLE_MS: '0' };
  const notes = join(dir, 'notes');
  const script = join(dir, 'notifier.sh');
  writeFileSync(script, `#!/bin/sh\necho "$MOSAIC_EVENT $MOSAIC_AGENT" >> ${notes}\n`, { mode: 0o755 });
  const agents = ['a1', 'a2', 'a3'];
  for (const a of agents) {
    mkdirSync(join(agentEnvFile(a, env), '..'), { recursive: true });
    writeFileSync(agentEnvFile(a, env), `MOSAIC_AGENT_NOTIFY='${JSON.stringify({ failed: { command: [script] } })}'\n`);
  }
  const looks: Array<{ agents: string[]; ms: number }> = [];
  const t0 = Date.now();
  const notifier = new Notifier({
    env,
    log: () => undefined,
    unitStates: async (asked) => {
      looks.push({ agents: asked, ms: Date.now() - t0 });
      return new Map(asked.map((a) => [a, a === 'a2' ? 'failed' : 'activating']));
    },
  });
  try {
    // As when their tmux server dies: every agent's `exited` within a moment.
    for (const a of agents) {
      notifier.onEvents(a, [{ ts: Date.now(), agent: a, kind: 'exited', via: 'fleet', data: { reason: 'ended by itself' } }]);
      await sleep(20);
    }
    await waitFor(() => existsSync(notes) && readFileSync(notes, 'utf8').includes('failed a2'), { what: "a2's failed notification", timeoutMs: UNIT_LOOK_MS + 5000 });
    await sleep(500);
    assert.deepEqual(looks.map((l) => l.agents), [agents]);
    assert.ok(looks[0]!.ms >= UNIT_LOOK_MS + 2 * 20, `looked at ${looks[0]!.ms} ms, before the last agent's restart delay had passed`);
    await notifier.settled();
    assert.equal(readFileSync(notes, 'utf8'), 'failed a2\n');
  } finally {
    notifier.close();
  }
});
