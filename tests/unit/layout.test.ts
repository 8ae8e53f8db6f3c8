// lib/ is laid out by concept, each folder importing only the folders before
// it in docs/how-it-works.md's list: nothing points up, there is no cycle
// (issue #14). Read from the sources' import lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/fleet.js';

const ORDER = ['core', 'tmux', 'runtimes', 'events', 'systemd', 'send', 'dispatch', 'fleet', 'cli', 'build'];

test("every lib/ folder imports only the folders before it, and docs/how-it-works.md lists them in that order", () => {
  const lib = join(ROOT, 'lib');
  const folders = readdirSync(lib, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  assert.deepEqual([...folders].sort(), [...ORDER].sort(), 'a folder is missing from ORDER (or from lib/)');
  const upward: string[] = [];
  for (const folder of folders) {
    for (const file of readdirSync(join(lib, folder)).filter((f) => /\.(c?ts|mjs)$/.test(f))) {
      const text = readFileSync(join(lib, folder, file), 'utf8');
      for (const m of text.matchAll(/(?:from|import\()\s*'\.\.\/([a-z]+)\//g)) {
        if (ORDER.indexOf(m[1]!) > ORDER.indexOf(folder)) upward.push(`lib/${folder}/${file} imports lib/${m[1]}/`);
      }
    }
  }
  assert.deepEqual(upward, []);
  const doc = readFileSync(join(ROOT, 'docs', 'how-it-works.md'), 'utf8');
  const listed = [...doc.matchAll(/^\| `([a-z]+)\/` \|/gm)].map((m) => m[1]);
  assert.deepEqual(listed, ORDER);
});

// Files the runtimes load into their own processes: entry points like bin/'s.
const OWN_PROCESS = ['lib/events/pi-extension.ts', 'lib/events/opencode-plugin.mjs'];

test('nothing under lib/ reads the process environment but the files a runtime loads into its own process: bin/ makes the fleet context and passes it down', () => {
  const lib = join(ROOT, 'lib');
  const readers = readdirSync(lib, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(c?ts|mjs)$/.test(f))
    .map((f) => `lib/${f}`)
    .filter((f) => !OWN_PROCESS.includes(f) && readFileSync(join(ROOT, f), 'utf8').includes('process.env'));
  assert.deepEqual(readers, []);
});
