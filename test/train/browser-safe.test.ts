import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { MemoryRun, smallModel, syntheticData, weightBytes } from './setup.js';

/** Every module reachable from `entry` through imports and re-exports (type-only ones skipped). */
function reachable(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    const source = readFileSync(file, 'utf8');
    const specifiers = [...source.matchAll(/^(?:import|export) (?!type )(?:[^'"]*from )?'([^']+)';/gm)].map(
      (m) => m[1]!,
    );
    seen.set(file, specifiers);
    for (const specifier of specifiers) {
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
    }
  };
  visit(resolve(entry));
  return seen;
}

describe('browser safety', () => {
  it('the trainer, its callbacks and checkpoint code import no Node-only module', () => {
    const entries = [
      'src/train/trainer.ts',
      'src/train/callbacks/index.ts',
      'src/formats/safetensors.ts',
      'src/runs/types.ts',
      'src/runs/layout.ts',
    ];
    for (const entry of entries) {
      for (const [file, specifiers] of reachable(join(process.cwd(), entry))) {
        const nodeOnly = specifiers.filter(
          (s) => s.startsWith('node:') || ['fs', 'path', 'os', 'crypto'].includes(s),
        );
        assert.deepEqual(nodeOnly, [], `${file} imports ${nodeOnly.join(', ')}`);
        assert.ok(!file.endsWith('/train/run.ts'), `${entry} reaches train/run.ts`);
        assert.ok(!file.includes('/runs/node/'), `${entry} reaches ${file}`);
      }
    }
  });

  it('fit({run}) writes and resumes through an injected RunStore, no files involved', async () => {
    const data = syntheticData(48);
    const options = { batchSize: 16, seed: 8, verbose: 0 } as const;
    const straight = smallModel();
    await straight.fit(data.images, data.labels, { ...options, epochs: 2 });
    const run = new MemoryRun();
    await smallModel().fit(data.images, data.labels, { ...options, epochs: 1, run });
    assert.equal(run.config?.model?.className, 'Sequential');
    assert.deepEqual(
      run.checkpoints.map((c) => c.state.step),
      [3],
    );
    const resumed = smallModel();
    await resumed.fit(data.images, data.labels, { ...options, epochs: 2, run, resume: true });
    assert.deepEqual(weightBytes(resumed), weightBytes(straight));
    assert.ok(run.events.some((e) => e.type === 'checkpoint'));
  });
});
