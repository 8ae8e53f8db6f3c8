import { test } from 'node:test';
import { scratchDir } from '../helpers/scratch.js';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { firstRunProblems } from '../../lib/runtimes/first-run.js';

const home = () => scratchDir('mf-first-run-');
const W = '/srv/work/alpha';

test('a fresh home makes Claude Code stop at onboarding, folder trust and the bypass prompt', () => {
  const probs = firstRunProblems('claude', { home: home(), workdir: W, env: {}, isRoot: true });
  assert.equal(probs.length, 4);
  assert.match(probs.map((p) => p.problem).join('\n'), /onboarding[\s\S]*trust \/srv\/work\/alpha[\s\S]*skip-permissions[\s\S]*as root/);
  assert.ok(probs.every((p) => p.fix.length > 0));
});

test('a pre-answered Claude Code home has no blockers', () => {
  const h = home();
  writeFileSync(join(h, '.claude.json'), JSON.stringify({ hasCompletedOnboarding: true, projects: { [W]: { hasTrustDialogAccepted: true } } }));
  mkdirSync(join(h, '.claude'));
  writeFileSync(join(h, '.claude', 'settings.json'), JSON.stringify({ skipDangerousModePermissionPrompt: true }));
  assert.deepEqual(firstRunProblems('claude', { home: h, workdir: W, env: { IS_SANDBOX: '1' }, isRoot: true }), []);
});

test('Codex needs its project marked trusted in config.toml', () => {
  const h = home();
  assert.equal(firstRunProblems('codex', { home: h, workdir: W, env: {}, isRoot: false }).length, 1);
  mkdirSync(join(h, '.codex'));
  writeFileSync(join(h, '.codex', 'config.toml'), `model = "x"\n[projects."/other"]\ntrust_level = "trusted"\n[projects."${W}"]\ntrust_level = "trusted"\n`);
  assert.deepEqual(firstRunProblems('codex', { home: h, workdir: W, env: {}, isRoot: false }), []);
  writeFileSync(join(h, '.codex', 'config.toml'), `[projects."${W}"]\n[projects."/other"]\ntrust_level = "trusted"\n`);
  assert.equal(firstRunProblems('codex', { home: h, workdir: W, env: {}, isRoot: false }).length, 1, 'trust of another project does not count');
});

test('Gemini CLI needs the folder in trustedFolders.json', () => {
  const h = home();
  assert.match(firstRunProblems('gemini', { home: h, workdir: W, env: {}, isRoot: false })[0]!.fix, /TRUST_FOLDER/);
  mkdirSync(join(h, '.gemini'));
  writeFileSync(join(h, '.gemini', 'trustedFolders.json'), JSON.stringify({ [W]: 'TRUST_FOLDER' }));
  assert.deepEqual(firstRunProblems('gemini', { home: h, workdir: W, env: {}, isRoot: false }), []);
});

test('runtimes without first-run dialogs have no blockers', () => {
  for (const rt of ['pi', 'shell', 'opencode', 'mystery']) assert.deepEqual(firstRunProblems(rt, { home: home(), workdir: W, env: {}, isRoot: true }), []);
});
