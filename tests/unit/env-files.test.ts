// The env files apply writes: rendering (values round-trip through systemd's
// parser rules), the marker line, and reading the agents directory back.
import { test } from 'node:test';
import { scratchDir } from '../helpers/scratch.js';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FleetError } from '../../lib/core/errors.js';
import { parseEnvFile } from '../../lib/core/env-file.js';
import type { AgentConfig } from '../../lib/fleet/roster.js';
import { isAppliedEnvFile, quoteEnvValue, readEnvFiles, renderEnvFile } from '../../lib/fleet/env-files.js';

function agent(overrides: Partial<AgentConfig> & { name: string }): AgentConfig {
  return { runtime: 'pi', workdir: '/srv/w', env: {}, enabled: true, resume: false, ...overrides };
}

function tempDir(): string {
  return scratchDir('env-files-test-');
}

const NASTY: Record<string, string> = {
  SPACES: '  lead, inner  and trail  ',
  QUOTES: `it's "double" and 'single'`,
  ONLY_QUOTE: "'",
  DOLLAR: '$HOME ${HOME} $(id) `id`',
  BACKSLASH: 'C:\\path\\n \\\\ \\" end\\',
  NEWLINES: 'line1\nline2\n',
  CR_TAB: 'a\rb\tc',
  UNICODE: 'héllo wörld ✓ 🚀 日本語',
  EMPTY: '',
  COMMENTISH: '# not a comment ; nor this',
  EQUALS: 'a=b=c',
};

test('an env file round-trips nasty values through the systemd parser rules', () => {
  const a = agent({ name: 'n', command: 'exec "$SHELL" -l', kickstart: 'say "hi"\nthen \\n $x', resume: true, submit_delay_ms: 80, env: NASTY });
  const parsed = parseEnvFile(renderEnvFile(a, '/home/u/roster.yaml'));
  assert.deepEqual(parsed, {
    MOSAIC_AGENT_COMMAND: 'exec "$SHELL" -l',
    MOSAIC_AGENT_KICKSTART: 'say "hi"\nthen \\n $x',
    MOSAIC_AGENT_RESUME: '1',
    MOSAIC_AGENT_RUNTIME: 'pi',
    MOSAIC_AGENT_SUBMIT_DELAY_MS: '80',
    MOSAIC_AGENT_WORKDIR: '/srv/w',
    ...NASTY,
  });
});

test('every value round-trips one by one, including each troublesome character alone', () => {
  for (const value of [...Object.values(NASTY), '\\', '"', "'", '$', '`', '\n', '\r', ' ', '#', ';', "''", '\'"\'"\'']) {
    assert.equal(parseEnvFile(`X=${quoteEnvValue(value)}\n`).X, value, JSON.stringify(value));
  }
});

test('the env file is deterministic: our keys sorted, then the agent env sorted, whatever the input order', () => {
  const one = agent({ name: 'a', workdir: '/w', kickstart: 'go', resume: true, env: { ZED: '1', ALPHA: '2', MID: '3' } });
  const two = agent({ name: 'a', resume: true, kickstart: 'go', workdir: '/w', env: { MID: '3', ZED: '1', ALPHA: '2' } });
  const text = renderEnvFile(one, '/r/roster.yaml');
  assert.equal(text, renderEnvFile(two, '/r/roster.yaml'));
  assert.equal(
    text,
    [
      '# Written by mosaic-agent apply from /r/roster.yaml; edit the roster, not this file.',
      "MOSAIC_AGENT_KICKSTART='go'",
      "MOSAIC_AGENT_RESUME='1'",
      "MOSAIC_AGENT_RUNTIME='pi'",
      "MOSAIC_AGENT_WORKDIR='/w'",
      "ALPHA='2'",
      "MID='3'",
      "ZED='1'",
      '',
    ].join('\n'),
  );
});

