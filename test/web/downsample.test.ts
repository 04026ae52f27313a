// The live chart's downsampling: at most maxPoints drawn, the first and the newest point always kept,
// and a kept point stays kept as more arrive (the curve does not shimmer while a run streams in).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { downsample } from '../../web/src/charts.js';

const line = (count: number): { x: number; y: number }[] =>
  Array.from({ length: count }, (_, i) => ({ x: i + 1, y: i * 0.5 }));

describe('downsample', () => {
  it('keeps every point up to maxPoints', () => {
    assert.deepEqual(downsample(line(400), 400), line(400));
  });

  it('draws at most maxPoints, keeping the first and the newest', () => {
    for (const count of [401, 1000, 4097, 25_000]) {
      const kept = downsample(line(count), 400);
      assert.ok(kept.length <= 400 && kept.length > 100, `${count} points -> ${kept.length}`);
      assert.equal(kept[0]?.x, 1);
      assert.equal(kept.at(-1)?.x, count);
    }
  });

  it('keeps the points it kept before, as more arrive (same stride)', () => {
    const before = new Set(
      downsample(line(700), 400)
        .slice(0, -1)
        .map((p) => p.x),
    );
    const after = new Set(downsample(line(790), 400).map((p) => p.x));
    for (const x of before) assert.ok(after.has(x), `x=${x} dropped`);
  });
});
