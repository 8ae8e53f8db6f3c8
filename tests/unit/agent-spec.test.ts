import { test } from 'node:test';
import { scratchDir } from '../helpers/scratch.js';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { fillPlaceholders } from '../../lib/runtimes/conversation.js';
import { agentSpecFromEnv, commandProgram, launchArgv, sessionEnv } from '../../lib/runtimes/agent-spec.js';
import { agentSearchPath, which } from '../../lib/core/search-path.js';
import { FleetError } from '../../lib/core/errors.js';

function fakeHome(): string {
  const home = scratchDir('mf-spec-');
  mkdirSync(join(home, '.local', 'bin'), { recursive: true });
  return home;
}

function exe(path: string): void {
  writeFileSync(path, '#!/bin/sh\n');
  chmodSync(path, 0o755);
}

test('defaults: runtime pi, workdir home, 200x50', () => {
  const home = fakeHome();
  const spec = agentSpecFromEnv('a', { HOME: home, PATH: '/usr/bin:/bin' });
  assert.deepEqual([spec.runtime, spec.workdir, spec.width, spec.height, spec.command], ['pi', home, 200, 50, undefined]);
});

test('a ~ in the workdir is expanded', () => {
  const home = fakeHome();
  assert.equal(agentSpecFromEnv('a', { HOME: home, MOSAIC_AGENT_WORKDIR: '~/src' }).workdir, join(home, 'src'));
});

test('a runtime in ~/.local/bin is found though systemd\'s PATH lacks it', () => {
  const home = fakeHome();
  exe(join(home, '.local', 'bin', 'pi'));
  const spec = agentSpecFromEnv('a', { HOME: home, PATH: '/usr/bin:/bin' });
  assert.deepEqual(launchArgv(spec, { placeholders: { session_dir: '/s/a' } }), [join(home, '.local', 'bin', 'pi'), '--session-dir', '/s/a']);
  assert.ok(spec.path.split(':').includes(join(home, '.local', 'bin')));
});

test('MOSAIC_USER_PATH from the installer comes first', () => {
  const home = fakeHome();
  const path = agentSearchPath({ HOME: home, MOSAIC_USER_PATH: '/opt/x/bin:/opt/y/bin', PATH: '/usr/bin' });
  assert.deepEqual(path.split(':').slice(0, 2), ['/opt/x/bin', '/opt/y/bin']);
});

test('an nvm-installed runtime is found, newest Node first', () => {
  const home = fakeHome();
  for (const v of ['v18.2.0', 'v20.11.1']) {
    mkdirSync(join(home, '.nvm', 'versions', 'node', v, 'bin'), { recursive: true });
    exe(join(home, '.nvm', 'versions', 'node', v, 'bin', 'codex'));
  }
  assert.equal(which('codex', agentSearchPath({ HOME: home, PATH: '/usr/bin' })), join(home, '.nvm', 'versions', 'node', 'v20.11.1', 'bin', 'codex'));
});

test('MOSAIC_AGENT_COMMAND is the whole launch command, run by /bin/sh', () => {
  const home = fakeHome();
  exe(join(home, '.local', 'bin', 'pi'));
  const spec = agentSpecFromEnv('a', { HOME: home, MOSAIC_AGENT_COMMAND: 'pi --model x "quoted arg"' });
  assert.deepEqual(launchArgv(spec), ['/bin/sh', '-c', 'pi --model x "quoted arg"']);
});

