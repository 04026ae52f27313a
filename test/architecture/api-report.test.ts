// `npm run check:api` (CI, after the build): api-extractor compares the built dist/index.d.ts with the
// reviewed report etc/mnist-lab.api.md. On a copy of the build's declarations: unchanged, it passes;
// one more public name, it fails and says the API changed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..');
const EXTRACTOR = join(ROOT, 'node_modules', '@microsoft', 'api-extractor', 'bin', 'api-extractor');
const built = existsSync(join(ROOT, 'dist', 'index.d.ts'));
const scratch = mkdtempSync(join(tmpdir(), 'mnist-lab-api-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A project folder holding the build's declarations, the config, the report and package.json. */
function project(): string {
  const dir = mkdtempSync(join(scratch, 'project-'));
  cpSync(join(ROOT, 'dist'), join(dir, 'dist'), {
    recursive: true,
    filter: (path) => !/\.(js|map|wasm|html|css|png)$/.test(path) || path.endsWith('.d.ts'),
  });
  // src too: the config's tsconfig (tsconfig.build.json) includes it.
  for (const file of ['api-extractor.json', 'package.json', 'tsconfig.json', 'tsconfig.build.json', 'src']) {
    cpSync(join(ROOT, file), join(dir, file), { recursive: true });
  }
  mkdirSync(join(dir, 'etc'));
  cpSync(join(ROOT, 'etc', 'mnist-lab.api.md'), join(dir, 'etc', 'mnist-lab.api.md'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

function checkApi(dir: string): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [EXTRACTOR, 'run'], { cwd: dir, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('the public API report (npm run check:api)', { timeout: 600_000 }, () => {
  const skip = built ? false : 'dist/index.d.ts is not built (npm run build)';

  it('passes when the built API is the reviewed one', { skip }, () => {
    const { status, output } = checkApi(project());
    assert.equal(status, 0, output);
  });

  it('fails when a public name appears that the report does not list', { skip }, () => {
    const dir = project();
    appendFileSync(join(dir, 'dist', 'index.d.ts'), "export { formatTable } from './finetune/report.js';\n");
    const { status, output } = checkApi(dir);
    assert.notEqual(status, 0, output);
    assert.match(output, /You have changed the API signature/);
  });
});
