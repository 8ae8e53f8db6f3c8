// The build (lib/build/bundle.cts, esbuild) on a small source tree made here: what
// each bundle holds, that its loader runs it the same with and without the
// code cache wherever it is moved, and the lazy file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { exec } from '../../lib/core/exec.js';
import { buildTools, SHIPPED_FILES } from '../../lib/build/bundle.cjs';
import { exitCodeOf, formatError, FleetError, UsageError } from '../../lib/core/errors.js';

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'mf-bundle-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const SAMPLE: Record<string, string> = {
  'bin/tool.ts': [
    '#!/usr/bin/env node',
    "import { basename } from 'node:path';",
    "import { homedir } from 'os';",
    "import { dir, shared } from '../lib/where.js';",
    "import * as again from '../lib/where.js';",
    "import leftpad from 'leftpad';",
    "process.stdout.write(JSON.stringify({ dir: basename(dir), shared: shared === again.shared, pad: leftpad('x', 3), home: typeof homedir(), args: process.argv.slice(2) }) + '\\n');",
    'process.exitCode = 3;',
  ].join('\n'),
  'lib/where.ts': 'export const dir: string = __dirname;\nexport const shared = {};\n',
  ...Object.fromEntries(SHIPPED_FILES.map((f) => [`lib/${f}`, `# ${f}\n`])),
  'node_modules/leftpad/package.json': '{ "name": "leftpad", "main": "lib/index.js" }',
  'node_modules/leftpad/lib/index.js': 'module.exports = function (s, n) { return s.padStart(n, "."); };\n',
};

