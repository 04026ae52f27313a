// Attention maps in the report of a vit run (issue 17): the class token's attention per head and
// the rollout through the blocks, over test images the model got right and some of its mistakes.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createJsBackend } from '../../src/backend/js/index.js';
import { setBackendInstance } from '../../src/backend/registry.js';
import { attentionMaps } from '../../src/eval/attention.js';
import { writeRunReport } from '../../src/eval/node/run-report.js';
import { tensor } from '../../src/tensor/ops/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { Random } from '../../src/util/random.js';
import { VisionTransformer } from '../../src/zoo/vit.js';

setBackendInstance(createJsBackend());

describe('attention maps', () => {
  it('per head: the class row of the last block; rollout: 0.5 A + 0.5 I multiplied over the blocks', () => {
    // 2 blocks, 2 heads, T = 5 (class token + 2x2 patches), one image.
    const T = 5;
    const block = (rows: number[][][]): Tensor => tensor(rows.flat(2), [1, 2, T, T]);
    const uniform = Array.from({ length: T }, () => new Array<number>(T).fill(1 / T));
    const first = block([uniform, uniform]);
    const classRows = [
      [0.1, 0.6, 0.1, 0.1, 0.1],
      [0.2, 0.0, 0.0, 0.4, 0.4],
    ];
    const last = block(classRows.map((row) => [row, ...uniform.slice(1)]));
    const model = {
      attentionScores: () => ({ logits: tensor([0, 3, 1], [1, 3]), scores: [first, last] }),
    };
    const [maps] = attentionMaps(model, new Uint8Array(4), [0], 2);
    assert.ok(maps);
    assert.equal(maps.grid, 2);
    assert.equal(maps.predicted, 1);
    assert.deepEqual(
      maps.heads.map((h) => h.map((v) => +v.toFixed(6))),
      [[1, 1 / 6, 1 / 6, 1 / 6].map((v) => +v.toFixed(6)), [0, 0, 1, 1]],
    );
    // By hand: M1 = 0.5 U + 0.5 I, M2 = 0.5 mean_h(last) + 0.5 I; rollout row 0 of M2 M1, patches.
    const mix = (a: number[][]) => a.map((row, i) => row.map((v, j) => 0.5 * v + (i === j ? 0.5 : 0)));
    const mean = [0, 1, 2, 3, 4].map((i) =>
      [0, 1, 2, 3, 4].map((j) => (i === 0 ? (classRows[0]![j]! + classRows[1]![j]!) / 2 : 1 / T)),
    );
    const m1 = mix(uniform);
    const m2 = mix(mean);
    const row0 = [0, 1, 2, 3, 4].map((j) => m2[0]!.reduce((s, v, k) => s + v * m1[k]![j]!, 0));
    const patches = row0.slice(1);
    const max = Math.max(...patches);
    maps.rollout.forEach((v, i) => assert.ok(Math.abs(v - patches[i]! / max) < 1e-6, `rollout ${i}`));
  });

  it("a vit run's report shows them for images it got right and for its mistakes", async () => {
    const model = new VisionTransformer({ patchSize: 7, embedDim: 8, depth: 2, numHeads: 2, mlpDim: 16 });
    model.buildFor([28, 28, 1], new Random(2));
    const random = new Random(4);
    const count = 40;
    const images = new Uint8Array(count * 784).map(() => random.nextInt(256));
    // Labels: the model's own answer for the first 6 images, a wrong one for the rest.
    const predicted = model.predict(images).data;
    const labels = new Uint8Array(count).map((_, n) => {
      const row = Array.from(predicted.subarray(n * 10, n * 10 + 10));
      const top = row.indexOf(Math.max(...row));
      return n < 6 ? top : (top + 1) % 10;
    });
    const dir = mkdtempSync(join(tmpdir(), 'mnist-lab-attention-'));
    try {
      const report = await writeRunReport(dir, { model, set: { images, labels, count } });
      const html = readFileSync(report.path, 'utf8');
      assert.match(html, /<h2>Attention<\/h2>/);
      const rows = html.match(/class="attention-row"/g) ?? [];
      assert.equal(rows.length, 8);
      assert.equal((html.match(/#\d+: true \d, predicted \d</g) ?? []).length, 4, 'four right');
      assert.equal(
        (html.match(/<span class="wrong">predicted \d<\/span><\/div>/g) ?? []).length,
        4,
        'four wrong',
      );
      assert.equal((html.match(/<figcaption>head 2<\/figcaption>/g) ?? []).length, 8);
      assert.equal((html.match(/<figcaption>rollout<\/figcaption>/g) ?? []).length, 8);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
