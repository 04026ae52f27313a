// The import rules CI checks (`npm run check:imports`, .dependency-cruiser.cjs) on small trees laid
// out like src/: arrows down the layer table pass; an upward import, an import from a folder on the
// same row, a value import cycle and a folder missing from the table fail, each naming its rule.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..');
const DEPCRUISE = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const scratch = mkdtempSync(join(tmpdir(), 'mnist-lab-imports-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs the project's rules on a tree of `src/` files; returns the exit code and the output. */
function check(files: Record<string, string>): { status: number | null; output: string } {
  const dir = mkdtempSync(join(scratch, 'tree-'));
  copyFileSync(join(ROOT, '.dependency-cruiser.cjs'), join(dir, '.dependency-cruiser.cjs'));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }),
  );
  for (const [name, body] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), body);
  }
  const result = spawnSync(process.execPath, [DEPCRUISE, 'src', '--config', '.dependency-cruiser.cjs'], {
    cwd: dir,
    encoding: 'utf8',
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const DOWNWARD = {
  'src/util/random.ts': 'export const seed = 1;\n',
  'src/tensor/tensor.ts': "import { seed } from '../util/random.js';\nexport const t = seed;\n",
  'src/train/model.ts': "import { t } from '../tensor/tensor.js';\nexport const m = t;\n",
};

describe('import rules (.dependency-cruiser.cjs)', { timeout: 300_000 }, () => {
  it('a tree whose arrows point down the layer table passes', () => {
    const { status, output } = check(DOWNWARD);
    assert.equal(status, 0, output);
  });

  it('an upward import fails, naming the layer rule', () => {
    const { status, output } = check({
      ...DOWNWARD,
      'src/tensor/tensor.ts':
        "import type { m } from '../train/model.js';\nexport const t = 1 as typeof m;\n",
    });
    assert.notEqual(status, 0, output);
    assert.match(output, /layer-tensor: src\/tensor\/tensor\.ts → src\/train\/model\.ts/);
  });

  it('an import from a folder on the same row fails (eval and zoo are siblings, not layers)', () => {
    const { status, output } = check({
      ...DOWNWARD,
      'src/zoo/vit.ts': 'export const vit = 1;\n',
      'src/eval/report.ts': "import { vit } from '../zoo/vit.js';\nexport const r = vit;\n",
    });
    assert.notEqual(status, 0, output);
    assert.match(output, /layer-eval: src\/eval\/report\.ts → src\/zoo\/vit\.ts/);
  });

  it('an import cycle fails; a cycle made only of type imports does not', () => {
    const cycle = check({
      ...DOWNWARD,
      'src/tensor/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
      'src/tensor/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
    });
    assert.notEqual(cycle.status, 0, cycle.output);
    assert.match(cycle.output, /no-circular: src\/tensor\/(a|b)\.ts/);
    const typesOnly = check({
      ...DOWNWARD,
      'src/tensor/a.ts': "import type { B } from './b.js';\nexport interface A { b?: B }\n",
      'src/tensor/b.ts': "import type { A } from './a.js';\nexport interface B { a?: A }\n",
    });
    assert.equal(typesOnly.status, 0, typesOnly.output);
  });

  it('a new top-level folder must be given a row: importing it fails until then', () => {
    const { status, output } = check({
      ...DOWNWARD,
      'src/extras/thing.ts': 'export const thing = 1;\n',
      'src/train/model.ts': "import { thing } from '../extras/thing.js';\nexport const m = thing;\n",
    });
    assert.notEqual(status, 0, output);
    assert.match(output, /layer-train: src\/train\/model\.ts → src\/extras\/thing\.ts/);
  });
});
