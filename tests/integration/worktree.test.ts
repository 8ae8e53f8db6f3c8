// A git worktree per agent (issue #18), against real git repositories in a
// temporary directory: the worktree module itself, and apply's worktree step
// through apply (with a systemctl on PATH that answers as a user manager would
// and writes down what it was asked: this tier has no user manager).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../../lib/core/exec.js';
import { binArgv } from '../helpers/fleet.js';
import { FleetError } from '../../lib/core/errors.js';
import { readEnvValues } from '../../lib/core/env-file.js';
import { parseRoster, type AgentConfig } from '../../lib/fleet/roster.js';
import { renderEnvFile } from '../../lib/fleet/env-files.js';
import { planApply } from '../../lib/fleet/plan.js';
import { applyRoster } from '../../lib/fleet/apply.js';
import { fleetContext } from '../../lib/fleet/context.js';
import {
  describeTarget,
  inspectWorktree,
  keptReason,
  listWorktrees,
  makeWorktree,
  planWorktrees,
  previewRemoval,
  readWorktreeRecords,
  removeWorktree,
  renderWorktrees,
} from '../../lib/fleet/worktree.js';

let dir: string;
let env: NodeJS.ProcessEnv;
let n = 0;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mf-worktree-'));
  env = gitEnv(join(dir, 'home'));
  mkdirSync(env.HOME!, { recursive: true });
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** An environment where git reads no config of this machine's and commits as a test author. */
function gitEnv(home: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: home,
    LANG: 'C.UTF-8',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_AUTHOR_NAME: 'Test',
    GIT_AUTHOR_EMAIL: 'test@example.invalid',
    GIT_COMMITTER_NAME: 'Test',
    GIT_COMMITTER_EMAIL: 'test@example.invalid',
  };
}

/** A fresh place for one test: its own repository (with one commit on main) and its own fleet state. */
async function scene(opts: { commit?: boolean } = {}): Promise<{ root: string; repo: string; env: NodeJS.ProcessEnv }> {
  const root = join(dir, `s${++n}`);
  const repo = join(root, 'repo');
  mkdirSync(repo, { recursive: true });
  const e = { ...env, MOSAIC_FLEET_STATE_DIR: join(root, 'state'), MOSAIC_FLEET_CONFIG_DIR: join(root, 'config'), MOSAIC_FLEET_RUNTIME_DIR: join(root, 'run') };
  await run(repo, ['init', '-q', '-b', 'main'], e);
  if (opts.commit !== false) {
    writeFileSync(join(repo, 'README'), 'hello\n');
    mkdirSync(join(repo, 'pkg', 'a'), { recursive: true });
    writeFileSync(join(repo, 'pkg', 'a', 'x.txt'), 'x\n');
    await run(repo, ['add', '.'], e);
    await run(repo, ['commit', '-q', '-m', 'first'], e);
  }
  return { root, repo, env: e };
}