test('an entry point becomes one file with its modules and a loader that runs it, moved, with and without the code cache', async () => {
  const dir = tree(SAMPLE);
  try {
    assert.deepEqual(await buildTools(dir, join(dir, 'dist')), ['tool']);
    const bundle = readFileSync(join(dir, 'dist', 'bundle', 'tool.js'), 'utf8');
    assert.match(bundle, /padStart/, 'the dependency is inside');
    assert.doesNotMatch(bundle, /require\("\.\.\/lib\/where/, 'no relative require is left');
    assert.deepEqual(readdirSync(join(dir, 'dist', 'lib'), { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => relative(join(dir, 'dist', 'lib'), join(d.parentPath, d.name))).sort(), [...SHIPPED_FILES].sort());
    // Moved elsewhere, as install.sh copies it: nothing may point back at the build tree.
    const moved = join(dir, 'installed');
    await exec(['cp', '-R', join(dir, 'dist'), moved], { env: process.env });
    rmSync(join(dir, 'node_modules'), { recursive: true });
    const run = () => exec([process.execPath, join(moved, 'bin', 'tool.js'), 'a', '-b'], { env: process.env });
    const first = await run();
    assert.equal(first.code, 3, first.stderr);
    // __dirname is dist/lib/core, as lib/core/location.cts's is lib/core (the tree's where.ts reports its own).
    assert.deepEqual(JSON.parse(first.stdout), { dir: 'core', shared: true, pad: '..x', home: 'string', args: ['a', '-b'] });
    const caches = readdirSync(join(moved, 'bundle')).filter((f) => f.endsWith('.cache'));
    assert.equal(caches.length, 1, 'the first run leaves a code cache');
    const second = await run();
    assert.deepEqual([second.code, second.stdout, second.stderr], [first.code, first.stdout, '']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const LAZY_SAMPLE: Record<string, string> = {
  ...SAMPLE,
  'bin/tool.ts': [
    "import { shared } from '../lib/where.js';",
    'void (async () => {',
    "  if (process.argv[2] !== 'late') return process.stdout.write('early\\n');",
    "  const late = await import('../lib/late.js');",
    '  process.stdout.write(JSON.stringify({ late: late.pad("x"), shared: late.shared === shared }) + "\\n");',
    '})();',
  ].join('\n'),
  'lib/late.ts': "import leftpad from 'leftpad';\nexport { shared } from './where.js';\nexport const pad = (s: string): string => leftpad(s, 4);\n",
};

test('a module loaded only with import() goes in a lazy file, run with its own code cache when first needed', async () => {
  const dir = tree(LAZY_SAMPLE);
  try {
    await buildTools(dir, join(dir, 'dist'));
    const bundle = readFileSync(join(dir, 'dist', 'bundle', 'tool.js'), 'utf8');
    const lazy = readFileSync(join(dir, 'dist', 'bundle', 'tool.lazy.js'), 'utf8');
    assert.doesNotMatch(bundle, /padStart/, 'the late dependency is not in the first file');
    assert.match(lazy, /padStart/);
    rmSync(join(dir, 'node_modules'), { recursive: true });
    const run = (...args: string[]) => exec([process.execPath, join(dir, 'dist', 'bin', 'tool.js'), ...args], { env: process.env });
    const caches = () => readdirSync(join(dir, 'dist', 'bundle')).filter((f) => f.endsWith('.cache')).map((f) => f.replace(/\.[0-9a-f]+\.cache$/, ''));
    assert.equal((await run()).stdout, 'early\n');
    assert.deepEqual(caches(), ['tool'], 'a run that needs no late module does not read the lazy file');
    for (let i = 0; i < 2; i++) {
      const r = await run('late');
      // The lazy file has a copy of what it shares with the first: another object.
      assert.deepEqual([r.code, JSON.parse(r.stdout), r.stderr], [0, { late: '...x', shared: false }, '']);
    }
    assert.deepEqual(caches().sort(), ['tool', 'tool.lazy']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('what a lazy module loads with import() in turn goes in a further lazy file, read only when that is needed', async () => {
  const dir = tree({
    ...LAZY_SAMPLE,
    'lib/late.ts': "import leftpad from 'leftpad';\nexport const pad = (s: string): string => leftpad(s, 4);\nexport const later = async (): Promise<string> => (await import('./later.js')).word;\n",
    'lib/later.ts': "export const word = 'later';\n",
    'bin/tool.ts': [
      'void (async () => {',
      "  const late = await import('../lib/late.js');",
      "  process.stdout.write(process.argv[2] === 'later' ? (await late.later()) + '\\n' : late.pad('x') + '\\n');",
      '})();',
    ].join('\n'),
  });
  try {
    await buildTools(dir, join(dir, 'dist'));
    assert.deepEqual(readdirSync(join(dir, 'dist', 'bundle')).sort(), ['tool.js', 'tool.lazy.js', 'tool.lazy2.js']);
    assert.doesNotMatch(readFileSync(join(dir, 'dist', 'bundle', 'tool.lazy.js'), 'utf8'), /"later"/);
    const run = (...args: string[]) => exec([process.execPath, join(dir, 'dist', 'bin', 'tool.js'), ...args], { env: process.env });
    const caches = () => readdirSync(join(dir, 'dist', 'bundle')).filter((f) => f.endsWith('.cache')).map((f) => f.replace(/\.[0-9a-f]+\.cache$/, '')).sort();
    assert.equal((await run()).stdout, '...x\n');
    assert.deepEqual(caches(), ['tool', 'tool.lazy']);
    assert.deepEqual([(await run('later')).stdout], ['later\n']);
    assert.deepEqual(caches(), ['tool', 'tool.lazy', 'tool.lazy2']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('two modules a lazy module loads with import() go in a file each, so loading one does not read the other', async () => {
  const dir = tree({
    ...LAZY_SAMPLE,
    'lib/late.ts': "export const one = async (): Promise<string> => (await import('./one.js')).word;\nexport const two = async (): Promise<string> => (await import('./two.js')).word;\n",
    'lib/one.ts': "export const word = 'first-one';\n",
    'lib/two.ts': "export const word = 'second-two';\n",
    'bin/tool.ts': "void (async () => {\n  const late = await import('../lib/late.js');\n  process.stdout.write((process.argv[2] === 'two' ? await late.two() : await late.one()) + '\\n');\n})();\n",
  });
  try {
    await buildTools(dir, join(dir, 'dist'));
    const bundles = join(dir, 'dist', 'bundle');
    assert.deepEqual(readdirSync(bundles).sort(), ['tool.js', 'tool.lazy.js', 'tool.lazy2.js', 'tool.lazy3.js']);
    const holding = (word: string) => ['tool.lazy2.js', 'tool.lazy3.js'].filter((f) => readFileSync(join(bundles, f), 'utf8').includes(word));
    assert.equal(holding('first-one').length, 1);
    assert.equal(holding('second-two').length, 1);
    assert.notDeepEqual(holding('first-one'), holding('second-two'));
    const run = (...args: string[]) => exec([process.execPath, join(dir, 'dist', 'bin', 'tool.js'), ...args], { env: process.env });
    assert.equal((await run('two')).stdout, 'second-two\n');
    assert.equal((await run()).stdout, 'first-one\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a rebuilt bundle gets a cache of another name, so it never runs with older code, and nothing of the earlier build stays', async () => {
  const dir = tree(LAZY_SAMPLE);
  try {
    await buildTools(dir, join(dir, 'dist'));
    const hashOf = () => readFileSync(join(dir, 'dist', 'bin', 'tool.js'), 'utf8').match(/run\('tool', '([0-9a-f]+)'\)/)![1];
    const before = hashOf();
    writeFileSync(join(dir, 'dist', 'bundle', 'tool.x.cache'), '');
    // The same length, other text: V8 alone would take the old cache for it.
    writeFileSync(join(dir, 'bin', 'tool.ts'), SAMPLE['bin/tool.ts']!.replace('exitCode = 3', 'exitCode = 4'));
    await buildTools(dir, join(dir, 'dist'));
    assert.notEqual(hashOf(), before);
    assert.deepEqual(readdirSync(join(dir, 'dist', 'bundle')).sort(), ['tool.js'], 'no old cache, no lazy file of the earlier build');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an error from another copy of lib/core/errors.ts (a lazy file) is known by its kind, message, hint and exit code', async () => {
  const other = await import(`../../lib/core/errors.js?copy=${Date.now()}`) as typeof import('../../lib/core/errors.js');
  assert.notEqual(other.FleetError, FleetError, 'a second copy of the module');
  const e = new other.UsageError('bad flag', 'see --help');
  assert.ok(e instanceof FleetError && e instanceof UsageError);
  assert.ok(!(new other.FleetError('x') instanceof UsageError));
  assert.equal(exitCodeOf(e), 2);
  assert.equal(formatError('tool', e), 'tool: bad flag (see --help)');
  assert.ok(!(new Error('plain') instanceof FleetError));
});
