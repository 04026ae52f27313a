// The metrics, the streaming evaluator, the report renderer and the digit preprocessing are shared
// with the web page: nothing they reach may import a Node-only module.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { REPO_ROOT } from './helpers.js';

/** Every module reachable from `entry` through value imports and re-exports (type-only skipped). */
function reachable(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    const source = readFileSync(file, 'utf8');
    const specifiers = [
      ...source.matchAll(/^(?:import|export) (?!type )(?:[^'"]*from )?'([^']+)';/gm),
      ...source.matchAll(/import\('([^']+)'\)/g),
    ].map((m) => m[1] as string);
    seen.set(file, specifiers);
    for (const specifier of specifiers) {
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
    }
  };
  visit(resolve(entry));
  return seen;
}

const NODE_ONLY = ['fs', 'path', 'os', 'crypto', 'pngjs', 'jpeg-js', '@resvg/resvg-js', 'child_process'];

describe('browser safety', () => {
  for (const entry of [
    'src/eval/metrics.ts',
    'src/eval/accumulator.ts',
    'src/eval/evaluate.ts',
    'src/eval/format.ts',
    'src/eval/report.ts',
    'src/predict/preprocess.ts',
    'src/predict/predict.ts',
  ]) {
    test(`${entry} reaches no Node-only module`, () => {
      for (const [file, specifiers] of reachable(join(REPO_ROOT, entry))) {
        const nodeOnly = specifiers.filter((s) => s.startsWith('node:') || NODE_ONLY.includes(s));
        assert.deepEqual(nodeOnly, [], `${file} imports ${nodeOnly.join(', ')}`);
        assert.ok(!file.includes('/node/') && !file.endsWith('/run.ts'), `${entry} reaches ${file}`);
      }
    });
  }
});
