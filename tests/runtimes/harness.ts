// The runtime tier's set-up: the real Claude Code, Codex, opencode and Gemini
// CLI (pinned, installed by install.ts) started by start-agent-session in a
// private test fleet, talking to the mock LLM server on loopback, each agent
// with a throwaway HOME whose first-run questions are answered ahead (or not,
// to see the blockers).
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { mkdirSync, rmSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestFleet, waitFor, pidAlive, type TestFleet } from '../helpers/fleet.js';
import { startMockLLM, type MockServer } from '../fixtures/mock-llm.js';
import { agentPaneOf, captureMany, type Pane } from '../../lib/tmux/tmux.js';
import { agentProfile } from '../../lib/runtimes/profiles.js';
import { activityOf, type Activity } from '../../lib/runtimes/activity.js';
import { runtimesForTests, type Runtimes } from './install.js';

export type RuntimeName = 'claude' | 'codex' | 'opencode' | 'gemini';

/** Messages that trip shells, tmux and terminals; each must arrive as sent. */
export const NASTY: Record<string, string> = {
  quotes: `single ' double " mixed "'`,
  variables: 'echo $HOME ${PATH} $(whoami) %s %d',
  backticks: 'run `date` and ``twice``',
  backslashes: 'a\\b\\\\c \\n not-a-newline \\t',
  'non-ASCII and emoji': 'Grüße, naïve café — 日本語 🚀👩‍💻',
  'several lines': 'first line\nsecond line with "quotes"\n\nfourth after a blank line',
};

