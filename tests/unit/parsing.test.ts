// Parsers of tmux and systemctl output, and the flag parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePanes, agentPaneOf, isNoServer } from '../../lib/tmux/tmux.js';
import { parseShow, parseListUnits, agentOfUnit, agentUnit } from '../../lib/systemd/systemd.js';
import { parseFlags, numberFlag } from '../../lib/cli/cli.js';
import { UsageError } from '../../lib/core/errors.js';

const S = ':|:';
const row = (f: string[]) => f.join(S);

test('list-panes output becomes typed pane records, the title keeping any separator', () => {
  const out = [
    row(['_holder', '100', '%0', '11', '0', '', '0', 'tail', '120', '30', '', '', '', '', 'holder']),
    row(['alpha', '200', '%1', '22', '1', '7', '0', 'sh', '200', '50', '%1', 'pi', '0', Buffer.from('{"busy":["x"]}').toString('base64'), `a${S}b`]),
  ].join('\n');
  const panes = parsePanes(out + '\n');
  assert.equal(panes.length, 2);
  assert.deepEqual(panes[1], {
    session: 'alpha', sessionCreated: 200, paneId: '%1', panePid: 22, dead: true, deadStatus: 7, inMode: false,
    currentCommand: 'sh', width: 200, height: 50, agentPane: '%1', runtime: 'pi', customCommand: false, profileJson: '{"busy":["x"]}', title: `a${S}b`,
  });
  assert.equal(panes[0]!.deadStatus, undefined);
  assert.equal(panes[0]!.profileJson, undefined);
});

test('the agent pane is the recorded one, not a split the user added', () => {
  const base = ['alpha', '1', '', '5', '0', '', '0', 'pi', '80', '24', '%2', 'pi', '0', '', 't'];
  const panes = parsePanes([row(['alpha', '1', '%1', ...base.slice(3)]), row(['alpha', '1', '%2', ...base.slice(3)])].join('\n'));
  assert.equal(agentPaneOf(panes, 'alpha')!.paneId, '%2');
  assert.equal(agentPaneOf(panes, 'alph'), undefined);
});

test('tmux\'s no-server messages are recognised', () => {
  assert.ok(isNoServer('no server running on /tmp/tmux-0/x'));
  assert.ok(isNoServer('error connecting to /tmp/tmux-0/x (No such file or directory)'));
  assert.ok(!isNoServer("can't find session: alpha"));
});

test('systemctl show output for several units is parsed per unit', () => {
  const out = 'Id=mosaic-agent@a.service\nActiveState=active\nSubState=running\nMainPID=42\nNRestarts=3\nActiveEnterTimestamp=@1700000000\nUnitFileState=enabled\nResult=success\nLoadState=loaded\n\nId=mosaic-agent@b.service\nActiveState=failed\nSubState=failed\nMainPID=0\nNRestarts=5\nActiveEnterTimestamp=\nUnitFileState=\nResult=start-limit-hit\nLoadState=loaded\n';
  const [a, b] = parseShow(out);
  assert.deepEqual([a!.unit, a!.active, a!.mainPid, a!.restarts, a!.activeSince], ['mosaic-agent@a.service', 'active', 42, 3, 1700000000]);
  assert.deepEqual([b!.active, b!.result, b!.activeSince], ['failed', 'start-limit-hit', 0]);
});

test('agent names and unit names map both ways', () => {
  assert.equal(agentUnit('alpha'), 'mosaic-agent@alpha.service');
  assert.equal(agentOfUnit('mosaic-agent@alpha.service'), 'alpha');
  assert.equal(agentOfUnit('mosaic-tmux-holder.service'), undefined);
});

test('unknown flags and repeated single flags are usage errors', () => {
  assert.throws(() => parseFlags(['--nope'], {}), (e: unknown) => e instanceof UsageError && /unknown option --nope/.test(e.message));
  assert.throws(() => parseFlags(['--from', 'a', '--from', 'b'], { string: ['from'] }), /more than once/);
});

test('positionals stay strings, and stopEarly keeps message words verbatim', () => {
  const f = parseFlags(['--json', 'alpha', '007', '-n', '--help'], { boolean: ['json'], stopEarly: true });
  assert.deepEqual(f._, ['alpha', '007', '-n', '--help']);
  assert.equal(f.json, true);
  assert.equal(f.help, false);
});

test('a boolean defaulting to true is turned off with --no-NAME', () => {
  assert.equal(parseFlags(['--no-submit'], { boolean: ['submit'], defaults: { submit: true } }).submit, false);
  assert.equal(parseFlags([], { boolean: ['submit'], defaults: { submit: true } }).submit, true);
});

test('number flags must be positive numbers', () => {
  assert.equal(numberFlag(parseFlags(['--timeout', '2.5'], { string: ['timeout'] }), 'timeout', 30), 2.5);
  assert.equal(numberFlag(parseFlags([], { string: ['timeout'] }), 'timeout', 30), 30);
  assert.throws(() => numberFlag(parseFlags(['--timeout', 'soon'], { string: ['timeout'] }), 'timeout', 30), /not a positive number/);
  assert.throws(() => numberFlag(parseFlags(['--timeout', '0'], { string: ['timeout'] }), 'timeout', 30), /not a positive number/);
});

test('systemctl list-units lines give each unit with its load, active and sub states', () => {
  const out = [
    '  mosaic-agent@alpha.service  loaded active running mosaic-fleet agent alpha',
    '● mosaic-agent@crashy.service loaded failed failed  mosaic-fleet agent crashy',
    'mosaic-tmux-holder.service    loaded active running mosaic-fleet tmux holder (owns the fleet\'s tmux server)',
    '',
  ].join('\n');
  assert.deepEqual(parseListUnits(out), [
    { unit: 'mosaic-agent@alpha.service', load: 'loaded', active: 'active', sub: 'running' },
    { unit: 'mosaic-agent@crashy.service', load: 'loaded', active: 'failed', sub: 'failed' },
    { unit: 'mosaic-tmux-holder.service', load: 'loaded', active: 'active', sub: 'running' },
  ]);
});
