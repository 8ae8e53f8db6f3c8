// What start, stop and restart say when systemd fails some of the units
// (issue #13). The integration tier has no user manager: a systemctl on PATH
// plays one where one agent's unit cannot start.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestFleet, type TestFleet } from '../helpers/fleet.js';

let fleet: TestFleet;
let shimPath: string;

const SYSTEMCTL = `#!/bin/sh
shift # --user
case "$1" in
  list-units) printf '%s\\n' 'mosaic-agent@a.service loaded active running A' 'mosaic-agent@b.service loaded active running B' 'mosaic-agent@bad.service loaded failed failed Bad' ;;
  reset-failed) ;;
  start|restart)
    echo 'Job for mosaic-agent@bad.service failed because the control process exited with error code.' >&2
    echo 'See "systemctl --user status mosaic-agent@bad.service" and "journalctl --user -xeu mosaic-agent@bad.service" for details.' >&2
    exit 1 ;;
  show)
    for u in mosaic-agent@a.service mosaic-agent@b.service mosaic-fleet.target; do printf 'Id=%s\\nActiveState=active\\nResult=success\\n\\n' "$u"; done
    printf 'Id=mosaic-agent@bad.service\\nActiveState=failed\\nResult=exit-code\\n' ;;
esac
`;

before(async () => {
  fleet = await startTestFleet({ holder: false });
  const shim = join(fleet.dir, 'shim');
  mkdirSync(shim);
  writeFileSync(join(shim, 'systemctl'), SYSTEMCTL);
  chmodSync(join(shim, 'systemctl'), 0o755);
  shimPath = `${shim}:${process.env.PATH}`;
});
after(async () => {
  await fleet?.close();
});

test('restart --all with one bad agent names only that agent, with systemd\'s reason', async () => {
  const r = await fleet.run('mosaic-agent', ['restart', '--all'], { env: { PATH: shimPath } });
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    'mosaic-agent: could not restart bad (exit-code): Job for mosaic-agent@bad.service failed because the control process exited with error code. (see: systemctl --user status mosaic-agent@bad.service)\n',
  );
});