export interface Rig {
  fleet: TestFleet;
  mock: MockServer;
  runtimes: Runtimes;
  /** A new agent's HOME and workdir, the first-run questions answered unless `answered` is false. */
  prepare(agent: string, opts?: { answered?: boolean; allowTools?: boolean }): { home: string; workdir: string; env: NodeJS.ProcessEnv };
  start(agent: string, env: NodeJS.ProcessEnv): Promise<Pane>;
  pane(agent: string): Promise<Pane>;
  activity(agent: string): Promise<Activity>;
  /** Wait until the agent reads as `state` on two polls in a row (the status debounce). */
  waitFor(agent: string, state: Activity, timeoutMs?: number): Promise<void>;
  /**
   * With MOSAIC_RUNTIME_SCREENS=DIR, write the agent's screen as
   * `tmux capture-pane -p` shows it to DIR/<runtime>-<name>.txt: how the
   * fixtures in tests/fixtures/screens are recaptured from the real program.
   */
  saveScreen(agent: string, name: string): Promise<void>;
  /** Send with the real agent-send; wait for `expected` more user messages at the mock and return them. */
  send(agent: string, text: string, expected?: number): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * A rig for the tests of one describe block: made in its before(), closed in
 * its after(). The function returned gives a test the rig, or skips it with
 * the reason there is none.
 */
export function rigForBlock(runtime: RuntimeName): (t: { skip(reason: string): void }) => Rig | undefined {
  let rig: Rig | undefined;
  let skip: string | undefined;
  before(async () => {
    const r = await startRig(runtime);
    if ('skip' in r) skip = r.skip;
    else rig = r;
  });
  after(async () => {
    await rig?.close();
  });
  return (t) => {
    if (!rig) t.skip(skip ?? 'no rig');
    return rig;
  };
}

/** The runtimes and a rig for one test file, or why the tier cannot run here. */
export async function startRig(runtime: RuntimeName): Promise<Rig | { skip: string }> {
  const runtimes = await runtimesForTests();
  if ('skip' in runtimes) return runtimes;
  const fleet = await startTestFleet();
  const mock = await startMockLLM({ mainOnly: true });
  const rig: Rig = {
    fleet,
    mock,
    runtimes,
    prepare(agent, opts = {}) {
      const home = join(fleet.dir, 'homes', agent);
      const workdir = join(fleet.dir, 'work', agent);
      mkdirSync(home, { recursive: true });
      mkdirSync(workdir, { recursive: true });
      if (opts.answered !== false) answerFirstRun(runtime, home, workdir, mock, opts.allowTools ?? true);
      const env: NodeJS.ProcessEnv = {
        MOSAIC_AGENT_RUNTIME: runtime,
        MOSAIC_AGENT_WORKDIR: workdir,
        HOME: home,
        XDG_CONFIG_HOME: join(home, '.config'),
        PATH: `${runtimes.binDir}:${process.env.PATH}`,
        ...RUNTIME_ENV[runtime](mock, runtimes),
      };
      return { home, workdir, env };
    },
    async start(agent, env) {
      const r = await fleet.startAgent(agent, env);
      assert.equal(r.result.code, 0, r.result.stderr);
      return rig.pane(agent);
    },
    async pane(agent) {
      const pane = agentPaneOf((await fleet.tmux.listPanes()) ?? [], agent);
      assert.ok(pane, `agent ${agent} has a pane`);
      return pane;
    },
    // As `mosaic-agent status` reads it (lib/fleet/fleet-status.ts): the pane, its
    // profile as recorded on the session, the visible screen.
    async activity(agent) {
      const pane = await rig.pane(agent);
      const screens = await captureMany(fleet.tmux, [pane.paneId]);
      return activityOf(agentProfile(pane.runtime, pane.profileJson, process.env), pane, screens.get(pane.paneId) ?? []);
    },
    async waitFor(agent, state, timeoutMs = 60_000) {
      let inARow = 0;
      try {
        await waitFor(
          async () => {
            inARow = (await rig.activity(agent)) === state ? inARow + 1 : 0;
            return inARow >= 2;
          },
          { what: `${agent} to be ${state}`, timeoutMs, intervalMs: 150 },
        );
      } catch (err) {
        const screen = await fleet.tmux.capture((await rig.pane(agent)).paneId).catch(() => '');
        throw new Error(`${(err as Error).message}: it is ${await rig.activity(agent)}; its screen:\n${screen}`);
      }
    },
    async saveScreen(agent, name) {
      const dir = process.env.MOSAIC_RUNTIME_SCREENS;
      if (!dir) return;
      const r = await fleet.tmux.run(['capture-pane', '-p', '-t', (await rig.pane(agent)).paneId]);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${runtime}-${name}.txt`), r.stdout);
    },
    async send(agent, text, expected = 1) {
      const before = mock.userMessages().length;
      const r = await fleet.run('agent-send', [agent, text]);
      assert.equal(r.code, 0, r.stderr);
      const all = await mock.waitForMessages(before + expected, 60_000);
      return all.slice(before);
    },
    async close() {
      await fleet.close();
      await reapStrays(fleet.dir);
      // What the strays wrote into their HOMEs after the fleet's directory was removed.
      rmSync(fleet.dir, { recursive: true, force: true });
      await mock.close();
    },
  };
  return rig;
}

// The environment each runtime needs to talk to the mock (runtime-notes.md,
// "Runtimes seen running offline against a local mock server").
const RUNTIME_ENV: Record<RuntimeName, (mock: MockServer, runtimes: Runtimes) => NodeJS.ProcessEnv> = {
  claude: (mock) => ({
    ANTHROPIC_BASE_URL: mock.origin,
    ANTHROPIC_AUTH_TOKEN: 'x',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
    // Claude Code refuses --dangerously-skip-permissions as root without it.
    IS_SANDBOX: '1',
  }),
  codex: () => ({ MOCK_API_KEY: 'x' }),
  opencode: (_mock, runtimes) => ({
    // Offline, its fetch of the models.dev catalogue only costs ~2 s of start-up.
    OPENCODE_DISABLE_MODELS_FETCH: '1',
    // Each fresh HOME npm-installs opencode's config-dir packages: from a cache
    // shared by every run, not from the registry each time.
    npm_config_cache: join(runtimes.dir, 'npm-cache'),
  }),
  gemini: (mock) => ({ GEMINI_API_KEY: 'x', GOOGLE_GEMINI_BASE_URL: mock.origin }),
};

function writeJson(path: string, value: unknown): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n');
}

/** What a person answers on a runtime's first start, written ahead, plus the mock as its model provider. */
function answerFirstRun(runtime: RuntimeName, home: string, workdir: string, mock: MockServer, allowTools: boolean): void {
  switch (runtime) {
    case 'claude':
      writeJson(join(home, '.claude.json'), { hasCompletedOnboarding: true, projects: { [workdir]: { hasTrustDialogAccepted: true } } });
      writeJson(join(home, '.claude', 'settings.json'), { skipDangerousModePermissionPrompt: true });
      return;
    case 'codex':
      mkdirSync(join(home, '.codex'), { recursive: true });
      writeFileSync(
        join(home, '.codex', 'config.toml'),
        [
          'model = "mock-model"',
          'model_provider = "mock"',
          'check_for_update_on_startup = false',
          '',
          '[model_providers.mock]',
          'name = "Mock"',
          `base_url = "${mock.baseUrl}"`,
          'env_key = "MOCK_API_KEY"',
          'wire_api = "responses"',
          '',
          `[projects."${workdir}"]`,
          'trust_level = "trusted"',
          '',
        ].join('\n'),
      );
      return;
    case 'opencode':
      writeJson(join(home, '.config', 'opencode', 'opencode.json'), {
        $schema: 'https://opencode.ai/config.json',
        provider: { mock: { npm: '@ai-sdk/openai-compatible', name: 'Mock', options: { baseURL: mock.baseUrl, apiKey: 'x' }, models: { echo: { name: 'echo' } } } },
        model: 'mock/echo',
        autoupdate: false,
        share: 'disabled',
        // opencode has no yolo flag: running tools unasked is this setting (runtime-notes.md).
        permission: allowTools ? 'allow' : { bash: 'ask' },
      });
      return;
    case 'gemini':
      writeJson(join(home, '.gemini', 'settings.json'), {
        security: { auth: { selectedType: 'gemini-api-key' } },
        general: { enableAutoUpdate: false },
        privacy: { usageStatisticsEnabled: false },
      });
      writeJson(join(home, '.gemini', 'trustedFolders.json'), { [workdir]: 'TRUST_FOLDER' });
      return;
  }
}

/** The argv a pane's process runs (its /proc cmdline). */
export function cmdlineOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
}

/**
 * End what the agents left running once their tmux server is gone: Gemini CLI
 * 0.61.0 outlives its pane, and Codex 0.169.0 starts an app-server daemon per
 * HOME. Only processes whose HOME lies in this rig's directory are touched.
 */
async function reapStrays(dir: string): Promise<void> {
  const ours = (): number[] =>
    readdirSync('/proc').flatMap((d) => {
      if (!/^\d+$/.test(d)) return [];
      try {
        const home = readFileSync(`/proc/${d}/environ`, 'utf8').split('\0').find((v) => v.startsWith('HOME='));
        return home?.startsWith(`HOME=${dir}/`) && pidAlive(Number(d)) ? [Number(d)] : [];
      } catch {
        return [];
      }
    });
  const signal = (sig: NodeJS.Signals) => {
    for (const pid of ours()) {
      try {
        process.kill(pid, sig);
      } catch {
        // gone meanwhile
      }
    }
  };
  signal('SIGTERM');
  await waitFor(() => ours().length === 0, { what: 'stray runtime processes to end', timeoutMs: 5000, intervalMs: 100 }).catch(() => signal('SIGKILL'));
}
