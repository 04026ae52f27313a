// Where the package's own files are, resolved from this module's location so the same code works
// from src/server/*.ts (run through tsx) and from dist/server/*.js (built): the package root is two
// directories up in both layouts.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** True when running from the TypeScript sources (tsx), false from dist/. */
const fromSources = fileURLToPath(import.meta.url).endsWith('.ts');

export const PACKAGE_ROOT = resolve(here, '..', '..');

/** The built web app: `npm run build` writes it to dist/web. */
export const DEFAULT_WEB_ROOT = join(PACKAGE_ROOT, 'dist', 'web');

/** The CLI entry a child `train` process runs: src/cli/main.ts under tsx, dist/cli/main.js built. */
export const CLI_ENTRY = fromSources
  ? join(PACKAGE_ROOT, 'src', 'cli', 'main.ts')
  : join(PACKAGE_ROOT, 'dist', 'cli', 'main.js');
