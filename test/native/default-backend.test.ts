// The backend is chosen on first use, as Keras does: a program that never names one gets native
// when its addon loads, else wasm when its module is built, else js, with one line on how to get
// the fastest one passed over. Importing the package creates
// nothing and loads no addon. Each case runs in a fresh process (the choice is per process).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_BACKENDS as BROWSER_TABLE } from '../../src/backend/defaults/browser.js';
import {
  DEFAULT_BACKENDS as NODE_TABLE,
  NATIVE_HINT,
  WASM_FALLBACK_HINT,
} from '../../src/backend/defaults/node.js';

const ROOT = join(import.meta.dirname, '..', '..');
const {
  MNIST_LAB_BACKEND: _forced,
  MNIST_LAB_NO_NATIVE: _hidden,
  MNIST_LAB_NO_WASM: _noWasm,
  ...inherited
} = process.env;

/** Runs `program` (an ES module body importing the package as `lab`) and returns its output. */
function run(program: string, env: Record<string, string> = {}) {
  const source = `import * as lab from ${JSON.stringify(join(ROOT, 'src', 'index.ts'))};\n${program}`;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', source], {
    cwd: ROOT,
    env: { ...inherited, ...env },
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, result.stderr);
  return result;
}

const addonLoaded = `
import { createRequire } from 'node:module';
const addonLoaded = () => Object.keys(createRequire(import.meta.url).cache).some((path) => path.endsWith('.node'));
`;

describe('the default backend', () => {
  it('the tables list the fastest first: Node native, wasm, js; the browser js', () => {
    assert.deepEqual(
      NODE_TABLE.map((row) => row.name),
      ['native', 'wasm', 'js'],
    );
    assert.deepEqual(
      BROWSER_TABLE.map((row) => row.name),
      ['js'],
    );
  });

  it('importing the package loads no addon and creates no backend; first use picks native', () => {
    const result = run(`${addonLoaded}
const before = addonLoaded();
const t = lab.tensor([1, 2, 3]);
console.log(JSON.stringify({ before, after: addonLoaded(), backend: lab.getBackend().name, sum: lab.ops.sum(t).item() }));
`);
    assert.deepEqual(JSON.parse(result.stdout), { before: false, after: true, backend: 'native', sum: 6 });
    assert.equal(result.stderr, '');
  });

  it('without the addon, first use picks wasm and prints the hint once', () => {
    const result = run(
      `lab.tensor([1]); lab.getBackend(); lab.tensor([2]); console.log(lab.getBackend().name);`,
      { MNIST_LAB_NO_NATIVE: '1' },
    );
    assert.equal(result.stdout, 'wasm\n');
    assert.equal(result.stderr, `${WASM_FALLBACK_HINT}\n`);
  });

  it('without the addon and the wasm module, first use picks js and names native (the fastest) once', () => {
    const result = run(
      `lab.tensor([1]); lab.getBackend(); lab.tensor([2]); console.log(lab.getBackend().name);`,
      { MNIST_LAB_NO_NATIVE: '1', MNIST_LAB_NO_WASM: '1' },
    );
    assert.equal(result.stdout, 'js\n');
    assert.equal(result.stderr, `${NATIVE_HINT}\n`);
  });

  it('an explicit choice wins over the default, without a hint', () => {
    const result = run(
      `lab.selectBackend({ backend: 'js' }); lab.tensor([1]); console.log(lab.getBackend().name);`,
    );
    assert.equal(result.stdout, 'js\n');
    assert.equal(result.stderr, '');
  });
});
