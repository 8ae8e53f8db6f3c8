// The roster: parsing and validation with positions, and what each field puts in the env file.
import { test } from 'node:test';
import { scratchDir } from '../helpers/scratch.js';
import { resolveProfile } from '../../lib/runtimes/profiles.js';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FleetError, formatError } from '../../lib/core/errors.js';
import { parseEnvFile } from '../../lib/core/env-file.js';
import { loadRoster, parseRoster, RosterError, type AgentConfig } from '../../lib/fleet/roster.js';
import { renderEnvFile } from '../../lib/fleet/env-files.js';
import { liveChange } from '../../lib/fleet/plan.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A temporary home with the given subdirectories. */
function makeHome(...dirs: string[]): string {
  const home = scratchDir('roster-test-');
  for (const d of dirs) mkdirSync(join(home, d), { recursive: true });
  return home;
}

/** The issues of a roster that must fail, as `line:col: message`. */
function issuesOf(text: string, opts: { home?: string; checkWorkdirs?: boolean } = {}): string[] {
  try {
    parseRoster(text, 'roster.yaml', { home: opts.home ?? makeHome(), checkWorkdirs: opts.checkWorkdirs ?? false });
  } catch (err) {
    assert.ok(err instanceof RosterError, `expected a RosterError, got ${String(err)}`);
    return err.issues.map((i) => `${i.line}:${i.column}: ${i.message}`);
  }
  assert.fail('the roster parsed without issues');
}

const MIXED_YAML = `
defaults: { runtime: pi, workdir: ~/src, env: { SHARED: base, PI_OFFLINE: "0" } }
agents:
  alpha: { workdir: ~/src/alpha, env: { PI_OFFLINE: "1" } }
  scribe: { runtime: shell, command: "bash -l", kickstart: "echo ready", resume: true }
  reviewer:
    runtime: claude
    submit_delay_ms: 150
    enabled: false
`;

const MIXED_JSON = JSON.stringify(
  {
    defaults: { runtime: 'pi', workdir: '~/src', env: { SHARED: 'base', PI_OFFLINE: '0' } },
    agents: {
      alpha: { workdir: '~/src/alpha', env: { PI_OFFLINE: '1' } },
      scribe: { runtime: 'shell', command: 'bash -l', kickstart: 'echo ready', resume: true },
      reviewer: { runtime: 'claude', submit_delay_ms: 150, enabled: false },
    },
  },
  null,
  2,
);

function expectedMixed(home: string): AgentConfig[] {
  return [
    { name: 'alpha', runtime: 'pi', workdir: join(home, 'src/alpha'), env: { SHARED: 'base', PI_OFFLINE: '1' }, enabled: true, resume: false },
    {
      name: 'scribe',
      runtime: 'shell',
      workdir: join(home, 'src'),
      command: 'bash -l',
      kickstart: 'echo ready',
      env: { SHARED: 'base', PI_OFFLINE: '0' },
      enabled: true,
      resume: true,
    },
    {
      name: 'reviewer',
      runtime: 'claude',
      workdir: join(home, 'src'),
      env: { SHARED: 'base', PI_OFFLINE: '0' },
      enabled: false,
      resume: false,
      submit_delay_ms: 150,
    },
  ];
}

test('a valid mixed YAML roster gives its agents in file order with defaults merged under them', () => {
  const home = makeHome('src/alpha');
  const roster = parseRoster(MIXED_YAML, '/etc/roster.yaml', { home });
  assert.equal(roster.file, '/etc/roster.yaml');
  assert.deepEqual(roster.agents, expectedMixed(home));
});

test('the same roster written as JSON gives the same agents', () => {
  const home = makeHome('src/alpha');
  assert.deepEqual(parseRoster(MIXED_JSON, 'roster.json', { home }).agents, expectedMixed(home));
});

test('an agent with no settings gets runtime pi, the home directory, enabled and no resume', () => {
  const home = makeHome();
  const roster = parseRoster('agents:\n  solo:\n  other: {}\n', 'r.yaml', { home });
  assert.deepEqual(roster.agents, [
    { name: 'solo', runtime: 'pi', workdir: home, env: {}, enabled: true, resume: false },
    { name: 'other', runtime: 'pi', workdir: home, env: {}, enabled: true, resume: false },
  ]);
});