async function run(cwd: string, args: string[], e: NodeJS.ProcessEnv = env): Promise<string> {
  const r = await exec(['git', '-C', cwd, ...args], { env: e });
  assert.equal(r.code, 0, `git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** What an error must not change: the repository's branches and worktrees. */
async function snapshot(repo: string, e: NodeJS.ProcessEnv): Promise<string> {
  return `${await run(repo, ['branch', '--list'], e)}\n${await run(repo, ['worktree', 'list', '--porcelain'], e)}`;
}

function agentsOf(yaml: string, home: string): AgentConfig[] {
  return parseRoster(yaml, 'roster.yaml', { home, checkWorkdirs: true }).agents;
}

async function commitIn(path: string, file: string, e: NodeJS.ProcessEnv): Promise<void> {
  writeFileSync(join(path, file), `${file}\n`);
  await run(path, ['add', file], e);
  await run(path, ['commit', '-q', '-m', `add ${file}`], e);
}

/** Make every worktree of a roster, as apply does. */
async function makeAll(agents: AgentConfig[], e: NodeJS.ProcessEnv, prune = false) {
  const plan = await planWorktrees(agents, { prune, env: e });
  for (const t of plan.targets) await makeWorktree(t, e);
  return plan;
}

test('two agents on one repository get separate worktrees and branches beside it, and their edits do not meet', async () => {
  const { root, repo, env: e } = await scene();
  const agents = agentsOf(`defaults: { runtime: shell, workdir: ${repo}, worktree: true }\nagents:\n  alpha: {}\n  beta: {}\n`, e.HOME!);
  const plan = await makeAll(agents, e);
  const alpha = join(root, 'repo.worktrees', 'alpha');
  const beta = join(root, 'repo.worktrees', 'beta');
  assert.deepEqual(plan.targets.map((t) => [t.agent, t.action, t.path, t.branch, t.base]), [
    ['alpha', 'create', alpha, 'agent/alpha', 'main'],
    ['beta', 'create', beta, 'agent/beta', 'main'],
  ]);
  assert.deepEqual(plan.agents.map((a) => a.workdir), [alpha, beta]);
  assert.equal((await run(alpha, ['branch', '--show-current'], e)).trim(), 'agent/alpha');
  assert.equal((await run(beta, ['branch', '--show-current'], e)).trim(), 'agent/beta');

  writeFileSync(join(alpha, 'alpha-was-here'), '1\n');
  await commitIn(alpha, 'alpha-commit', e);
  writeFileSync(join(beta, 'README'), 'beta changed it\n');
  assert.ok(!existsSync(join(beta, 'alpha-was-here')) && !existsSync(join(beta, 'alpha-commit')));
  assert.ok(!existsSync(join(repo, 'alpha-was-here')) && !existsSync(join(repo, 'alpha-commit')));
  assert.equal(readFileSync(join(alpha, 'README'), 'utf8'), 'hello\n');
  assert.equal(readFileSync(join(repo, 'README'), 'utf8'), 'hello\n');
  assert.equal((await run(repo, ['log', '--format=%s', 'agent/beta'], e)).trim(), 'first');

  // What apply writes for them: each agent's workdir is its worktree.
  const env1 = renderEnvFile(plan.agents[0]!, 'roster.yaml');
  assert.match(env1, new RegExp(`^MOSAIC_AGENT_WORKDIR='${alpha}'$`, 'm'));
  assert.deepEqual([...readWorktreeRecords(e).keys()], ['alpha', 'beta']);
  const listed = await listWorktrees(agents, [], e);
  assert.deepEqual(listed.map((w) => [w.agent, w.state, w.branch, w.base, w.ahead, w.behind, w.dirty]), [
    ['alpha', 'made', 'agent/alpha', 'main', 1, 0, 1],
    ['beta', 'made', 'agent/beta', 'main', 0, 0, 1],
  ]);
  assert.match(renderWorktrees(listed), /^AGENT\s+STATE\s+BRANCH\s+BASE\s+AHEAD\s+BEHIND\s+DIRTY\s+PATH\nalpha\s+made\s+agent\/alpha\s+main\s+1\s+0\s+1\s+\//);
});

test('planning again finds the same worktrees and changes nothing: apply is idempotent', async () => {
  const { repo, env: e } = await scene();
  const yaml = `agents:\n  alpha: { runtime: shell, workdir: ${repo}, worktree: true }\n`;
  const first = await makeAll(agentsOf(yaml, e.HOME!), e);
  const before = await snapshot(repo, e);
  const again = await makeAll(agentsOf(yaml, e.HOME!), e);
  assert.deepEqual(again.targets.map((t) => t.action), ['reuse']);
  assert.equal(describeTarget(again.targets[0]!, false), undefined);
  assert.equal(await snapshot(repo, e), before);
  // The env file apply would write is the one it wrote: the agent is not restarted.
  const current = new Map([['alpha', renderEnvFile(first.agents[0]!, 'roster.yaml')]]);
  assert.deepEqual(planApply({ file: 'roster.yaml', agents: again.agents }, current, new Set()).map((a) => a.kind), ['unchanged']);
});

test('a workdir in a subdirectory of the repository becomes the same subdirectory of the worktree', async () => {
  const { root, repo, env: e } = await scene();
  const plan = await makeAll(agentsOf(`agents:\n  sub: { workdir: ${join(repo, 'pkg', 'a')}, worktree: true }\n`, e.HOME!), e);
  assert.equal(plan.targets[0]!.path, join(root, 'repo.worktrees', 'sub'));
  assert.equal(plan.agents[0]!.workdir, join(root, 'repo.worktrees', 'sub', 'pkg', 'a'));
  assert.ok(existsSync(join(plan.agents[0]!.workdir, 'x.txt')));
});

test('repo, branch, base and path of the roster are used as given, and an existing branch is checked out, not made', async () => {
  const { root, repo, env: e } = await scene();
  await run(repo, ['branch', 'feature'], e);
  await commitIn(repo, 'later', e);
  const elsewhere = join(root, 'elsewhere');
  mkdirSync(elsewhere);
  const plan = await makeAll(agentsOf(`agents:
  a: { workdir: ${elsewhere}, worktree: { repo: ${repo}, branch: work/a, base: feature, path: ${join(root, 'trees', 'a')} } }
  b: { workdir: ${elsewhere}, worktree: { repo: ${repo}, branch: feature } }
`, e.HOME!), e);
  assert.deepEqual(plan.targets.map((t) => [t.action, t.path, t.branch, t.base, t.createdBranch]), [
    ['create', join(root, 'trees', 'a'), 'work/a', 'feature', true],
    ['add', join(root, 'repo.worktrees', 'b'), 'feature', 'main', false],
  ]);
  // A workdir outside the repository: the agent works at the top of its worktree.
  assert.equal(plan.agents[0]!.workdir, join(root, 'trees', 'a'));
  assert.ok(!existsSync(join(root, 'trees', 'a', 'later')), 'work/a starts from feature, not from main');
  // Its own branch does not follow the base anywhere (no upstream).
  assert.equal((await exec(['git', '-C', repo, 'config', 'branch.work/a.merge'], { env: e })).code, 1);
});

test('planning alone makes nothing', async () => {
  const { root, repo, env: e } = await scene();
  const before = await snapshot(repo, e);
  const plan = await planWorktrees(agentsOf(`agents:\n  alpha: { workdir: ${repo}, worktree: true }\n`, e.HOME!), { prune: true, env: e });
  assert.equal(describeTarget(plan.targets[0]!, false), `worktree alpha: ${join(root, 'repo.worktrees', 'alpha')} will be made on a new branch agent/alpha from main`);
  assert.equal(await snapshot(repo, e), before);
  assert.ok(!existsSync(join(root, 'repo.worktrees')));
  assert.equal(readWorktreeRecords(e).size, 0);
});

test('prune keeps a dirty worktree and one with unmerged commits, and removes a clean merged one with the branch it made', async () => {
  const { root, repo, env: e } = await scene();
  const yaml = `defaults: { workdir: ${repo}, worktree: true }\nagents:\n  dirty: {}\n  ahead: {}\n  clean: {}\n  stays: {}\n`;
  await makeAll(agentsOf(yaml, e.HOME!), e);
  const tree = (name: string) => join(root, 'repo.worktrees', name);
  writeFileSync(join(tree('dirty'), 'untracked.txt'), 'work in progress\n');
  await commitIn(tree('ahead'), 'unmerged', e);

  // Without --prune, agents gone from the roster keep their worktrees.
  const kept = await planWorktrees(agentsOf(`agents:\n  stays: { workdir: ${repo}, worktree: true }\n`, e.HOME!), { prune: false, env: e });
  assert.deepEqual(kept.retire, []);

  const plan = await planWorktrees(agentsOf(`agents:\n  stays: { workdir: ${repo}, worktree: true }\n`, e.HOME!), { prune: true, env: e });
  assert.deepEqual(plan.retire.map((r) => r.agent), ['ahead', 'clean', 'dirty']);
  const previews = await Promise.all(plan.retire.map((r) => previewRemoval(r, e)));
  assert.deepEqual(previews.map((p) => p.removes), [false, true, false]);
  const results = [];
  for (const r of plan.retire) results.push(await removeWorktree(r, { env: e }));
  const [ahead, clean, dirty] = results;
  assert.deepEqual([ahead!.removed, ahead!.reason], [false, '1 commit not in main']);
  assert.deepEqual([dirty!.removed, dirty!.reason], [false, '1 uncommitted file']);
  assert.deepEqual([clean!.removed, clean!.notes], [true, ['branch agent/clean deleted (merged into main)']]);
  assert.ok(existsSync(join(tree('dirty'), 'untracked.txt')));
  assert.ok(existsSync(join(tree('ahead'), 'unmerged')));
  assert.ok(!existsSync(tree('clean')));
  assert.deepEqual((await run(repo, ['branch', '--list', '--format=%(refname:short)'], e)).trim().split('\n'), ['agent/ahead', 'agent/dirty', 'agent/stays', 'main']);
  assert.deepEqual([...readWorktreeRecords(e).keys()], ['ahead', 'dirty', 'stays']);

  // Once its commit is merged into its base, the next prune removes it.
  await run(repo, ['merge', '-q', '--ff-only', 'agent/ahead'], e);
  const again = await planWorktrees(agentsOf(`agents:\n  stays: { workdir: ${repo}, worktree: true }\n`, e.HOME!), { prune: true, env: e });
  const merged = await removeWorktree(again.retire.find((r) => r.agent === 'ahead')!, { env: e });
  assert.deepEqual([merged.removed, merged.notes], [true, ['branch agent/ahead deleted (merged into main)']]);
  assert.ok(!existsSync(tree('ahead')));
});

test('taking worktree: out of an agent retires its worktree, by the same rule', async () => {
  const { root, repo, env: e } = await scene();
  await makeAll(agentsOf(`agents:\n  alpha: { workdir: ${repo}, worktree: true }\n`, e.HOME!), e);
  const plan = await planWorktrees(agentsOf(`agents:\n  alpha: { workdir: ${repo} }\n`, e.HOME!), { prune: false, env: e });
  assert.deepEqual(plan.agents.map((a) => a.workdir), [repo]);
  assert.deepEqual(plan.retire.map((r) => r.path), [join(root, 'repo.worktrees', 'alpha')]);
});

test('--force removes uncommitted files but keeps a branch with unmerged commits, and a branch that was there before is never deleted', async () => {
  const { root, repo, env: e } = await scene();
  await run(repo, ['branch', 'theirs'], e);
  await makeAll(agentsOf(`agents:\n  mine: { workdir: ${repo}, worktree: true }\n  theirs: { workdir: ${repo}, worktree: { branch: theirs } }\n`, e.HOME!), e);
  const records = readWorktreeRecords(e);
  await commitIn(join(root, 'repo.worktrees', 'mine'), 'unmerged', e);
  writeFileSync(join(root, 'repo.worktrees', 'mine', 'scratch'), 'lost\n');
  const forced = await removeWorktree(records.get('mine')!, { force: true, env: e });
  assert.equal(forced.removed, true);
  assert.match(forced.notes.join('\n'), /^branch agent\/mine kept: 1 commit not in main \(git -C .* branch -D agent\/mine deletes it\)$/);
  assert.ok(!existsSync(join(root, 'repo.worktrees', 'mine')));
  const theirs = await removeWorktree(records.get('theirs')!, { env: e });
  assert.deepEqual([theirs.removed, theirs.notes], [true, ['branch theirs kept: it was there before apply']]);
  assert.deepEqual((await run(repo, ['branch', '--list', '--format=%(refname:short)'], e)).trim().split('\n'), ['agent/mine', 'main', 'theirs']);
});

test('a worktree whose directory was deleted by hand is made again on its branch', async () => {
  const { root, repo, env: e } = await scene();
  const yaml = `agents:\n  alpha: { workdir: ${repo}, worktree: true }\n`;
  await makeAll(agentsOf(yaml, e.HOME!), e);
  await commitIn(join(root, 'repo.worktrees', 'alpha'), 'kept-on-branch', e);
  rmSync(join(root, 'repo.worktrees', 'alpha'), { recursive: true });
  const plan = await makeAll(agentsOf(yaml, e.HOME!), e);
  assert.equal(plan.targets[0]!.action, 'readd');
  assert.ok(existsSync(join(root, 'repo.worktrees', 'alpha', 'kept-on-branch')));
});

/** Plan (and make) a roster that must fail; its problems, after checking that the repository and the fleet's records did not change. */
async function refused(yaml: string, repo: string, e: NodeJS.ProcessEnv): Promise<string> {
  const before = await snapshot(repo, e);
  const records = [...readWorktreeRecords(e).keys()];
  const err = await makeAll(agentsOf(yaml, e.HOME!), e).then(
    () => assert.fail('the roster was planned without a problem'),
    (x: unknown) => x,
  );
  assert.ok(err instanceof FleetError, String(err));
  assert.equal(await snapshot(repo, e), before, 'the branches and worktrees changed');
  assert.deepEqual([...readWorktreeRecords(e).keys()], records);
  return `${err.message} (${err.hint})`;
}

test('a repository that is not one is refused, and nothing is made for any agent', async () => {
  const { root, repo, env: e } = await scene();
  const plain = join(root, 'plain');
  mkdirSync(plain);
  const msg = await refused(`agents:\n  good: { workdir: ${repo}, worktree: true }\n  bad: { workdir: ${plain}, worktree: true }\n`, repo, e);
  assert.match(msg, /^a worktree cannot be made, so nothing was changed:\nagent 'bad': worktree repo .*plain is not a git repository with a working tree \(fatal: not a git repository/);
  assert.match(msg, /git init .*plain/);
  assert.ok(!existsSync(join(root, 'repo.worktrees')), 'the good agent was not made either');
});

test('a branch checked out elsewhere is refused, naming where', async () => {
  const { root, repo, env: e } = await scene();
  await run(repo, ['worktree', 'add', '-q', '-b', 'agent/alpha', join(root, 'by-hand')], e);
  const msg = await refused(`agents:\n  alpha: { workdir: ${repo}, worktree: true }\n  beta: { workdir: ${repo}, worktree: { branch: main } }\n`, repo, e);
  assert.match(msg, /^2 worktrees cannot be made, so nothing was changed:/);
  assert.match(msg, /agent 'alpha': branch agent\/alpha is checked out at .*by-hand, and git checks a branch out in one worktree only \(give the agent another worktree.branch/);
  assert.match(msg, new RegExp(`agent 'beta': branch main is checked out at ${repo}`));
});

test('a path that exists and is not that worktree is refused, and so is a worktree of another branch there', async () => {
  const { root, repo, env: e } = await scene();
  mkdirSync(join(root, 'repo.worktrees', 'alpha'), { recursive: true });
  writeFileSync(join(root, 'repo.worktrees', 'alpha', 'mine'), 'not git\n');
  await run(repo, ['worktree', 'add', '-q', '-b', 'other', join(root, 'repo.worktrees', 'beta')], e);
  const msg = await refused(`defaults: { workdir: ${repo}, worktree: true }\nagents:\n  alpha: {}\n  beta: {}\n`, repo, e);
  assert.match(msg, /agent 'alpha': .*repo\.worktrees\/alpha exists and is not a worktree of .*repo \(move it away, or set worktree.path/);
  assert.match(msg, /agent 'beta': .*repo\.worktrees\/beta is already a worktree of .*repo, on branch other, not on agent\/beta/);
  assert.equal(readFileSync(join(root, 'repo.worktrees', 'alpha', 'mine'), 'utf8'), 'not git\n');
});

test('a base that is not a commit, and a repository without a commit, are refused', async () => {
  const { repo, env: e } = await scene();
  const msg = await refused(`agents:\n  alpha: { workdir: ${repo}, worktree: { base: no-such-branch } }\n`, repo, e);
  assert.match(msg, /agent 'alpha': worktree base no-such-branch is not a commit in /);
  const empty = await scene({ commit: false });
  const before = (await exec(['git', '-C', empty.repo, 'worktree', 'list', '--porcelain'], { env: empty.env })).stdout;
  await assert.rejects(makeAll(agentsOf(`agents:\n  alpha: { workdir: ${empty.repo}, worktree: true }\n`, empty.env.HOME!), empty.env), /has no commit yet, so branch agent\/alpha has nothing to start from/);
  assert.equal((await exec(['git', '-C', empty.repo, 'worktree', 'list', '--porcelain'], { env: empty.env })).stdout, before);
  assert.equal((await exec(['git', '-C', empty.repo, 'branch', '--list'], { env: empty.env })).stdout, '');
});

test('without git the plan says git is missing and how to get it', async () => {
  const { repo, env: e } = await scene();
  const noGit = { ...e, PATH: join(dir, 'no-such-bin') };
  const before = await snapshot(repo, e);
  await assert.rejects(planWorktrees(agentsOf(`agents:\n  alpha: { workdir: ${repo}, worktree: true }\n`, e.HOME!), { prune: false, env: noGit }), (err: unknown) => {
    assert.ok(err instanceof FleetError);
    assert.equal(err.name, 'GitMissingError');
    assert.match(err.message, /^git could not be run \(.*ENOENT.*\), and worktree: needs it$/);
    assert.match(err.hint ?? '', /install git/);
    return true;
  });
  assert.equal(await snapshot(repo, e), before);
});

test('moving an agent to another worktree is refused while the old one holds work, and goes ahead once it does not', async () => {
  const { root, repo, env: e } = await scene();
  await makeAll(agentsOf(`agents:\n  alpha: { workdir: ${repo}, worktree: true }\n`, e.HOME!), e);
  writeFileSync(join(root, 'repo.worktrees', 'alpha', 'wip'), '1\n');
  const moved = `agents:\n  alpha: { workdir: ${repo}, worktree: { branch: agent/alpha-2, path: ${join(root, 'alpha-2')} } }\n`;
  const msg = await refused(moved, repo, e);
  assert.match(msg, /agent 'alpha': its worktree would move from .*repo\.worktrees\/alpha \(branch agent\/alpha\) to .*alpha-2 \(branch agent\/alpha-2\), but the old one has 1 uncommitted file \(.*mosaic-agent worktree remove alpha --force/);
  rmSync(join(root, 'repo.worktrees', 'alpha', 'wip'));
  const plan = await planWorktrees(agentsOf(moved, e.HOME!), { prune: false, env: e });
  assert.deepEqual(plan.retire.map((r) => r.path), [join(root, 'repo.worktrees', 'alpha')]);
});

test('the same branch in another directory is refused until the worktree is moved with git, and then it is the same worktree', async () => {
  const { root, repo, env: e } = await scene();
  const tree = join(root, 'repo.worktrees', 'alpha');
  await makeAll(agentsOf(`agents:\n  alpha: { workdir: ${repo}, worktree: true }\n`, e.HOME!), e);
  await commitIn(tree, 'unmerged', e);
  const moved = `agents:\n  alpha: { workdir: ${repo}, worktree: { path: ${join(root, 'moved')} } }\n`;
  const msg = await refused(moved, repo, e);
  assert.match(msg, new RegExp(`its worktree would move from ${tree} to ${join(root, 'moved')} on the same branch agent/alpha, .*git -C ${repo} worktree move ${tree} ${join(root, 'moved')}`));
  await run(repo, ['worktree', 'move', tree, join(root, 'moved')], e);
  const plan = await makeAll(agentsOf(moved, e.HOME!), e);
  assert.deepEqual([plan.targets[0]!.action, plan.retire], ['reuse', []]);
  assert.deepEqual([readWorktreeRecords(e).get('alpha')!.path, readWorktreeRecords(e).get('alpha')!.createdBranch], [join(root, 'moved'), true]);
});

test('another branch for the same worktree is refused until its owner switches it, and then it is the same worktree', async () => {
  const { root, repo, env: e } = await scene();
  const tree = join(root, 'repo.worktrees', 'alpha');
  await makeAll(agentsOf(`agents:\n  alpha: { workdir: ${repo}, worktree: true }\n`, e.HOME!), e);
  const renamed = `agents:\n  alpha: { workdir: ${repo}, worktree: { branch: agent/alpha-2 } }\n`;
  const msg = await refused(renamed, repo, e);
  assert.match(msg, new RegExp(`agent 'alpha': its worktree ${tree} is on branch agent/alpha, and the roster now asks for branch agent/alpha-2 there \\(switch it yourself`));
  await run(tree, ['switch', '-q', '-c', 'agent/alpha-2'], e);
  const plan = await makeAll(agentsOf(renamed, e.HOME!), e);
  assert.deepEqual([plan.targets[0]!.action, plan.retire], ['reuse', []]);
  assert.equal(readWorktreeRecords(e).get('alpha')!.branch, 'agent/alpha-2');
});

test('what a kept worktree holds is read from git: uncommitted files, commits ahead and behind', async () => {
  const { root, repo, env: e } = await scene();
  await makeAll(agentsOf(`agents:\n  alpha: { workdir: ${repo}, worktree: true }\n`, e.HOME!), e);
  const record = readWorktreeRecords(e).get('alpha')!;
  await commitIn(join(root, 'repo.worktrees', 'alpha'), 'one', e);
  await commitIn(join(root, 'repo.worktrees', 'alpha'), 'two', e);
  await commitIn(repo, 'on-main', e);
  writeFileSync(join(root, 'repo.worktrees', 'alpha', 'README'), 'edited\n');
  writeFileSync(join(root, 'repo.worktrees', 'alpha', 'new'), 'new\n');
  const st = await inspectWorktree(record, e);
  assert.deepEqual([st.ahead, st.behind, st.dirty, st.merged], [2, 1, 2, false]);
  assert.equal(keptReason(st), '2 uncommitted files, 2 commits not in main');
});

// ---------------------------------------------------------------------------
// Through apply

/** A systemctl that keeps which units run (all enabled ones) in a file and writes down every call. */
function systemctlShim(root: string): { path: string; calls: () => string[] } {
  const bin = join(root, 'bin');
  const started = join(root, 'started');
  const calls = join(root, 'calls');
  mkdirSync(bin, { recursive: true });
  writeFileSync(started, '');
  writeFileSync(calls, '');
  writeFileSync(
    join(bin, 'systemctl'),
    `#!/bin/sh
printf '%s\\n' "$*" >> '${calls}'
shift
verb=$1
while [ $# -gt 0 ] && [ "$1" != -- ]; do shift; done
[ $# -gt 0 ] && shift
for u in "$@"; do
  case $verb in
    show) if grep -qx "$u" '${started}'; then printf 'Id=%s\\nActiveState=active\\nUnitFileState=enabled\\n\\n' "$u"; else printf 'Id=%s\\nActiveState=inactive\\nUnitFileState=disabled\\n\\n' "$u"; fi ;;
    start | restart | enable) grep -qx "$u" '${started}' || echo "$u" >> '${started}' ;;
    disable) grep -vx "$u" '${started}' > '${started}.new'; mv '${started}.new' '${started}' ;;
  esac
done
exit 0
`,
  );
  chmodSync(join(bin, 'systemctl'), 0o755);
  return { path: bin, calls: () => readFileSync(calls, 'utf8').split('\n').filter(Boolean) };
}

test('apply makes the worktrees before it starts the agents, shows them in a dry run, and takes one back after its agent left it', async () => {
  const { root, repo, env: e } = await scene();
  const shim = systemctlShim(root);
  const applyEnv = { ...e, PATH: `${shim.path}:${process.env.PATH}`, MOSAIC_TMUX_SOCKET: `mf-wt-${process.pid}`, TMUX_TMPDIR: root, SHELL: '/bin/bash' };
  const rosterPath = join(root, 'roster.yaml');
  const apply = (opts: { dryRun?: boolean; prune?: boolean } = {}) => applyRoster({ rosterPath, dryRun: opts.dryRun ?? false, prune: opts.prune ?? false, restartBusy: true, ctx: fleetContext(applyEnv) });
  writeFileSync(rosterPath, `defaults: { runtime: shell, workdir: ${repo}, worktree: true }\nagents:\n  alpha: {}\n  beta: {}\n`);
  const before = await snapshot(repo, e);
  const dry = await apply({ dryRun: true });
  assert.match(dry.lines[0]!, /^worktree alpha: .*repo\.worktrees\/alpha will be made on a new branch agent\/alpha from main$/);
  assert.match(dry.lines.join('\n'), /create {2}beta: new agent/);
  assert.equal(await snapshot(repo, e), before, 'a dry run makes nothing');
  assert.ok(!existsSync(join(root, 'config', 'agents')));

  const done = await apply();
  assert.match(done.lines[0]!, /^worktree alpha: .*alpha made on a new branch agent\/alpha from main$/);
  assert.equal(readEnvValues(join(root, 'config', 'agents', 'beta.env')).MOSAIC_AGENT_WORKDIR, join(root, 'repo.worktrees', 'beta'));
  assert.ok(shim.calls().some((c) => c.startsWith('--user start -- mosaic-agent@alpha.service mosaic-agent@beta.service')), shim.calls().join('\n'));

  const again = await apply();
  assert.equal(again.changed, false, again.lines.join('\n'));
  assert.deepEqual(again.lines, []);

  // beta leaves its worktree; alpha's is dirty when its agent goes with --prune.
  writeFileSync(join(root, 'repo.worktrees', 'alpha', 'wip'), '1\n');
  writeFileSync(rosterPath, `defaults: { runtime: shell, workdir: ${repo} }\nagents:\n  beta: {}\n`);
  const planned = await apply({ dryRun: true, prune: true });
  assert.match(planned.lines.join('\n'), /kept {4}alpha: worktree .*alpha: 1 uncommitted file \(mosaic-agent worktree remove alpha --force removes it\)/);
  assert.match(planned.lines.join('\n'), /remove {2}beta: worktree .*beta will be removed/);
  const calls = shim.calls().length;
  const pruned = await apply({ prune: true });
  const text = pruned.lines.join('\n');
  assert.match(text, /update {2}beta: .*MOSAIC_AGENT_WORKDIR.*\(restart\)/);
  assert.match(text, /removed beta: worktree .*repo\.worktrees\/beta; branch agent\/beta deleted \(merged into main\)/);
  assert.match(text, /kept {4}alpha: worktree .*alpha: 1 uncommitted file/);
  // The worktree went after the restart that moved its agent out of it.
  assert.ok(shim.calls().slice(calls).some((c) => c === '--user restart -- mosaic-agent@beta.service'));
  assert.ok(!existsSync(join(root, 'repo.worktrees', 'beta')));
  assert.ok(existsSync(join(root, 'repo.worktrees', 'alpha', 'wip')));
  assert.deepEqual([...readWorktreeRecords(e).keys()], ['alpha']);
  // It stays listed, with its reason, at every apply.
  const later = await apply({ prune: true });
  assert.equal(later.changed, false);
  assert.match(later.lines.join('\n'), /kept {4}alpha: .*1 uncommitted file/);
});

test('mosaic-agent worktree lists each agent\'s worktree, and worktree remove keeps work unless --force', async () => {
  const { root, repo, env: e } = await scene();
  const rosterPath = join(root, 'roster.yaml');
  writeFileSync(rosterPath, `defaults: { runtime: shell, workdir: ${repo}, worktree: true }\nagents:\n  alpha: {}\n  later: {}\n`);
  await makeAll(agentsOf(`agents:\n  alpha: { workdir: ${repo}, worktree: true }\n`, e.HOME!), e);
  writeFileSync(join(root, 'repo.worktrees', 'alpha', 'wip'), '1\n');
  const tool = (...args: string[]) => exec(binArgv('mosaic-agent', args), { env: { ...e, MOSAIC_FLEET_ROSTER: rosterPath } });

  const table = await tool('worktree');
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^alpha\s+made\s+agent\/alpha\s+main\s+0\s+0\s+1\s+\S+repo\.worktrees\/alpha$/m);
  assert.match(table.stdout, /^later\s+not made\s+agent\/later\s+main\s+-\s+-\s+-\s+\S+repo\.worktrees\/later$/m);
  assert.match(table.stdout, /^later: mosaic-agent apply makes it$/m);
  const json = JSON.parse((await tool('worktree', 'alpha', '--json')).stdout);
  assert.deepEqual(json.map((w: { agent: string; dirty: number }) => [w.agent, w.dirty]), [['alpha', 1]]);
  const unknown = await tool('worktree', 'alpah');
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /agent 'alpah' has no worktree \(did you mean 'alpha'\?\)/);
  for (const args of [['worktree', '--force'], ['worktree', 'remove'], ['worktree', 'remove', 'alpha', '--json']]) assert.equal((await tool(...args)).code, 2, args.join(' '));

  const kept = await tool('worktree', 'remove', 'alpha');
  assert.equal(kept.code, 1);
  assert.match(kept.stderr, /^mosaic-agent: the worktree \S+alpha of agent 'alpha' was kept: 1 uncommitted file \(commit and merge that work, or remove it anyway with mosaic-agent worktree remove alpha --force/);
  assert.ok(existsSync(join(root, 'repo.worktrees', 'alpha', 'wip')));
  const forced = await tool('worktree', 'remove', 'alpha', '--force');
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, /^alpha: worktree \S+alpha removed\nalpha: branch agent\/alpha deleted \(merged into main\)\nalpha: the roster still gives it a worktree: the next mosaic-agent apply makes a new one\n$/);
  assert.ok(!existsSync(join(root, 'repo.worktrees', 'alpha')));
  assert.equal((await tool('worktree', 'remove', 'alpha')).code, 1, 'nothing left to remove');
});