test('a command whose program is not on the agent PATH is refused before the start, naming the PATH searched', () => {
  const spec = agentSpecFromEnv('a', { HOME: fakeHome(), PATH: '/nonexistent', MOSAIC_AGENT_COMMAND: 'nope-xyz --provider x' });
  assert.throws(
    () => launchArgv(spec),
    (e: unknown) => e instanceof FleetError && /command of agent 'a': 'nope-xyz' not found on the agent PATH \(.*\/nonexistent/.test(e.message),
  );
});

test('the program of a command is its first word after assignments and exec, unless only sh could tell', () => {
  assert.equal(commandProgram('pi --provider x'), 'pi');
  assert.equal(commandProgram('  FOO=1 BAR=2 exec codex resume'), 'codex');
  assert.equal(commandProgram('./run.sh; sleep 1'), './run.sh');
  assert.equal(commandProgram('claude;'), 'claude');
  for (const c of ['cd ~/x && pi', '"$HOME/bin/pi"', '$RUNTIME --yes', '(pi)', 'echo hi', 'if true; then pi; fi']) assert.equal(commandProgram(c), undefined, c);
});

test('a bash shell agent reads its login files through the fleet\'s rcfile, which keeps the fleet\'s PATH', () => {
  const spec = agentSpecFromEnv('a', { HOME: fakeHome(), SHELL: '/bin/bash', MOSAIC_AGENT_RUNTIME: 'shell' });
  const argv = launchArgv(spec);
  if (argv[0]!.endsWith('/bash')) assert.deepEqual(argv.slice(1, 2).concat(argv.slice(3)), ['--rcfile', '-i']);
  else assert.deepEqual(argv.slice(1), ['-l'], 'another login shell runs as a login shell');
  assert.equal(sessionEnv(spec, { HOME: '/h' }).MOSAIC_FLEET_PATH, spec.path);
});

test('a mosaic CLI on the PATH launches `mosaic yolo RUNTIME`', () => {
  const home = fakeHome();
  exe(join(home, '.local', 'bin', 'mosaic'));
  const spec = agentSpecFromEnv('a', { HOME: home, MOSAIC_AGENT_RUNTIME: 'codex' });
  assert.deepEqual(launchArgv(spec), [join(home, '.local', 'bin', 'mosaic'), 'yolo', 'codex']);
});

test('resume uses the profile\'s resume argv when asked, in the agent\'s own session directory', () => {
  const home = fakeHome();
  exe(join(home, '.local', 'bin', 'pi'));
  const spec = agentSpecFromEnv('a', { HOME: home, MOSAIC_AGENT_RESUME: '1' });
  assert.deepEqual(launchArgv(spec, { resume: true, placeholders: { session_dir: '/s/a' } }), [join(home, '.local', 'bin', 'pi'), '--session-dir', '/s/a', '-c']);
});

test('placeholders fill parts of words and leave unknown ones as they are', () => {
  assert.deepEqual(fillPlaceholders(['x', '--dir={session_dir}/y', '{nope}'], { session_dir: '/d' }), ['x', '--dir=/d/y', '{nope}']);
});

test('a runtime that is not installed is a clear error naming what to do', () => {
  const spec = agentSpecFromEnv('a', { HOME: fakeHome(), PATH: '/nonexistent', MOSAIC_AGENT_RUNTIME: 'nope-xyz' });
  assert.throws(
    () => launchArgv(spec),
    (e: unknown) => e instanceof FleetError && /command 'nope-xyz' not found on the agent PATH/.test(e.message) && /MOSAIC_AGENT_COMMAND/.test(e.hint ?? ''),
  );
});

test('bad sizes are refused', () => {
  assert.throws(() => agentSpecFromEnv('a', { HOME: fakeHome(), MOSAIC_AGENT_WIDTH: 'wide' }), /MOSAIC_AGENT_WIDTH/);
});

test('the session environment passes the agent\'s variables and drops the unit\'s own', () => {
  const home = fakeHome();
  const env = { HOME: home, PATH: '/usr/bin', FOO: 'bar', INVOCATION_ID: 'x', TMUX: 'y', MAINPID: '1', MOSAIC_AGENT_RUNTIME: 'shell' };
  const spec = agentSpecFromEnv('a', env);
  const out = sessionEnv(spec, env);
  assert.equal(out.FOO, 'bar');
  assert.equal(out.MOSAIC_AGENT_NAME, 'a');
  assert.equal(out.PATH, spec.path);
  for (const k of ['INVOCATION_ID', 'TMUX', 'MAINPID']) assert.equal(out[k], undefined, k);
});