test('defaults give every field they set, and an agent overrides them field by field', () => {
  const home = makeHome('a', 'b');
  const text = [
    'defaults:',
    '  runtime: codex',
    '  workdir: ~/a',
    '  enabled: false',
    '  resume: true',
    '  submit_delay_ms: 300',
    '  env: { A: "1", B: "2" }',
    'agents:',
    '  x: {}',
    '  y: { runtime: pi, workdir: ~/b, enabled: true, resume: false, submit_delay_ms: 0, env: { B: "override", C: "3" } }',
  ].join('\n');
  const [x, y] = parseRoster(text, 'r.yaml', { home }).agents;
  assert.deepEqual(x, { name: 'x', runtime: 'codex', workdir: join(home, 'a'), env: { A: '1', B: '2' }, enabled: false, resume: true, submit_delay_ms: 300 });
  assert.deepEqual(y, { name: 'y', runtime: 'pi', workdir: join(home, 'b'), env: { A: '1', B: 'override', C: '3' }, enabled: true, resume: false, submit_delay_ms: 0 });
});

test('a workdir of ~ or ~/… is expanded against the given home and normalised', () => {
  const home = makeHome('src/deep');
  const roster = parseRoster('agents:\n  a: { workdir: "~" }\n  b: { workdir: ~/src/deep/ }\n  c: { workdir: ~/src/./deep/.. }\n', 'r.yaml', { home });
  assert.deepEqual(roster.agents.map((a) => a.workdir), [home, join(home, 'src/deep'), join(home, 'src')]);
});

test('env values are kept as written, as strings', () => {
  const roster = parseRoster(
    'agents:\n  a:\n    env: { FLOAT: 1.0, HEX: 0x1F, BOOL: true, EMPTY: , TILDE_NULL: ~, WORD: yes, QUOTED: "007" }\n',
    'r.yaml',
    { home: makeHome() },
  );
  assert.deepEqual(roster.agents[0]!.env, { FLOAT: '1.0', HEX: '0x1F', BOOL: 'true', EMPTY: '', TILDE_NULL: '', WORD: 'yes', QUOTED: '007' });
});

test('a numeric agent name keeps its leading zeros', () => {
  const roster = parseRoster('agents:\n  007: {}\n', 'r.yaml', { home: makeHome() });
  assert.equal(roster.agents[0]!.name, '007');
});

test('a roster with an unknown field names the field with its line and column and lists the allowed ones', () => {
  const issues = issuesOf('agents:\n  alpha:\n    runtime: pi\n    wrokdir: ~/src\n');
  assert.equal(issues.length, 1);
  assert.match(issues[0]!, /^4:5: agent "alpha": unknown field "wrokdir" \(allowed: runtime, workdir, command, kickstart, env, enabled, resume, submit_delay_ms, profile, notify, worktree, host, mcp, can_message, can_control\)$/);
});

test('defaults refuse command and kickstart, saying they belong to one agent', () => {
  assert.deepEqual(issuesOf('defaults:\n  command: bash\n  kickstart: hi\nagents: {}\n'), [
    '2:3: defaults: unknown field "command" (command cannot have a default; set it on the agent that needs it)',
    '3:3: defaults: unknown field "kickstart" (kickstart cannot have a default; set it on the agent that needs it)',
  ]);
});

test('a roster that is not a map at the top is refused at 1:1', () => {
  assert.deepEqual(issuesOf('- alpha\n- beta\n'), ['1:1: the roster must be a map with an `agents:` key, not a list']);
  assert.deepEqual(issuesOf('just words\n'), ['1:1: the roster must be a map with an `agents:` key, not the string "just words"']);
  assert.deepEqual(issuesOf(''), ['1:1: the roster is empty (it needs an `agents:` map)']);
  assert.deepEqual(issuesOf('# only a comment\n'), ['1:1: the roster is empty (it needs an `agents:` map)']);
});

test('an unknown top-level key is named with its position', () => {
  assert.deepEqual(issuesOf('agents: {}\nagent:\n  a: {}\n'), ['2:1: unknown top-level key "agent" (allowed: defaults, agents, profiles, hosts)']);
});

test('a missing or malformed agents key is an issue', () => {
  assert.deepEqual(issuesOf('defaults: { runtime: pi }\n'), ['1:1: the roster has no `agents:` map (add `agents:` with one entry per agent name)']);
  assert.deepEqual(issuesOf('agents:\n  - alpha\n'), ['2:3: `agents` must be a map of agent name to settings, not a list']);
  assert.deepEqual(issuesOf('agents:\n'), ['1:1: `agents` must be a map of agent name to settings, not nothing']);
  assert.deepEqual(issuesOf('agents:\n  alpha: pi\n'), ['2:10: agent "alpha" must be a map of settings, not the string "pi"']);
});

