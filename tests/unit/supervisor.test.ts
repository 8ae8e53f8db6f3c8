// The supervisor's own TMPDIR for a runtime that leaves what it unpacks
// (lib/systemd/supervisor.ts ownTmpDir), on a real directory.
import { test } from 'node:test';
import { scratchDir } from '../helpers/scratch.js';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ownTmpDir } from '../../lib/systemd/supervisor.js';

test("an agent's own TMPDIR is made under the state dir, mode 0700, and a new run finds only what is not a run's unpacked library", () => {
  const state = scratchDir('mf-own-tmp-');
  const env = { MOSAIC_FLEET_STATE_DIR: state };
  const dir = ownTmpDir('oc', env);
  assert.equal(dir, join(state, 'tmp', 'oc'));
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  // What a killed opencode (Bun) left, and what the agent itself left.
  const left = ['.9afff9fdebe6ff97-00000000.so', '.bcfdfdffbefff2fe-00000001.so'];
  const kept = ['notes.txt', '.hidden.so', 'lib.so', '.9afff9fdebe6ff97-00000000.so.partial'];
  for (const f of [...left, ...kept]) writeFileSync(join(dir, f), 'x');
  mkdirSync(join(dir, 'build'));
  assert.equal(ownTmpDir('oc', env), dir);
  assert.deepEqual(readdirSync(dir).sort(), [...kept, 'build'].sort());
  // Another agent's directory is its own.
  writeFileSync(join(dir, left[0]!), 'x');
  ownTmpDir('other', env);
  assert.ok(readdirSync(dir).includes(left[0]!));
});
