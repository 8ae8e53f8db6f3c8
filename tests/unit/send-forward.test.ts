// The client's side of a send through the ssh connection (lib/fleet/send-forward.ts):
// where its end of the forward lives, and when it stops asking a host that
// cannot serve sends. ssh is a stand-in script here (MOSAIC_SSH) that answers
// as a host with an older toolkit or a master that will not forward would:
// the real exchange runs in tests/integration/hosts.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { forgetNoForward, forwardSocketPath, sendOverForward, setUpForward } from '../../lib/fleet/send-forward.js';
import { scratchDir } from '../helpers/scratch.js';

function fleetEnv(ssh?: string): NodeJS.ProcessEnv {
  const dir = scratchDir('mf-fwd-');
  return { PATH: process.env.PATH, MOSAIC_FLEET_RUNTIME_DIR: join(dir, 'run'), ...(ssh ? { MOSAIC_SSH: ssh } : {}) };
}

/** A stand-in ssh: `hosts socket` answers with `socketExit`, `-O forward` with `forwardExit`; each call is logged. */
function fakeSsh(socketExit: number, forwardExit: number): { path: string; calls: () => string[] } {
  const dir = scratchDir('mf-fwd-ssh-');
  const path = join(dir, 'ssh');
  const log = join(dir, 'calls');
  writeFileSync(
    path,
    `#!/bin/bash
printf '%s\\n' "$*" >> ${JSON.stringify(log)}
case " $* " in
  *" -O forward "*) echo 'forwarding refused' >&2; exit ${forwardExit} ;;
  *"'hosts' 'socket'"*) [ ${socketExit} = 0 ] && echo /run/user/1/mosaic-fleet/send.sock || echo 'unknown hosts subcommand' >&2; exit ${socketExit} ;;
esac
exit 99
`,
  );
  chmodSync(path, 0o755);
  return { path, calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []) };
}

const FAR = { name: 'far', ssh: 'me@far.example' };
const REQ = { tool: 'agent-send', argv: ['x', '-'], text: 'hi' };

test("this host's end of a forward is in the ssh sockets' directory, and names the destination: a host name pointed at another box gets another", () => {
  const env = fleetEnv();
  const a = forwardSocketPath(FAR, env);
  assert.equal(dirname(a), join(env.MOSAIC_FLEET_RUNTIME_DIR!, 'ssh'));
  assert.match(a, /\/send-far-[0-9a-f]{12}\.sock$/);
  assert.equal(forwardSocketPath(FAR, env), a);
  assert.notEqual(forwardSocketPath({ ...FAR, ssh: 'me@other.example' }, env), a);
  assert.notEqual(forwardSocketPath({ ...FAR, port: 2222 }, env), a);
});

test('with no forward the send is "not sent, no listener"; MOSAIC_SEND_FORWARD=off does not try at all', async () => {
  const env = fleetEnv();
  const r = await sendOverForward(FAR, REQ, 1000, env);
  assert.deepEqual(r && r.kind === 'not-sent' ? r.noListener : r, true);
  assert.equal(await sendOverForward(FAR, REQ, 1000, { ...env, MOSAIC_SEND_FORWARD: 'off' }), undefined);
});

test('a host whose toolkit has no send socket is not asked again until its toolkit is installed anew', async () => {
  const ssh = fakeSsh(2, 0);
  const env = fleetEnv(ssh.path);
  await setUpForward(FAR, env);
  assert.equal(ssh.calls().length, 1, 'asked where its socket is, no forward tried');
  assert.equal(await sendOverForward(FAR, REQ, 1000, env), undefined, 'sends go as ssh commands');
  assert.match(readFileSync(`${forwardSocketPath(FAR, env)}.off`, 'utf8'), /hosts socket on far gave exit 2: unknown hosts subcommand/);
  forgetNoForward(FAR, env);
  assert.notEqual(await sendOverForward(FAR, REQ, 1000, env), undefined);
});

test('a master that will not forward is not asked again either', async () => {
  const ssh = fakeSsh(0, 1);
  const env = fleetEnv(ssh.path);
  await setUpForward(FAR, env);
  const calls = ssh.calls();
  assert.equal(calls.length, 2);
  assert.match(calls[1]!, /-O forward -L \S+\/send-far-[0-9a-f]{12}\.sock:\/run\/user\/1\/mosaic-fleet\/send\.sock -- me@far\.example$/);
  assert.equal(await sendOverForward(FAR, REQ, 1000, env), undefined);
  assert.match(readFileSync(`${forwardSocketPath(FAR, env)}.off`, 'utf8'), /forwarding refused/);
});