test('bad agent names are refused with the rule they break, and names starting with _ are reserved', () => {
  const issues = issuesOf(['agents:', '  "has space": {}', '  -dash: {}', '  _holder: {}', '  a.b: {}', `  ${'x'.repeat(65)}: {}`].join('\n'));
  assert.deepEqual(issues, [
    '2:3: invalid agent name "has space": a space is not allowed (use letters, digits, \'_\' and \'-\', starting with a letter or digit)',
    '3:3: invalid agent name "-dash": "-" is not allowed (use letters, digits, \'_\' and \'-\', starting with a letter or digit)',
    "4:3: invalid agent name \"_holder\": names starting with '_' are reserved for the fleet's own tmux sessions",
    '5:3: invalid agent name "a.b": "." is not allowed (use letters, digits, \'_\' and \'-\', starting with a letter or digit)',
    `6:3: invalid agent name "${'x'.repeat(65)}": the name is longer than 64 characters`,
  ]);
});

test('a duplicate agent name is reported where it repeats, pointing at the first', () => {
  assert.deepEqual(issuesOf('agents:\n  alpha: {}\n  beta: {}\n  alpha: { runtime: shell }\n'), [
    '4:3: agent "alpha" is defined twice (first at line 2, column 3)',
  ]);
});

test('a duplicate agent name in JSON is reported with its position too', () => {
  assert.deepEqual(issuesOf('{\n  "agents": {\n    "a": {},\n    "a": {}\n  }\n}\n'), ['4:5: agent "a" is defined twice (first at line 3, column 5)']);
});

test('a duplicate field or env name is reported as a duplicate key', () => {
  assert.deepEqual(issuesOf('agents:\n  a:\n    runtime: pi\n    runtime: shell\n    env: { X: 1, X: 2 }\n'), [
    '4:5: duplicate key "runtime" (first at line 3, column 5)',
    '5:18: duplicate key "X" (first at line 5, column 12)',
  ]);
});

test('fields of the wrong type are named with the type they need and what they got', () => {
  const text = [
    'agents:',
    '  a:',
    '    runtime: 5',
    '    workdir: [/tmp]',
    '    command: true',
    '    kickstart: { text: hi }',
    '    enabled: yes',
    '    resume: 1',
    '    env: [A=1]',
  ].join('\n');
  assert.deepEqual(issuesOf(text), [
    '3:14: agent "a": runtime must be a string, not the number 5',
    '4:14: agent "a": workdir must be a string, not a list',
    '5:14: agent "a": command must be a string, not the boolean true',
    '6:16: agent "a": kickstart must be a string, not a map',
    '7:14: agent "a": enabled must be true or false, not the string "yes"',
    '8:13: agent "a": resume must be true or false, not the number 1',
    '9:10: agent "a": env must be a map of NAME: value, not a list',
  ]);
});

test('env names must be variable names outside MOSAIC_AGENT_, and values single scalars', () => {
  const text = ['agents:', '  a:', '    env:', '      1ST: x', '      WITH-DASH: x', '      MOSAIC_AGENT_WORKDIR: /x', '      MOSAIC_AGENT_OTHER: y', '      NESTED: { a: 1 }', '      OK: fine'].join('\n');
  assert.deepEqual(issuesOf(text), [
    '4:7: agent "a": env name "1ST" is not a variable name (letters, digits and \'_\', not starting with a digit)',
    '5:7: agent "a": env name "WITH-DASH" is not a variable name (letters, digits and \'_\', not starting with a digit)',
    '6:7: agent "a": env name MOSAIC_AGENT_WORKDIR is reserved (use the workdir field instead)',
    "7:7: agent \"a\": env name MOSAIC_AGENT_OTHER is reserved (MOSAIC_AGENT_* are set from the agent's fields)",
    '8:15: agent "a": env NESTED must be a single value (string, number or boolean), not a map',
  ]);
});

test('submit_delay_ms must be a whole number from 0 to 10000', () => {
  const text = ['agents:', '  a: { submit_delay_ms: -1 }', '  b: { submit_delay_ms: 1.5 }', '  c: { submit_delay_ms: 10001 }', '  d: { submit_delay_ms: "100" }', '  e: { submit_delay_ms: 10000 }', '  f: { submit_delay_ms: 0 }'].join('\n');
  const must = 'submit_delay_ms must be a whole number of milliseconds from 0 to 10000';
  assert.deepEqual(issuesOf(text), [
    `2:25: agent "a": ${must}, not the number -1`,
    `3:25: agent "b": ${must}, not the number 1.5`,
    `4:25: agent "c": ${must}, not the number 10001`,
    `5:25: agent "d": ${must}, not the string "100"`,
  ]);
});

test('a runtime must be a lower-case name', () => {
  assert.deepEqual(issuesOf('agents:\n  a: { runtime: Claude }\n  b: { runtime: "" }\n  c: { runtime: my-runtime_2 }\n'), [
    '2:17: agent "a": runtime "Claude" is not a runtime name (lower-case letters, digits, \'_\' and \'-\', such as pi or shell)',
    '3:17: agent "b": runtime "" is not a runtime name (lower-case letters, digits, \'_\' and \'-\', such as pi or shell)',
  ]);
});

