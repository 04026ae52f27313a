import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DataError } from '../../src/data/errors.js';
import { encodeIdx, type IdxArray, parseIdx } from '../../src/data/idx.js';
import { readIdxFile, writeIdxFile } from '../../src/data/node/files.js';
import { tempDir } from './helpers.js';

const SAMPLES: IdxArray[] = [
  { type: 'u8', shape: [2, 3], data: Uint8Array.from([0, 1, 127, 128, 254, 255]) },
  { type: 'i8', shape: [4], data: Int8Array.from([-128, -1, 0, 127]) },
  { type: 'i16', shape: [2, 2], data: Int16Array.from([-32768, -1, 258, 32767]) },
  { type: 'i32', shape: [1, 1, 3], data: Int32Array.from([-2147483648, 16909060, 2147483647]) },
  { type: 'f32', shape: [3], data: Float32Array.from([-1.5, 0.1, 3.4e38]) },
  { type: 'f64', shape: [2, 1], data: Float64Array.from([Math.PI, -Number.MIN_VALUE]) },
  { type: 'u8', shape: [0, 28, 28], data: new Uint8Array(0) },
];

function expectDataError(run: () => unknown, pattern: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof DataError, `expected a DataError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('IDX', () => {
  for (const sample of SAMPLES) {
    test(`round trip ${sample.type} [${sample.shape.join(', ')}]`, () => {
      const bytes = encodeIdx(sample);
      const parsed = parseIdx(bytes);
      assert.equal(parsed.type, sample.type);
      assert.deepEqual(parsed.shape, sample.shape);
      assert.equal(parsed.data.constructor, sample.data.constructor);
      assert.deepEqual(Array.from(parsed.data), Array.from(sample.data));
    });
  }

  test('writes the documented big-endian layout', () => {
    const bytes = encodeIdx({ type: 'i16', shape: [2], data: Int16Array.from([0x0102, -2]) });
    assert.deepEqual(Array.from(bytes), [0, 0, 0x0b, 1, 0, 0, 0, 2, 0x01, 0x02, 0xff, 0xfe]);
  });

  test('rejects a wrong magic number, naming the file and what was found', () => {
    const bytes = encodeIdx(SAMPLES[0]!);
    bytes[0] = 0x42;
    expectDataError(
      () => parseIdx(bytes, 'labels.idx'),
      /^labels\.idx: not an IDX file: expected magic .* found 42 00 08 02/,
    );
    const badType = encodeIdx(SAMPLES[0]!);
    badType[2] = 0x0a;
    expectDataError(() => parseIdx(badType, 'x'), /not an IDX file/);
    expectDataError(() => parseIdx(gzipSync(encodeIdx(SAMPLES[0]!)), 'x.gz'), /found gzip data/);
  });

  test('rejects truncated and over-long files with expected and found sizes', () => {
    const bytes = encodeIdx({ type: 'u8', shape: [10, 28, 28], data: new Uint8Array(7840) });
    expectDataError(
      () => parseIdx(bytes.subarray(0, 1024), 'imgs'),
      /imgs: expected 7856 bytes for 10x28x28 u8 elements, found 1024 \(truncated file\?\)/,
    );
    expectDataError(
      () => parseIdx(bytes.subarray(0, 10), 'imgs'),
      /expected a 16-byte header for 3 dimensions, found 10 bytes/,
    );
    expectDataError(() => parseIdx(bytes.subarray(0, 2), 'imgs'), /at least 4 bytes, found 2/);
    const longer = new Uint8Array(bytes.length + 3);
    longer.set(bytes);
    expectDataError(() => parseIdx(longer, 'imgs'), /found 7859 \(trailing bytes/);
  });

  test('checks the expected element type and shape', () => {
    const floats = encodeIdx({ type: 'f32', shape: [2, 28, 28], data: new Float32Array(1568) });
    expectDataError(
      () => parseIdx(floats, 'f', { type: 'u8' }),
      /f: expected IDX elements of type u8, found f32/,
    );
    const labels = encodeIdx({ type: 'u8', shape: [5], data: new Uint8Array(5) });
    expectDataError(
      () => parseIdx(labels, 'l', { shape: [null, 28, 28] }),
      /l: expected shape \*x28x28, found 5/,
    );
    assert.deepEqual(parseIdx(labels, 'l', { type: 'u8', shape: [null] }).shape, [5]);
  });

  test('encodeIdx rejects a data length or array type that does not match', () => {
    expectDataError(
      () => encodeIdx({ type: 'u8', shape: [3], data: new Uint8Array(2) }),
      /holds 3 elements, found 2/,
    );
    expectDataError(
      () => encodeIdx({ type: 'f32', shape: [1], data: new Float64Array(1) }),
      /needs a Float32Array/,
    );
  });

  test('files: gzip is read transparently; a corrupt gzip or a missing file is a clear error', async () => {
    const dir = tempDir();
    const sample = SAMPLES[3]!;
    await writeIdxFile(join(dir, 'plain'), sample);
    await writeIdxFile(join(dir, 'packed.gz'), sample, { gzip: true });
    for (const name of ['plain', 'packed.gz']) {
      const read = await readIdxFile(join(dir, name));
      assert.deepEqual(Array.from(read.data), Array.from(sample.data));
    }
    const gz = gzipSync(encodeIdx(sample));
    writeFileSync(join(dir, 'cut.gz'), gz.subarray(0, gz.length - 6));
    await assert.rejects(
      readIdxFile(join(dir, 'cut.gz')),
      /cut\.gz: expected gzip data, found a corrupt or truncated gzip stream/,
    );
    await assert.rejects(readIdxFile(join(dir, 'absent')), /absent: cannot read \(ENOENT\)/);
  });
});