test('optional fields are left out of the env file, and resume false writes no RESUME key', () => {
  const parsed = parseEnvFile(renderEnvFile(agent({ name: 'a' }), '/r.yaml'));
  assert.deepEqual(Object.keys(parsed), ['MOSAIC_AGENT_RUNTIME', 'MOSAIC_AGENT_WORKDIR']);
});

test('the marker line survives a roster path with a line break', () => {
  const text = renderEnvFile(agent({ name: 'a' }), '/odd\npath/roster.yaml');
  assert.equal(text.split('\n')[0], '# Written by mosaic-agent apply from /odd?path/roster.yaml; edit the roster, not this file.');
  assert.ok(isAppliedEnvFile(text));
  assert.deepEqual(Object.keys(parseEnvFile(text)), ['MOSAIC_AGENT_RUNTIME', 'MOSAIC_AGENT_WORKDIR']);
});

test('rendering refuses env names that would clash with ours or break the file', () => {
  assert.throws(() => renderEnvFile(agent({ name: 'a', env: { MOSAIC_AGENT_RUNTIME: 'x' } }), '/r'), FleetError);
  assert.throws(() => renderEnvFile(agent({ name: 'a', env: { 'A\nB': 'x' } }), '/r'), FleetError);
});

// Each expectation below was checked against systemd 252 (EnvironmentFile= of
// a transient user service dumping its environment), except the comment case,
// which follows v254 and later.
test('parseEnvFile follows systemd for hand-written files', () => {
  assert.deepEqual(parseEnvFile('A="x\\ny"\nB="a\\\\b"\nC="\\$HOME \\`x\\`"\nD="q\\"q"\nE="\\z"\n'), {
    A: 'x\\ny',
    B: 'a\\b',
    C: '$HOME `x`',
    D: 'q"q',
    E: '\\z',
  });
  assert.deepEqual(parseEnvFile("A='x\\ny'\nB=  plain value  \nC=x\\\ny\nD=\"a\"'b'c\nE=\"multi\nline\"\n"), {
    A: 'x\\ny',
    B: 'plain value',
    C: 'xy',
    D: 'abc',
    E: 'multi\nline',
  });
  assert.deepEqual(parseEnvFile('A=\r\nB=x\ry\nC="x\ry"\n'), { A: '', B: 'x', C: 'x\ry' });
  assert.deepEqual(parseEnvFile('A=a\\ \nB=\\ lead\nC="unterminated\n'), { A: 'a ', B: ' lead', C: 'unterminated\n' });
  assert.deepEqual(parseEnvFile('# comment\n; also\nB = 2 \nno equals here\nC=1\nC=2\n'), { B: '2', C: '2' });
  assert.deepEqual(parseEnvFile('# ends in a backslash \\\nA=1\n'), { A: '1' });
});

test('readEnvFiles tells apply-written files from hand-made ones', () => {
  const dir = join(tempDir(), 'agents');
  mkdirSync(dir);
  const applied = renderEnvFile(agent({ name: 'alpha' }), '/r.yaml');
  writeFileSync(join(dir, 'alpha.env'), applied);
  writeFileSync(join(dir, 'beta.env'), 'MOSAIC_AGENT_RUNTIME=shell\n');
  writeFileSync(join(dir, 'notes.txt'), 'not an env file');
  writeFileSync(join(dir, '.alpha.env.123.tmp'), applied);
  writeFileSync(join(dir, 'bad.name.env'), applied);
  symlinkSync(join(dir, 'alpha.env'), join(dir, 'linked.env'));
  const found = readEnvFiles(dir);
  assert.deepEqual([...found.applied], [['alpha', applied]]);
  assert.deepEqual([...found.handMade].sort(), ['beta', 'linked']);
});

test('readEnvFiles of a directory that does not exist finds nothing', () => {
  const found = readEnvFiles(join(tempDir(), 'nope'));
  assert.equal(found.applied.size, 0);
  assert.equal(found.handMade.size, 0);
});
