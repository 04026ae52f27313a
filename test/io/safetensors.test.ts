import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  SafetensorsError,
  decodeSafetensors,
  encodeSafetensors,
  tensorValues,
} from '../../src/formats/safetensors.js';
import { fuzzRuns } from '../reliability/fuzz-runs.js';

/** A file from a header object (or raw header text) and data bytes, as the spec lays it out. */
function build(header: unknown, data: number[] | Uint8Array = [], lengthOverride?: bigint): Uint8Array {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const json = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function refuses(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => decodeSafetensors(bytes, 'test.safetensors'),
    (error: unknown) =>
      error instanceof SafetensorsError &&
      error.message.startsWith('test.safetensors: ') &&
      pattern.test(error.message),
  );
}

const F32_ENTRY = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };

describe('safetensors', () => {
  it('reads the specification example byte for byte', () => {
    // The README's example: an I32 [2, 2] tensor named "test" and metadata, written by hand.
    const header =
      '{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]},"__metadata__":{"foo":"bar"}}';
    const bytes = new Uint8Array([
      ...[header.length, 0, 0, 0, 0, 0, 0, 0],
      ...new TextEncoder().encode(header),
      ...[1, 0, 0, 0, 2, 0, 0, 0, 0xfd, 0xff, 0xff, 0xff, 0, 0, 0, 0x80],
    ]);
    const file = decodeSafetensors(bytes);
    assert.deepEqual(file.metadata, { foo: 'bar' });
    const test = file.tensors.get('test');
    assert.ok(test);
    assert.equal(test.dtype, 'I32');
    assert.deepEqual(test.shape, [2, 2]);
    assert.deepEqual(Array.from(tensorValues(test) as Int32Array), [1, 2, -3, -2147483648]);
  });

  it('round-trips F32, F64, I32, U8, I64 and metadata, with an 8-byte aligned buffer', () => {
    const f32 = Float32Array.from([1.5, -2.25, 3e-8, Infinity, NaN, -0]);
    const f64 = Float64Array.from([Math.PI, -1e300]);
    const i32 = Int32Array.from([7, -8, 2147483647]);
    const u8 = Uint8Array.from([0, 128, 255]);
    const i64 = BigInt64Array.from([1n, -(2n ** 62n)]);
    const bytes = encodeSafetensors(
      [
        ['dense/kernel', { dtype: 'F32', shape: [2, 3], data: f32 }],
        ['scalar', { dtype: 'F64', shape: [2], data: f64 }],
        ['counts', { dtype: 'I32', shape: [3], data: i32 }],
        ['pixels', { dtype: 'U8', shape: [1, 3], data: u8 }],
        ['big', { dtype: 'I64', shape: [2], data: i64 }],
        ['empty', { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) }],
      ],
      { format: 'pt', note: 'héllo' },
    );
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal((8 + headerLength) % 8, 0);
    assert.equal(bytes[8 + headerLength - 1], 0x20); // padded with spaces (or exactly aligned)
    const file = decodeSafetensors(bytes);
    assert.deepEqual(
      [...file.tensors.keys()],
      ['dense/kernel', 'scalar', 'counts', 'pixels', 'big', 'empty'],
    );
    assert.deepEqual(file.metadata, { format: 'pt', note: 'héllo' });
    const get = (name: string) => tensorValues(file.tensors.get(name)!);
    assert.deepEqual(
      new Uint8Array((get('dense/kernel') as Float32Array).buffer),
      new Uint8Array(f32.buffer),
    );
    assert.deepEqual(get('scalar'), f64);
    assert.deepEqual(get('counts'), i32);
    assert.deepEqual(get('pixels'), u8);
    assert.deepEqual(get('big'), i64);
    assert.deepEqual(file.tensors.get('empty')!.shape, [0, 4]);
    assert.deepEqual(file.tensors.get('pixels')!.shape, [1, 3]);
  });

  it("keeps a tensor and a metadata key named '__proto__' (own keys, not the prototype)", () => {
    const metadata = JSON.parse('{"__proto__": "kept", "format": "pt"}') as Record<string, string>;
    const bytes = encodeSafetensors(
      [['__proto__', { dtype: 'F32', shape: [1], data: Float32Array.from([4]) }]],
      metadata,
    );
    const file = decodeSafetensors(bytes);
    assert.deepEqual([...file.tensors.keys()], ['__proto__']);
    assert.equal(Object.getOwnPropertyDescriptor(file.metadata, '__proto__')?.value, 'kept');
    assert.equal(file.metadata['format'], 'pt');
  });

  it('reads from a Node Buffer at an odd offset of a shared pool', () => {
    const bytes = encodeSafetensors({ w: { dtype: 'F32', shape: [3], data: Float32Array.from([1, 2, 3]) } });
    const pool = Buffer.alloc(bytes.length + 3);
    pool.set(bytes, 3);
    const file = decodeSafetensors(pool.subarray(3));
    assert.deepEqual(Array.from(tensorValues(file.tensors.get('w')!) as Float32Array), [1, 2, 3]);
  });

  it('widens F16 and BF16 to float32', () => {
    const bytes = build(
      {
        half: { dtype: 'F16', shape: [3], data_offsets: [0, 6] },
        brain: { dtype: 'BF16', shape: [1], data_offsets: [6, 8] },
      },
      [0x00, 0x3c, 0x00, 0xc0, 0x00, 0x7c, 0x80, 0x3f], // 1, -2, +inf | 1.0 in bf16
    );
    const file = decodeSafetensors(bytes);
    assert.deepEqual(Array.from(tensorValues(file.tensors.get('half')!) as Float32Array), [1, -2, Infinity]);
    assert.deepEqual(Array.from(tensorValues(file.tensors.get('brain')!) as Float32Array), [1]);
  });

  it('accepts an empty file body and header padding', () => {
    assert.equal(decodeSafetensors(build('{}')).tensors.size, 0);
    assert.equal(decodeSafetensors(build('{"__metadata__":{"a":"b"}}    ')).metadata['a'], 'b');
  });

  describe('refuses malformed files with a clear error', () => {
    it('shorter than the length field', () => refuses(new Uint8Array(5), /at least 8 bytes/));
    it('header length past the end', () =>
      refuses(build({ x: F32_ENTRY }, new Uint8Array(8), 500n), /runs past the end/));
    it('a huge header length, before allocating', () =>
      refuses(build('{}', [], 2n ** 63n), /runs past the end/));
    it('a header that is not an object', () => refuses(build('[1, 2]'), /JSON object/));
    it('invalid JSON', () => refuses(build('{"a": '), /not valid JSON/));
    it('invalid UTF-8', () => {
      const bytes = build('{"a":1}');
      bytes[10] = 0xff;
      refuses(bytes, /UTF-8/);
    });
    it('duplicate names', () =>
      refuses(
        build(
          '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
          new Uint8Array(8),
        ),
        /duplicate tensor name 'w'/,
      ));
    it('an unknown dtype', () =>
      refuses(build({ w: { ...F32_ENTRY, dtype: 'F31' } }, new Uint8Array(8)), /unknown dtype "F31"/));
    it('a negative or fractional shape', () => {
      refuses(build({ w: { ...F32_ENTRY, shape: [-2] } }, new Uint8Array(8)), /invalid shape/);
      refuses(build({ w: { ...F32_ENTRY, shape: [1.5] } }, new Uint8Array(8)), /invalid shape/);
    });
    it('malformed data_offsets', () => {
      refuses(build({ w: { ...F32_ENTRY, data_offsets: [0] } }, new Uint8Array(8)), /invalid data_offsets/);
      refuses(build({ w: { ...F32_ENTRY, data_offsets: [8, 0] } }, new Uint8Array(8)), /begin after end/);
    });
    it('offsets out of range', () =>
      refuses(
        build({ w: { ...F32_ENTRY, data_offsets: [0, 16], shape: [4] } }, new Uint8Array(8)),
        /run past/,
      ));
    it('overlapping offsets', () =>
      refuses(
        build(
          {
            a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
            b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
          },
          new Uint8Array(12),
        ),
        /overlapping 'a'/,
      ));
    it('a hole between tensors (non-contiguous)', () =>
      refuses(
        build(
          {
            a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] },
            b: { dtype: 'U8', shape: [2], data_offsets: [4, 6] },
          },
          new Uint8Array(6),
        ),
        /\[2, 4\).*hole/,
      ));
    it('trailing bytes no tensor owns', () =>
      refuses(build({ w: F32_ENTRY }, new Uint8Array(12)), /trailing/));
    it('a byte size that disagrees with shape x dtype', () =>
      refuses(
        build({ w: { dtype: 'F64', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8)),
        /needs 16 bytes/,
      ));
    it('non-string metadata', () => refuses(build({ __metadata__: { epoch: 3 } }), /must be strings/));
    it('a tensor entry that is not an object', () => refuses(build({ w: 5 }), /must be an object/));
  });

  it('the writer refuses data that does not fit the shape', () => {
    assert.throws(
      () => encodeSafetensors({ w: { dtype: 'F32', shape: [3], data: new Float32Array(2) } }),
      /needs 12 bytes, its data has 8/,
    );
  });

  it('fuzz: mutated files parse or fail with SafetensorsError, never anything else', () => {
    const valid = encodeSafetensors(
      {
        a: { dtype: 'F32', shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) },
        b: { dtype: 'U8', shape: [3], data: Uint8Array.from([1, 2, 3]) },
      },
      { k: 'v' },
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.nat(valid.length),
        (mutations, cut) => {
          const bytes = valid.slice(0, cut === 0 ? valid.length : cut); // 0: keep the whole file
          for (const [at, value] of mutations) if (at < bytes.length) bytes[at] = value;
          try {
            const file = decodeSafetensors(bytes);
            for (const t of file.tensors.values()) tensorValues(t);
          } catch (error) {
            if (!(error instanceof SafetensorsError)) throw error;
          }
        },
      ),
      { numRuns: fuzzRuns('safetensors', 3000) },
    );
  });
});