test('command and kickstart may not be empty', () => {
  assert.deepEqual(issuesOf('agents:\n  a: { command: "", kickstart: "  " }\n'), [
    '2:17: agent "a": command is empty (leave it out instead)',
    '2:32: agent "a": kickstart is empty (leave it out instead)',
  ]);
});

test('a workdir must be absolute or start with ~/', () => {
  assert.deepEqual(issuesOf('agents:\n  a: { workdir: src/a }\n  b: { workdir: ~bob/src }\n  c: { workdir: "" }\n'), [
    '2:17: agent "a": workdir "src/a" must be absolute or start with ~/',
    '3:17: agent "b": workdir "~bob/src": only ~ and ~/… are expanded; write the full path',
    '4:17: agent "c": workdir is empty (leave it out to use the home directory)',
  ]);
});

test('a workdir that does not exist is named by its resolved path', () => {
  const home = makeHome();
  writeFileSync(join(home, 'file'), '');
  const text = 'agents:\n  a: { workdir: ~/missing }\n  b: { workdir: ~/file }\n';
  assert.deepEqual(issuesOf(text, { home, checkWorkdirs: true }), [
    `2:17: agent "a": workdir ${join(home, 'missing')} does not exist (create it or fix the path)`,
    `3:17: agent "b": workdir ${join(home, 'file')} is not a directory`,
  ]);
});

test('a missing default workdir is reported once, at defaults', () => {
  const home = makeHome();
  const text = 'defaults: { workdir: ~/gone }\nagents:\n  a: {}\n  b: {}\n';
  assert.deepEqual(issuesOf(text, { home, checkWorkdirs: true }), [`1:22: defaults: workdir ${join(home, 'gone')} does not exist (create it or fix the path)`]);
});

test('a missing home used as the workdir is reported at the agent name', () => {
  const home = join(makeHome(), 'nohome');
  assert.deepEqual(issuesOf('agents:\n  a: {}\n', { home, checkWorkdirs: true }), [
    `2:3: agent "a": workdir ${home} (the home directory, as none is set) does not exist (create it or fix the path)`,
  ]);
});

test('workdirs are not checked with checkWorkdirs: false', () => {
  const roster = parseRoster('agents:\n  a: { workdir: /no/such/dir }\n', 'r.yaml', { home: '/no/home', checkWorkdirs: false });
  assert.equal(roster.agents[0]!.workdir, '/no/such/dir');
});

test('values an env file cannot carry are refused', () => {
  assert.deepEqual(issuesOf('agents:\n  a: { env: { X: "a\\0b" }, kickstart: "\\uFFFE" }\n'), [
    '2:18: agent "a": env X contains a NUL character, which an env file cannot carry',
    '2:39: agent "a": kickstart contains the noncharacter U+FFFE, which an env file cannot carry',
  ]);
});

test('YAML syntax errors are reported with their positions, without guesses built on them', () => {
  assert.deepEqual(issuesOf('agents:\n  alpha: { runtime: pi\n  beta: {}\n'), [
    '3:3: YAML syntax: Flow map in block collection must be sufficiently indented and end with a }',
  ]);
  assert.deepEqual(issuesOf('agents:\n\tbad: {}\n'), ['2:1: YAML syntax: Tabs are not allowed as indentation']);
  assert.deepEqual(issuesOf('agents:\n  a: "unterminated\n'), ['3:1: YAML syntax: Missing closing "quote']);
  assert.deepEqual(issuesOf('agents: {}\n---\nagents: {}\n'), ['2:1: YAML syntax: a roster is one document; remove the second `---` and what follows it']);
});

test('a JSON syntax error is reported with its position', () => {
  assert.deepEqual(issuesOf('{\n  "agents": {\n    "a": {,}\n  }\n}\n'), ['3:11: YAML syntax: Unexpected , in flow map']);
});

test('all issues are collected at once and sorted by position', () => {
  const text = [
    'version: 2', // 1
    'defaults: { workdri: ~/x }', // 2
    'agents:', // 3
    '  bad name: {}', // 4
    '  ok: { runtime: 7, env: { MOSAIC_AGENT_X: y } }', // 5
    '  ok: {}', // 6
    '  late: { submit_delay_ms: 99999, enabled: "no" }', // 7
  ].join('\n');
  const issues = issuesOf(text);
  assert.deepEqual(
    issues.map((i) => i.split(': ')[0]),
    ['1:1', '2:13', '4:3', '5:18', '5:28', '6:3', '7:28', '7:44'],
  );
});

