// Where the toolkit's own files are. This one module is CommonJS (.cts) so it
// has __dirname both when the sources run as ES modules (tests, tsx) and in
// the CommonJS bundles that are installed, whose loader gives them
// dist/lib/core as __dirname (lib/build/bundle.cts): `import.meta` has no
// CommonJS form, and the build is CommonJS because Node 20's ES module loader
// costs agent-send more than the rest of its work (bench/README.md).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The lib directory: the sources' lib/, or an installed release's dist/lib, where the shell helpers are. */
export const LIB_DIR: string = join(__dirname, '..');

/** A file shipped under lib/ (the build copies the shell helpers to dist/lib, keeping their folders). */
export function libFile(path: string): string {
  return join(LIB_DIR, path);
}

/** The toolkit's version: an installed release's VERSION beside dist/, else the checkout's package.json. */
export function toolVersion(): string {
  for (const rel of ['../../VERSION', '../../package.json', '../package.json']) {
    try {
      const text = readFileSync(join(LIB_DIR, rel), 'utf8');
      return rel.endsWith('VERSION') ? text.trim() : (JSON.parse(text) as { version: string }).version;
    } catch {
      // try the next place
    }
  }
  return 'unknown';
}

/**
 * The argv that runs `mosaic-agent mcp` from these tools, for a runtime to
 * start as an MCP server (issue #17). Installed (LIB_DIR is
 * <tools>/releases/X/dist/lib): the tools' stable launcher <tools>/bin/mosaic-agent,
 * which follows upgrades, else the release's own; from a checkout's dist (or
 * its sources): dist/bin/mosaic-agent.js run by this Node.
 */
export function mcpServerArgv(libDir: string = LIB_DIR): string[] {
  const release = join(libDir, '..', '..');
  for (const launcher of [join(release, '..', '..', 'bin', 'mosaic-agent'), join(release, 'bin', 'mosaic-agent')]) {
    if (existsSync(join(release, 'VERSION')) && existsSync(launcher)) return [launcher, 'mcp'];
  }
  const dist = existsSync(join(libDir, '..', 'bin', 'mosaic-agent.js')) ? join(libDir, '..') : join(libDir, '..', 'dist');
  return [process.execPath, join(dist, 'bin', 'mosaic-agent.js'), 'mcp'];
}
