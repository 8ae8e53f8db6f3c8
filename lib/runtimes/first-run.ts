// First-run blockers: dialogs a runtime shows before it takes any input (an
// onboarding, a folder-trust question). In an unattended agent an Enter there
// can pick a preselected "No, exit" and end the agent, so doctor looks for
// them ahead of time and prints the exact fix. Facts: docs/runtimes.md
// and the screens in tests/fixtures/screens.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface FirstRunProblem {
  problem: string;
  fix: string;
}

interface Context {
  home: string;
  workdir: string;
  env: NodeJS.ProcessEnv;
  isRoot: boolean;
}

function readJson(path: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

const CHECKS: Record<string, (c: Context) => FirstRunProblem[]> = {
  claude(c) {
    const out: FirstRunProblem[] = [];
    const file = join(c.home, '.claude.json');
    const state = readJson(file) ?? {};
    if (state.hasCompletedOnboarding !== true) {
      out.push({ problem: `Claude Code will show its onboarding (${file} lacks "hasCompletedOnboarding": true)`, fix: `set "hasCompletedOnboarding": true in ${file}` });
    }
    const projects = (state.projects ?? {}) as Record<string, { hasTrustDialogAccepted?: boolean }>;
    if (projects[c.workdir]?.hasTrustDialogAccepted !== true) {
      out.push({
        problem: `Claude Code will ask whether to trust ${c.workdir}, with "No, exit" preselected`,
        fix: `set "projects": {"${c.workdir}": {"hasTrustDialogAccepted": true}} in ${file}`,
      });
    }
    const settings = join(c.home, '.claude', 'settings.json');
    if (readJson(settings)?.skipDangerousModePermissionPrompt !== true) {
      out.push({ problem: 'Claude Code will ask to confirm --dangerously-skip-permissions', fix: `set "skipDangerousModePermissionPrompt": true in ${settings}` });
    }
    if (c.isRoot && c.env.IS_SANDBOX !== '1') {
      out.push({ problem: 'Claude Code refuses --dangerously-skip-permissions as root', fix: 'add IS_SANDBOX=1 to the agent\'s env (roster env:, or its env file)' });
    }
    return out;
  },
  codex(c) {
    const file = join(c.home, '.codex', 'config.toml');
    const text = readText(file);
    const header = `[projects."${c.workdir}"]`;
    const at = text.indexOf(header);
    const section = at === -1 ? '' : text.slice(at + header.length).split(/^\[/m)[0]!;
    if (/^\s*trust_level\s*=\s*"trusted"/m.test(section)) return [];
    return [{ problem: `Codex may ask whether to trust ${c.workdir} (it does in git repositories)`, fix: `add to ${file}:\n${header}\ntrust_level = "trusted"` }];
  },
  gemini(c) {
    const file = join(c.home, '.gemini', 'trustedFolders.json');
    const trusted = readJson(file) ?? {};
    if (trusted[c.workdir] === 'TRUST_FOLDER') return [];
    return [{ problem: `Gemini CLI will ask "Do you trust the files in this folder?" for ${c.workdir}`, fix: `set "${c.workdir}": "TRUST_FOLDER" in ${file}` }];
  },
};

/** The first-run dialogs `runtime` would show for an agent in `workdir`, each with its fix. */
export function firstRunProblems(runtime: string, c: Context): FirstRunProblem[] {
  return CHECKS[runtime]?.(c) ?? [];
}
