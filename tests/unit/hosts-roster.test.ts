// The roster's hosts (issue #19): `hosts:` and each agent's `host:`, validated with positions.
import { test } from 'node:test';
import { scratchDir } from '../helpers/scratch.js';
import assert from 'node:assert/strict';

import { hostOf, parseRoster, RosterError } from '../../lib/fleet/roster.js';
import { renderEnvFile } from '../../lib/fleet/env-files.js';

const home = () => scratchDir('hosts-roster-');

function issuesOf(text: string): string[] {
  try {
    parseRoster(text, 'roster.yaml', { home: home(), checkWorkdirs: false });
  } catch (err) {
    assert.ok(err instanceof RosterError, `expected a RosterError, got ${String(err)}`);
    return err.issues.map((i) => `${i.line}:${i.column}: ${i.message}`);
  }
  return assert.fail('the roster parsed without issues');
}

test('hosts map names to ssh destinations and ports; an agent picks one with host:, default local', () => {
  const r = parseRoster(
    ['hosts:', '  gpu: { ssh: dev@gpu-box, port: 2222 }', '  cpu: { ssh: cpu }', 'agents:', '  a: { runtime: shell }', '  b: { runtime: shell, host: gpu }', '  c: { host: local }', '  d: { host: cpu, workdir: ~/nowhere/at/all }'].join('\n'),
    'roster.yaml',
    { home: home() },
  );
  assert.deepEqual([...r.hosts!.values()], [{ name: 'gpu', ssh: 'dev@gpu-box', port: 2222 }, { name: 'cpu', ssh: 'cpu' }]);
  assert.deepEqual(r.agents.map((a) => [a.name, hostOf(a)]), [['a', 'local'], ['b', 'gpu'], ['c', 'local'], ['d', 'cpu']]);
  // A local agent's config is as before: host: is not in it, nor in its env file.
  assert.equal(r.agents[0]!.host, undefined);
  assert.doesNotMatch(renderEnvFile(r.agents[1]!, 'roster.yaml'), /gpu/);
});

test('defaults may give the host; an agent overrides it', () => {
  const r = parseRoster('hosts: { far: { ssh: u@far } }\ndefaults: { host: far }\nagents:\n  x: {}\n  y: { host: local }\n', 'r.yaml', { home: home(), checkWorkdirs: false });
  assert.deepEqual(r.agents.map(hostOf), ['far', 'local']);
});

test('a remote agent\'s workdir is not checked here (its host checks it); a local one is', () => {
  let issues: string[] = [];
  try {
    parseRoster('hosts: { far: { ssh: u@far } }\nagents:\n  x: { host: far, workdir: /no/such/dir/x }\n  y: { workdir: /no/such/dir/y }\n', 'r.yaml', { home: home() });
  } catch (err) {
    issues = (err as RosterError).issues.map((i) => `${i.line}:${i.column}: ${i.message}`);
  }
  assert.deepEqual(issues, ['4:17: agent "y": workdir /no/such/dir/y does not exist (create it or fix the path)']);
});

test('unknown hosts, bad host entries and a redefined local are reported with line and column', () => {
  const text = [
    'hosts:', //                                   1
    '  local: { ssh: me@here }', //                2
    '  gpu: { ssh: "-oProxyCommand=x", port: 0 }', // 3
    '  bad.name: { ssh: a@b }', //                 4
    '  noDest: { port: 22 }', //                   5
    '  extra: { ssh: a@b, user: me }', //          6
    'defaults: { host: nowhere }', //              7
    'agents:', //                                  8
    '  a: { host: gpuu }', //                      9
    '  b: { host: 5 }', //                         10
    '  c: { host: extra }', //                     11
  ].join('\n');
  assert.deepEqual(issuesOf(text), [
    '2:3: host "local" is this machine and cannot be defined (leave `host:` out, or write host: local)',
    `3:15: host "gpu": ssh "-oProxyCommand=x" starts with '-' (ssh would read it as an option)`,
    '3:41: host "gpu": port must be a whole number from 1 to 65535, not the number 0',
    `4:3: invalid host name "bad.name": "." is not allowed (use letters, digits, '_' and '-', starting with a letter or digit)`,
    '5:11: host "noDest" has no ssh destination (add ssh: user@box)',
    '6:22: host "extra": unknown field "user" (allowed: ssh, port; anything else goes in ~/.ssh/config)',
    '7:19: defaults: unknown host "nowhere"; hosts are local, extra (add it under `hosts:`)',
    // gpu is not a host: its entry has problems of its own.
    '9:14: agent "a": unknown host "gpuu"; hosts are local, extra (add it under `hosts:`)',
    '10:14: agent "b": host must be a string, not the number 5',
  ]);
});

test('agent names stay unique across hosts: the same name on two hosts is one name defined twice', () => {
  const issues = issuesOf('hosts: { far: { ssh: u@far } }\nagents:\n  a: { host: far }\n  a: { host: local }\n');
  assert.deepEqual(issues, ['4:3: agent "a" is defined twice (first at line 3, column 3)']);
});

test("a remote host's share of the roster: its agents only, without hosts: and host:, ~ left for its own home", async () => {
  const { subRoster } = await import('../../lib/fleet/hosts-apply.js');
  const text = 'hosts:\n  far: { ssh: u@far }\ndefaults: { runtime: shell, host: far, workdir: ~/src }\nagents:\n  a: { host: local }\n  b: {}\n  c: { host: far, env: { X: "1" } }\n';
  const share = subRoster(text, 'far', new Set(['b', 'c']));
  const r = parseRoster(share, 'share.yaml', { home: '/home/far', checkWorkdirs: false });
  assert.equal(r.hosts, undefined);
  assert.deepEqual(r.agents.map((a) => [a.name, a.host, a.workdir, a.env]), [['b', undefined, '/home/far/src', {}], ['c', undefined, '/home/far/src', { X: '1' }]]);
});

test("the remote agent-send gets the same options, the names, and - (the message goes on stdin)", async () => {
  const { remoteSendArgv, mentionsHosts } = await import('../../lib/fleet/hosts.js');
  assert.deepEqual(
    remoteSendArgv(['a', 'b'], { from: "o'rch", submit: false, force: true, allowControl: false, json: true, quiet: false, wait: true, queue: false, timeout: '9' }),
    ['agent-send', '--from', "o'rch", '--no-submit', '--force', '--json', '--wait', '--timeout', '9', 'a,b', '-'],
  );
  assert.equal(mentionsHosts('agents: {}\nhosts:\n  a: {ssh: b}\n'), true);
  assert.equal(mentionsHosts('{"hosts": {}, "agents": {}}'), true);
  assert.equal(mentionsHosts('agents:\n  ghosts: {}\n'), false);
});
