// Where the toolkit's own files are. This one module is CommonJS (.cts) so it
// has __dirname both when the sources run as ES modules (tests, tsx) and in
// the CommonJS bundles that are installed, whose loader gives them dist/lib as
// __dirname (lib/bundle.cts): `import.meta` has no CommonJS form, and the
// build is CommonJS because Node 20's ES module loader costs agent-send more
// than the rest of its work (bench/README.md).
import { join } from 'node:path';

/** The directory holding the lib modules and the shell helpers shipped beside them. */
export const LIB_DIR: string = __dirname;

/** A file shipped beside the lib modules (the build copies the shell helpers to dist/lib). */
export function libFile(name: string): string {
  return join(LIB_DIR, name);
}
