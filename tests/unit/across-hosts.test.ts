// The words a command for another host is rebuilt from (lib/cli/across-hosts.ts):
// what that host's mosaic-agent parses must be what was parsed here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { optionWords } from '../../lib/cli/across-hosts.js';
import { flagSpec, parseFlags } from '../../lib/cli/cli.js';
import { commandDefs } from '../../lib/cli/commands.js';

test('a command\'s options are rebuilt word by word from what was parsed: switches, values, aliases, --verbose', () => {
  const def = commandDefs.wait!;
  const flags = parseFlags(['--until', 'busy', 'a', '--timeout', '2.5', '--any', 'b', '--json', '--verbose'], flagSpec(def.options));
  assert.deepEqual(optionWords(flags, def), ['--until', 'busy', '--timeout', '2.5', '--any', '--json', '--verbose']);
  const logs = commandDefs.logs!;
  const lf = parseFlags(['-f', '-n', '0', 'x'], flagSpec(logs.options));
  assert.deepEqual(optionWords(lf, logs), ['--follow', '--lines', '0']);
});

test('for every command that goes to another host, parsing the rebuilt words gives the same options and names', () => {
  const cases: Record<string, string[]> = {
    wait: ['--until', 'waiting', 'a', 'b', '--timeout', '10', '--any'],
    start: ['--all'],
    stop: ['a', 'b'],
    restart: ['a'],
    logs: ['-f', '--lines', '5', '--raw', 'a'],
    events: ['-n', '3', '--json', 'a'],
    read: ['--lines', '100', 'a'],
  };
  for (const [command, argv] of Object.entries(cases)) {
    const def = commandDefs[command]!;
    const spec = flagSpec(def.options);
    const first = parseFlags(argv, spec);
    const again = parseFlags([...optionWords(first, def), '--', ...first._], spec);
    for (const o of def.options ?? []) assert.deepEqual(again[o.name], first[o.name], `${command} --${o.name}`);
    assert.deepEqual(again._, first._, command);
  }
});