test('a RosterError is a FleetError whose message names the file once, then each issue\'s line and column', () => {
  try {
    parseRoster('agents:\n  a: { x: 1 }\n  b: { y: 2 }\n', '/home/u/roster.yaml', { home: '/', checkWorkdirs: false });
    assert.fail('should throw');
  } catch (err) {
    assert.ok(err instanceof RosterError);
    assert.ok(err instanceof FleetError);
    assert.equal(err.exitCode, 1);
    const lines = err.message.split('\n');
    assert.equal(lines[0], '/home/u/roster.yaml has 2 problems:');
    assert.match(lines[1]!, /^  line 2, column 8: agent "a": unknown field "x"/);
    assert.match(lines[2]!, /^  line 3, column 8: agent "b": unknown field "y"/);
    assert.equal(err.hint, 'fix them and run the command again');
    assert.equal(formatError('mosaic-agent', err).split('roster.yaml').length - 1, 1, 'the path once');
    assert.deepEqual(err.issues[0], { file: '/home/u/roster.yaml', line: 2, column: 8, message: err.issues[0]!.message });
  }
});

test('loadRoster reads the file, and a missing one is a FleetError with a hint to create it', () => {
  const home = makeHome();
  const file = join(home, 'roster.yaml');
  assert.throws(
    () => loadRoster(file, { home }),
    (err: unknown) => err instanceof FleetError && !(err instanceof RosterError) && err.message === `no roster at ${file}` && /create it/.test(err.hint ?? ''),
  );
  writeFileSync(file, 'agents:\n  a: {}\n');
  assert.deepEqual(loadRoster(file, { home }), { file, agents: [{ name: 'a', runtime: 'pi', workdir: home, env: {}, enabled: true, resume: false }] });
});

test('the example rosters parse', () => {
  for (const name of ['mixed-fleet.yaml', 'orchestrator.yaml']) {
    const file = join(REPO, 'examples', name);
    const roster = parseRoster(readFileSync(file, 'utf8'), file, { home: '/home/example', checkWorkdirs: false });
    assert.ok(roster.agents.length >= 4, name);
  }
  const orchestrator = loadRoster(join(REPO, 'examples', 'orchestrator.yaml'), { home: '/home/example', checkWorkdirs: false });
  assert.deepEqual(orchestrator.agents.map((a) => a.name), ['orchestrator', 'worker-1', 'worker-2', 'worker-3']);
  assert.match(orchestrator.agents[0]!.kickstart ?? '', /agent-send .*worker-1/);
  const mixed = loadRoster(join(REPO, 'examples', 'mixed-fleet.yaml'), { home: '/home/example', checkWorkdirs: false });
  assert.deepEqual([...new Set(mixed.agents.map((a) => a.runtime))].sort(), ['claude', 'codex', 'pi', 'shell']);
  const [lead, ...workers] = loadRoster(join(REPO, 'examples', 'mcp-orchestrator.yaml'), { home: '/home/example', checkWorkdirs: false }).agents;
  assert.deepEqual([lead!.mcp, lead!.can_message, lead!.can_control, lead!.worktree], [true, ['worker-1', 'worker-2'], true, undefined]);
  assert.deepEqual(workers.map((w) => [w.name, w.mcp, w.worktree?.branch]), [['worker-1', undefined, 'agent/worker-1'], ['worker-2', undefined, 'agent/worker-2']]);
});

// ---------------------------------------------------------------------------
// profiles:

test('a runtime of the user\'s own in `profiles:` and an agent\'s profile changes reach its env file', () => {
  const home = scratchDir('mf-roster-profiles-');
  const roster = parseRoster(
    [
      'profiles:',
      '  mycli: { launch: "mycli --auto", reset: /restart, busy: ["thinking"], input_prompt: ">>", submit_delay_ms: 80 }',
      'agents:',
      '  a: { runtime: mycli }',
      '  b: { runtime: pi, profile: { submit_delay_ms: 300, approval: ["Proceed?"] } }',
      '',
    ].join('\n'),
    'roster.yaml',
    { home, checkWorkdirs: false },
  );
  const [a, b] = roster.agents;
  assert.deepEqual(a!.profile, { launch: ['mycli', '--auto'], reset: '/restart', busy: ['thinking'], input_prompt: '>>', submit_delay_ms: 80 });
  assert.deepEqual(b!.profile, { submit_delay_ms: 300, approval: ['Proceed?'] });
  const env = parseEnvFile(renderEnvFile(a!, 'roster.yaml'));
  assert.deepEqual(JSON.parse(env.MOSAIC_AGENT_PROFILE!), a!.profile);
});

