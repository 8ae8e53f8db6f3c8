// The ssh gateway's argv and remote quoting (issue #19): what the remote shell runs is exactly the argv given.
import { test } from 'node:test';
import { scratchDir } from '../helpers/scratch.js';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { quoteWord, remoteCommand, sshArgv, sshControlDir, sshFailure, type SshResult } from '../../lib/core/ssh.js';

const AWKWARD = [
  'plain',
  'two words',
  "it's",
  "''",
  '"double"',
  '$HOME and ${PATH} and $(id) and `id`',
  'back\\slash\\',
  'semi; colon && or || pipe | amp &',
  '*.ts ? [a-z] ~ ~/x',
  'new\nline\ttab',
  '-leading-dash',
  '--',
  '',
  '!history !! ^caret #hash',
  'ünïcødé ✓',
];

const SHELLS = ['/bin/sh', '/bin/bash', '/bin/dash', '/usr/bin/zsh'].filter((s) => existsSync(s));

for (const shell of SHELLS) {
  test(`every awkward word arrives intact through ${shell} -c (as ssh's remote shell runs it)`, () => {
    const cmd = remoteCommand([process.execPath, '-e', 'process.stdout.write(JSON.stringify(process.argv.slice(1)))', ...AWKWARD]);
    const out = execFileSync(shell, ['-c', cmd], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', HOME: '/nonexistent' } });
    assert.deepEqual(JSON.parse(out), AWKWARD);
  });
}

test('a word is single-quoted with its quotes written as \'\\\'\'', () => {
  assert.equal(quoteWord("it's"), `'it'\\''s'`);
  assert.equal(quoteWord(''), `''`);
  assert.throws(() => quoteWord('a\0b'), /NUL/);
});

test('the ssh argv: batch mode, multiplexing under the runtime dir, a port, the destination after --, one quoted command', () => {
  const dir = scratchDir('ssh-test-');
  const env = { MOSAIC_FLEET_RUNTIME_DIR: dir, PATH: process.env.PATH };
  const argv = sshArgv({ name: 'gpu', ssh: 'dev@gpu-box', port: 2222 }, ['agent-send', 'alpha', '-'], env);
  const control = sshControlDir(env);
  assert.equal(control, join(dir, 'ssh'));
  assert.equal(statSync(control).mode & 0o777, 0o700);
  assert.deepEqual(argv, [
    'ssh', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', '-o', 'ControlMaster=auto', '-o', `ControlPath=${control}/%C`, '-o', 'ControlPersist=60',
    '-o', 'ServerAliveInterval=5', '-o', 'ServerAliveCountMax=2', '-T', '-p', '2222', '--', 'dev@gpu-box',
    `PATH="$HOME/.local/bin:$PATH" 'agent-send' 'alpha' '-'`,
  ]);
  assert.ok(!argv.some((a) => /StrictHostKeyChecking/i.test(a)), 'host key checking is never turned off');
  assert.throws(() => sshArgv({ name: 'x', ssh: '-oProxyCommand=sh' }, ['true'], env), /not an ssh destination/);
});

test('a refused host key says nothing was sent and prints the fix', () => {
  const r: SshResult = { code: 255, stdout: '', stderr: 'No ED25519 host key is known for [10.1.1.2]:22 and you have requested strict checking.\nHost key verification failed.\n', timedOut: false, sshFailed: true, hostKey: true };
  const err = sshFailure({ name: 'far', ssh: 'u@10.1.1.2', port: 2200 }, r);
  assert.match(err.message, /host far \(u@10\.1\.1\.2\): its ssh host key is not in known_hosts, so nothing was sent there/);
  assert.match(err.hint!, /ssh -p 2200 u@10\.1\.1\.2 once/);
  assert.match(err.hint!, /ssh-keyscan -p 2200 10\.1\.1\.2 >> ~\/\.ssh\/known_hosts/);
});
