// The build's bundling step (lib/bundle.cts) on a small CommonJS tree made
// here: what the bundle holds, and that its loader runs it the same with and
// without the code cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../../lib/exec.js';
import { bundleBuild } from '../../lib/bundle.cjs';

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'mf-bundle-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const SAMPLE = {
  'dist/bin/tool.js': [
    '#!/usr/bin/env node',
    '"use strict";',
    'const path = require("node:path");',
    'const os = require("os");',
    'const lib = require("../lib/where.js");',
    'const dep = require("leftpad");',
    'process.stdout.write(JSON.stringify({ dir: path.basename(lib.dir), shared: lib.shared === require("../lib/where.js").shared, pad: dep("x", 3), home: typeof os.homedir(), args: process.argv.slice(2) }) + "\\n");',
    'process.exitCode = 3;',
  ].join('\n'),
  'dist/lib/where.js': '"use strict";\nexports.dir = __dirname;\nexports.shared = {};\n',
  'node_modules/leftpad/package.json': '{ "name": "leftpad", "main": "lib/index.js" }',
  'node_modules/leftpad/lib/index.js': 'module.exports = function (s, n) { return s.padStart(n, "."); };\n',
};

test('an entry point becomes one file with its modules and a loader that runs it, with and without the code cache', async () => {
  const dir = tree(SAMPLE);
  try {
    assert.deepEqual(bundleBuild(join(dir, 'dist')), ['tool']);
    const bundle = readFileSync(join(dir, 'dist', 'bundle', 'tool.js'), 'utf8');
    assert.match(bundle, /padStart/, 'the dependency is inside');
    assert.doesNotMatch(bundle, /require\("\.\.\/lib\/where\.js"\)/, 'no relative require is left');
    // Moved elsewhere, as install.sh copies it: nothing may point back at the build tree.
    const moved = join(dir, 'installed');
    await exec(['cp', '-R', join(dir, 'dist'), moved]);
    rmSync(join(dir, 'node_modules'), { recursive: true });
    const run = () => exec([process.execPath, join(moved, 'bin', 'tool.js'), 'a', '-b']);
    const first = await run();
    assert.equal(first.code, 3, first.stderr);
    assert.deepEqual(JSON.parse(first.stdout), { dir: 'lib', shared: true, pad: '..x', home: 'string', args: ['a', '-b'] });
    const caches = readdirSync(join(moved, 'bundle')).filter((f) => f.endsWith('.cache'));
    assert.equal(caches.length, 1, 'the first run leaves a code cache');
    const second = await run();
    assert.deepEqual([second.code, second.stdout, second.stderr], [first.code, first.stdout, '']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// As tsc writes `await import('../lib/late.js')` in CommonJS.
const LAZY_SAMPLE = {
  'dist/bin/tool.js': [
    '"use strict";',
    'const where = require("../lib/where.js");',
    'void (async () => {',
    '  if (process.argv[2] !== "late") return process.stdout.write("early\\n");',
    '  const late = await Promise.resolve().then(() => __importStar(require("../lib/late.js")));',
    '  process.stdout.write(JSON.stringify({ late: late.pad("x"), shared: late.shared === where.shared }) + "\\n");',
    '})();',
    'function __importStar(m) { return m; }',
  ].join('\n'),
  'dist/lib/where.js': SAMPLE['dist/lib/where.js'],
  'dist/lib/late.js': '"use strict";\nconst dep = require("leftpad");\nexports.pad = (s) => dep(s, 4);\nexports.shared = require("./where.js").shared;\n',
  'node_modules/leftpad/package.json': SAMPLE['node_modules/leftpad/package.json'],
  'node_modules/leftpad/lib/index.js': SAMPLE['node_modules/leftpad/lib/index.js'],
};

test('a module loaded only with import() goes in a lazy file, run with its own code cache when first needed', async () => {
  const dir = tree(LAZY_SAMPLE);
  try {
    bundleBuild(join(dir, 'dist'));
    const bundle = readFileSync(join(dir, 'dist', 'bundle', 'tool.js'), 'utf8');
    const lazy = readFileSync(join(dir, 'dist', 'bundle', 'tool.lazy.js'), 'utf8');
    assert.doesNotMatch(bundle, /padStart/, 'the late dependency is not in the first file');
    assert.match(bundle, /exports\.dir = __dirname/, 'a module required at once is');
    assert.match(lazy, /padStart/);
    assert.doesNotMatch(lazy, /exports\.dir = __dirname/, 'a module of the first file is not repeated');
    rmSync(join(dir, 'node_modules'), { recursive: true });
    const run = (...args: string[]) => exec([process.execPath, join(dir, 'dist', 'bin', 'tool.js'), ...args]);
    const caches = () => readdirSync(join(dir, 'dist', 'bundle')).filter((f) => f.endsWith('.cache')).map((f) => f.replace(/\.[0-9a-f]+\.cache$/, ''));
    assert.equal((await run()).stdout, 'early\n');
    assert.deepEqual(caches(), ['tool'], 'a run that needs no late module does not read the lazy file');
    for (let i = 0; i < 2; i++) {
      const r = await run('late');
      assert.deepEqual([r.code, JSON.parse(r.stdout), r.stderr], [0, { late: '...x', shared: true }, '']);
    }
    assert.deepEqual(caches().sort(), ['tool', 'tool.lazy']);
    // A build without import() leaves no lazy file behind.
    writeFileSync(join(dir, 'dist', 'bin', 'tool.js'), SAMPLE['dist/bin/tool.js']);
    mkdirSync(join(dir, 'node_modules', 'leftpad', 'lib'), { recursive: true });
    writeFileSync(join(dir, 'node_modules', 'leftpad', 'package.json'), SAMPLE['node_modules/leftpad/package.json']);
    writeFileSync(join(dir, 'node_modules', 'leftpad', 'lib', 'index.js'), SAMPLE['node_modules/leftpad/lib/index.js']);
    bundleBuild(join(dir, 'dist'));
    assert.deepEqual(readdirSync(join(dir, 'dist', 'bundle')).sort(), ['tool.js']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a changed bundle gets a cache of another name, so it never runs with older code', () => {
  const dir = tree(SAMPLE);
  try {
    bundleBuild(join(dir, 'dist'));
    const before = readFileSync(join(dir, 'dist', 'bin', 'tool.js'), 'utf8').match(/run\('tool', '([0-9a-f]+)'\)/)![1];
    // The same length, other text: V8 alone would take the old cache for it.
    writeFileSync(join(dir, 'dist', 'bin', 'tool.js'), SAMPLE['dist/bin/tool.js'].replace('exitCode = 3', 'exitCode = 4'));
    bundleBuild(join(dir, 'dist'));
    const after = readFileSync(join(dir, 'dist', 'bin', 'tool.js'), 'utf8').match(/run\('tool', '([0-9a-f]+)'\)/)![1];
    assert.notEqual(after, before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a require whose argument is not a literal, or a second bundling without tsc, is refused', () => {
  const dynamic = tree({ 'dist/bin/tool.js': 'const name = "fs";\nrequire(name);\n' });
  const twice = tree(SAMPLE);
  try {
    assert.throws(() => bundleBuild(join(dynamic, 'dist')), /not a string literal cannot be bundled/);
    bundleBuild(join(twice, 'dist'));
    assert.throws(() => bundleBuild(join(twice, 'dist')), /already a loader: run tsc before bundling/);
  } finally {
    rmSync(dynamic, { recursive: true, force: true });
    rmSync(twice, { recursive: true, force: true });
  }
});