test('a profile\'s clear keys may be a string of words or a list, and an empty list turns clearing off', () => {
  const roster = parseRoster(
    ['agents:', '  a: { runtime: pi, profile: { clear: "C-a C-k" } }', '  b: { runtime: claude, profile: { clear: [] } }', ''].join('\n'),
    'roster.yaml',
    { home: tmpdir(), checkWorkdirs: false },
  );
  const [a, b] = roster.agents;
  assert.deepEqual(resolveProfile('pi', a!.profile, process.env).submit.clear, ['C-a', 'C-k']);
  assert.deepEqual(resolveProfile('claude', b!.profile, process.env).submit.clear, []);
  assert.deepEqual(resolveProfile('claude', undefined, process.env).submit.clear, ['C-e', 'C-u']);
});

test('bad profile fields are reported with their positions', () => {
  const text = ['profiles:', '  x: { extends: nosuch, launch: 3, colour: red }', 'agents:', '  a: { profile: { bracketed: maybe } }', ''].join('\n');
  assert.throws(
    () => parseRoster(text, 'roster.yaml', { home: tmpdir(), checkWorkdirs: false }),
    (e: unknown) => {
      const msg = (e as Error).message;
      return /line 2, column \d+: profile "x": launch must be a list/.test(msg) && /line 2, column \d+: profile "x": unknown field "colour"/.test(msg) && /extends "nosuch" is not a built-in runtime/.test(msg) && /line 4, column \d+: .*bracketed must be true or false/.test(msg);
    },
  );
});

// ---------------------------------------------------------------------------
// worktree: (issue #18)

test('worktree: true gives the agent a worktree of its workdir on branch agent/NAME, the rest left to apply', () => {
  const home = makeHome('src/r');
  const { agents } = parseRoster('agents:\n  alpha: { workdir: ~/src/r, worktree: true }\n  plain: { workdir: ~/src/r }\n', 'r.yaml', { home });
  assert.deepEqual(agents[0]!.worktree, { repo: join(home, 'src/r'), branch: 'agent/alpha' });
  assert.equal(agents[0]!.workdir, join(home, 'src/r'), 'the workdir becomes the worktree only at apply, which asks git');
  assert.equal(agents[1]!.worktree, undefined);
});

test('a worktree map gives repo, branch, base and path, with ~ expanded', () => {
  const home = makeHome('src/r', 'w');
  const { agents } = parseRoster('agents:\n  a: { workdir: ~/w, worktree: { repo: ~/src/r, branch: feat/x-1, base: origin/main, path: ~/trees/a } }\n', 'r.yaml', { home });
  assert.deepEqual(agents[0]!.worktree, { repo: join(home, 'src/r'), branch: 'feat/x-1', base: 'origin/main', path: join(home, 'trees/a') });
});

test('defaults.worktree is merged under each agent field by field, and an agent\'s worktree: false turns it off', () => {
  const home = makeHome('src/r', 'src/other');
  const { agents } = parseRoster(
    ['defaults: { workdir: ~/src/r, worktree: { base: main } }', 'agents:', '  a: {}', '  b: { worktree: { repo: ~/src/other } }', '  c: { worktree: false }', '  d: { worktree: true }'].join('\n'),
    'r.yaml',
    { home },
  );
  assert.deepEqual(
    agents.map((a) => a.worktree),
    [
      { repo: join(home, 'src/r'), branch: 'agent/a', base: 'main' },
      { repo: join(home, 'src/other'), branch: 'agent/b', base: 'main' },
      undefined,
      { repo: join(home, 'src/r'), branch: 'agent/d', base: 'main' },
    ],
  );
  const off = parseRoster('defaults: { worktree: false }\nagents:\n  a: {}\n  b: { worktree: true }\n', 'r.yaml', { home, checkWorkdirs: false }).agents;
  assert.deepEqual(off.map((a) => a.worktree?.branch), [undefined, 'agent/b']);
});

test('bad worktree fields are reported with their positions, and branch and path cannot have a default', () => {
  const text = [
    'defaults: { worktree: { branch: x, path: /p, repo: relative } }',
    'agents:',
    '  a: { worktree: yes }',
    '  b: { worktree: { base: "-x", colour: blue, branch: "" } }',
    '  c: { worktree: { path: ~c/x, repo: [/r] } }',
  ].join('\n');
  assert.deepEqual(issuesOf(text), [
    '1:25: defaults: worktree branch cannot have a default (every agent would get the same one); set it on the agent that needs it',
    '1:36: defaults: worktree path cannot have a default (every agent would get the same one); set it on the agent that needs it',
    '1:52: defaults: worktree repo "relative" must be absolute or start with ~/',
    '3:18: agent "a": worktree must be true, false or a map of repo, branch, base and path, not the string "yes"',
    '4:26: agent "b": worktree base "-x" is not a ref or commit (no leading \'-\', no spaces or control characters)',
    '4:32: agent "b": worktree: unknown field "colour" (allowed: repo, branch, base, path)',
    '4:54: agent "b": worktree branch must be a non-empty string, not the string ""',
    '5:26: agent "c": worktree path "~c/x": only ~ and ~/… are expanded; write the full path',
    '5:38: agent "c": worktree repo must be a non-empty string, not a list',
  ]);
});

