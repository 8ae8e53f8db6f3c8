// What `npm pack` ships must hold everything install.sh needs, so an install
// from the package cannot drift from an install from the checkout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec } from '../../lib/core/exec.js';
import { ROOT } from '../helpers/fleet.js';

test('the package contains the built tools, the waiter, every unit and the installer', async () => {
  const r = await exec(['npm', 'pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, env: process.env, timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  const files = new Set((JSON.parse(r.stdout)[0].files as Array<{ path: string }>).map((f) => f.path));
  const needed = [
    'install.sh',
    'package.json',
    'README.md',
    'dist/lib/systemd/agent-waiter.sh',
    'dist/lib/tmux/agent-logger.sh',
    'dist/lib/runtimes/agent-bashrc.sh',
    ...readdirSync(join(ROOT, 'units')).map((u) => `units/${u}`),
    ...readdirSync(join(ROOT, 'bin')).filter((b) => b.endsWith('.ts')).flatMap((b) => [`dist/bin/${b.replace(/\.ts$/, '.js')}`, `dist/bundle/${b.replace(/\.ts$/, '.js')}`]),
  ];
  for (const f of needed) assert.ok(files.has(f), `npm pack lacks ${f}`);
});

test('every tool the units run is a bin entry point that the build produces', () => {
  const units = readdirSync(join(ROOT, 'units')).map((u) => readFileSync(join(ROOT, 'units', u), 'utf8')).join('\n');
  const tools = [...units.matchAll(/tools\/fleet\/bin\/([a-z-]+)/g)].map((m) => m[1]!);
  assert.ok(tools.length >= 3);
  for (const t of new Set(tools)) assert.ok(readdirSync(join(ROOT, 'dist', 'bin')).includes(`${t}.js`), `units run ${t}, which the build does not produce`);
});

test('the build bundles the MCP SDK into a lazy file of its own: no other command of mosaic-agent, and no other tool, loads it', () => {
  const dir = join(ROOT, 'dist', 'bundle');
  const sdk = /@modelcontextprotocol\/sdk|Invalid request parameters/;
  const files = readdirSync(dir).filter((f) => f.endsWith('.js'));
  const holding = files.filter((f) => sdk.test(readFileSync(join(dir, f), 'utf8')));
  assert.equal(holding.length, 1, `one file holds the SDK: ${holding.join(', ')}`);
  assert.match(holding[0]!, /^mosaic-agent\.lazy\d+\.js$/);
  // Nor does it sit with the terminal emulator that only `logs` loads.
  assert.doesNotMatch(readFileSync(join(dir, holding[0]!), 'utf8'), /xterm/i);
});
