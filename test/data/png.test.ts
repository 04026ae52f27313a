// encodePng and decodePng (pngjs, loaded on first use): a round trip and the size check.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePng, encodePng } from '../../src/data/node/png.js';

describe('encodePng', () => {
  test('round-trips RGBA pixels through pngjs', () => {
    const width = 7;
    const height = 5;
    const data = new Uint8Array(width * height * 4).map((_, i) => (i * 37 + 11) % 256);
    const decoded = decodePng(encodePng({ width, height, data }));
    assert.equal(decoded.width, width);
    assert.equal(decoded.height, height);
    assert.deepEqual(decoded.data, data);
  });

  test('rejects a buffer that does not match the size', () => {
    assert.throws(
      () => encodePng({ width: 3, height: 3, data: new Uint8Array(10) }),
      /expected 36 RGBA bytes/,
    );
  });
});