test('a branch name git would refuse is refused in the roster, saying why', () => {
  const bad: Record<string, RegExp> = {
    'has space': /a space/,
    'a..b': /'\.\.'/,
    'a@{b': /'@\{'/,
    '-x': /starts with '-'/,
    HEAD: /reserved/,
    '/a': /empty part/,
    'a//b': /empty part/,
    'a/': /empty part/,
    'a.': /ends with '\.'/,
    'a/.hidden': /starting with '\.'/,
    'x.lock': /'\.lock'/,
    'a:b': /one of ~ \^ :/,
    'a~1': /one of ~/,
    'a*': /one of/,
  };
  for (const [name, why] of Object.entries(bad)) {
    const issues = issuesOf(`agents:\n  a: { worktree: { branch: ${JSON.stringify(name)} } }\n`);
    assert.equal(issues.length, 1, name);
    assert.match(issues[0]!, why, name);
  }
  for (const good of ['agent/a', 'feat/x-1_2', 'v1.2', 'a@b', 'ünïcode']) {
    assert.doesNotThrow(() => parseRoster(`agents:\n  a: { worktree: { branch: ${JSON.stringify(good)} } }\n`, 'r.yaml', { home: makeHome(), checkWorkdirs: false }), good);
  }
});

test('two agents on one branch of one repository, or in one worktree path, are refused at the second', () => {
  const text = [
    'defaults: { workdir: /srv/r, worktree: true }',
    'agents:',
    '  a: { worktree: { branch: shared } }',
    '  b: { worktree: { branch: shared } }',
    '  c: { worktree: { path: /t/x } }',
    '  d: { worktree: { path: /t/x } }',
    '  e: { worktree: { repo: /srv/other, branch: shared } }',
  ].join('\n');
  assert.deepEqual(issuesOf(text), [
    '4:18: agent "b": worktree branch "shared" of /srv/r is agent "a"\'s too (a branch can be checked out in one worktree only; give each agent its own branch)',
    '6:26: agent "d": worktree path /t/x is agent "c"\'s too (give each agent its own)',
  ]);
});

test('a worktree repo that does not exist is reported once, where it is written', () => {
  const home = makeHome('w');
  const text = 'defaults: { workdir: ~/w, worktree: { repo: ~/gone } }\nagents:\n  a: {}\n  b: {}\n  c: { worktree: { repo: ~/also-gone } }\n';
  assert.deepEqual(issuesOf(text, { home, checkWorkdirs: true }), [
    `1:45: defaults: worktree repo ${join(home, 'gone')} does not exist (create it or fix the path)`,
    `5:26: agent "c": worktree repo ${join(home, 'also-gone')} does not exist (create it or fix the path)`,
  ]);
});

test('MOSAIC_AGENT_WORKTREE in env points to the worktree field', () => {
  assert.deepEqual(issuesOf('agents:\n  a: { env: { MOSAIC_AGENT_WORKTREE: x } }\n'), ['2:15: agent "a": env name MOSAIC_AGENT_WORKTREE is reserved (use the worktree field instead)']);
});

test("notify: the defaults' events, an agent's replacing them one by one, into the env file; a change of it restarts nothing", () => {
  const home = makeHome();
  const roster = parseRoster(
    `defaults: { notify: { waiting: desktop, failed: [desktop, "https://h.example/x"] } }
agents:
  a: {}
  b: { notify: { waiting: { command: [/bin/echo, hi] }, done: "http://127.0.0.1:9/d" } }
`,
    'r.yaml',
    { home },
  );
  const [a, b] = roster.agents;
  assert.deepEqual(a!.notify, { waiting: 'desktop', failed: ['desktop', 'https://h.example/x'] });
  assert.deepEqual(b!.notify, { waiting: { command: ['/bin/echo', 'hi'] }, failed: ['desktop', 'https://h.example/x'], done: 'http://127.0.0.1:9/d' });
  const envA = renderEnvFile(a!, '/r.yaml');
  assert.deepEqual(JSON.parse(parseEnvFile(envA).MOSAIC_AGENT_NOTIFY!), a!.notify);
  assert.equal(liveChange(envA, renderEnvFile({ ...a!, notify: { done: 'desktop' } }, '/r.yaml')), true);
});

