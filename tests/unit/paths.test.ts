import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runtimeDir } from '../../lib/core/paths.js';

const uid = process.getuid!();

/** A scratch machine: `run` stands for /run/user, `tmp` for /tmp. */
function host(t: { after: (fn: () => void) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'mf-paths-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const run = join(dir, 'run');
  const tmp = join(dir, 'tmp');
  mkdirSync(run);
  mkdirSync(tmp);
  return { run, tmp, host: { uid, runUser: run, tmp } };
}

test('a sender with XDG_RUNTIME_DIR and one without (su, cron) get the same runtime directory', (t) => {
  const m = host(t);
  mkdirSync(join(m.run, String(uid)), { mode: 0o700 });
  const withXdg = runtimeDir({ XDG_RUNTIME_DIR: join(m.run, String(uid)) }, m.host);
  const without = runtimeDir({}, m.host);
  assert.equal(without, withXdg);
  assert.equal(without, join(m.run, String(uid), 'mosaic-fleet'));
});

test('without /run/user/UID the runtime directory is a private one in /tmp, made with mode 0700', (t) => {
  const m = host(t);
  const dir = runtimeDir({}, m.host);
  assert.equal(dir, join(m.tmp, `mosaic-fleet-${uid}`));
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(runtimeDir({}, m.host), dir, 'the same again once it exists');
});

test('a /run/user/UID that others can enter is not taken for the runtime directory', (t) => {
  const m = host(t);
  mkdirSync(join(m.run, String(uid)));
  chmodSync(join(m.run, String(uid)), 0o755);
  assert.equal(runtimeDir({}, m.host), join(m.tmp, `mosaic-fleet-${uid}`));
});

test('a /tmp fallback that belongs to someone else is refused', (t) => {
  const m = host(t);
  // The directory is ours, so to a sender of another uid it belongs to someone else.
  mkdirSync(join(m.tmp, `mosaic-fleet-${uid + 1}`), { mode: 0o700 });
  assert.throws(() => runtimeDir({}, { ...m.host, uid: uid + 1 }), (err: Error & { hint?: string }) => {
    assert.match(err.message, /runtime directory .* belongs to uid \d+, so its locks cannot be trusted/);
    assert.equal(err.hint, 'remove it, or set XDG_RUNTIME_DIR');
    return true;
  });
});

test('MOSAIC_FLEET_RUNTIME_DIR, then XDG_RUNTIME_DIR, win over the rest', (t) => {
  const m = host(t);
  assert.equal(runtimeDir({ MOSAIC_FLEET_RUNTIME_DIR: '/x', XDG_RUNTIME_DIR: '/y' }, m.host), '/x');
  assert.equal(runtimeDir({ XDG_RUNTIME_DIR: '/y' }, m.host), '/y/mosaic-fleet');
});