test('notify: an unknown event, a target that is none, a command that is not a list of words are refused where they are written', () => {
  const issues = issuesOf(`agents:
  a: { notify: { finished: desktop } }
  b: { notify: { done: email } }
  c: { notify: { done: { command: "echo hi" } } }
  d: { notify: desktop }
`);
  assert.deepEqual(issues, [
    '2:16: agent "a": notify: unknown event "finished" (events: waiting, done, failed, exited)',
    '3:16: agent "b": notify: done: "email" is not a target (desktop, an http:// or https:// URL, or { command: [WORD, ...] })',
    '4:16: agent "c": notify: done: command must be a list of words, the program first (it runs without a shell)',
    '5:16: agent "d": notify must be a map of waiting, done, failed, exited to what to run, not the string "desktop"',
  ]);
});

test('notify: a command word YAML reads as a boolean or a number is named, with how to quote it', () => {
  const issues = issuesOf(`agents:\n  a: { notify: { done: { command: [true] }, exited: { command: [/bin/x, 10] } } }\n`);
  assert.deepEqual(issues, [
    '2:16: agent "a": notify: done: command word 1 is true, a YAML boolean, not a word: quote it ("true")',
    '2:16: agent "a": notify: exited: command word 2 is 10, a YAML number, not a word: quote it ("10")',
  ]);
});

test('mcp, can_message and can_control: from defaults or the agent, into the env file; a change of them restarts the agent', () => {
  const roster = parseRoster(
    `defaults: { mcp: true, can_message: [b, c] }
agents:
  a: {}
  b: { can_message: '*', can_control: true }
  c: { mcp: false, can_message: [a] }
  d: { can_message: [] }
`,
    'r.yaml',
    { home: makeHome() },
  );
  const [a, b, c, d] = roster.agents;
  assert.deepEqual([a!.mcp, a!.can_message, a!.can_control], [true, ['b', 'c'], undefined]);
  assert.deepEqual([b!.mcp, b!.can_message, b!.can_control], [true, ['*'], true]);
  assert.deepEqual([c!.mcp, c!.can_message], [undefined, ['a']]);
  assert.deepEqual(d!.can_message, []);
  const envA = parseEnvFile(renderEnvFile(a!, '/r.yaml'));
  assert.equal(envA.MOSAIC_AGENT_MCP, '1');
  assert.deepEqual(JSON.parse(envA.MOSAIC_AGENT_CAN_MESSAGE!), ['b', 'c']);
  assert.equal(envA.MOSAIC_AGENT_CAN_CONTROL, undefined);
  const envB = parseEnvFile(renderEnvFile(b!, '/r.yaml'));
  assert.equal(envB.MOSAIC_AGENT_CAN_CONTROL, '1');
  assert.deepEqual(JSON.parse(envB.MOSAIC_AGENT_CAN_MESSAGE!), ['*']);
  assert.equal(parseEnvFile(renderEnvFile(c!, '/r.yaml')).MOSAIC_AGENT_MCP, undefined);
  // The MCP server reads them when its runtime starts it: only a restart brings a change in.
  assert.equal(liveChange(renderEnvFile(a!, '/r.yaml'), renderEnvFile({ ...a!, can_message: ['*'] }, '/r.yaml')), false);
});

test('without can_message the env file says nothing, which lets the agent message every agent', () => {
  const [a] = parseRoster('agents:\n  a: { mcp: true }\n', 'r.yaml', { home: makeHome() }).agents;
  assert.equal(a!.can_message, undefined);
  assert.equal(parseEnvFile(renderEnvFile(a!, '/r.yaml')).MOSAIC_AGENT_CAN_MESSAGE, undefined);
});

test('bad mcp, can_message and can_control values are reported where they are written, a name not in the roster with the nearest one', () => {
  assert.deepEqual(
    issuesOf(`defaults: { can_message: [alpah] }
agents:
  alpha: { mcp: yes please }
  beta: { can_message: all, can_control: 1 }
  gamma: { can_message: [alpha, "bad name", 7, { x: 1 }] }
`),
    [
      '1:26: defaults: can_message: "alpah" is not an agent of the roster (did you mean "alpha"?); use \'*\' for every agent',
      '3:17: agent "alpha": mcp must be true or false, not the string "yes please"',
      '4:24: agent "beta": can_message must be a list of agent names, or \'*\' for every agent, not the string "all"',
      '4:42: agent "beta": can_control must be true or false, not the number 1',
      '5:25: agent "gamma": can_message: "7" is not an agent of the roster; use \'*\' for every agent',
      '5:33: agent "gamma": can_message: "bad name": a space is not allowed (use letters, digits, \'_\' and \'-\', starting with a letter or digit)',
      '5:48: agent "gamma": can_message: must be an agent name, not a map',
    ],
  );
});
