// Untrusted bytes into the readers (issue 9): random and mutated IDX files, TF.js model.json +
// weight shards, and PNG/JPEG images either parse or throw our own errors (DataError,
// SafetensorsError, or a plain Error whose message names the input) -- never a TypeError or
// RangeError from deep inside, a hang, or an allocation sized by a lying header.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import jpeg from 'jpeg-js';
import { dense, flatten, decodeImage, sequential } from '../../src/index.js';
import { DataError } from '../../src/data/errors.js';
import { encodeIdx, parseIdx } from '../../src/data/idx.js';
import { encodePng } from '../../src/data/node/png.js';
import { SafetensorsError } from '../../src/formats/safetensors.js';
import { exportTfjs, importTfjs } from '../../src/io/tfjs.js'; // registers the js backend (importTfjs builds the model)
import { jpegOrientation } from '../../src/predict/exif.js';
import { withExifOrientation } from '../predict/exif-helpers.js';
import { countCases, fuzzRuns } from './fuzz-runs.js';

const RUNS = 1500; // CI size per property (FUZZ_RUNS overrides): 3000 IDX, 4500 TF.js, 3300 image cases
const SLOW_MS = 2000; // one parse taking longer is a hang

/** Our errors: the typed ones, or a plain Error with a message (a TypeError is a crash). */
function isOwnError(error: unknown): boolean {
  if (error instanceof DataError || error instanceof SafetensorsError) return true;
  return error instanceof Error && error.constructor === Error && error.message.length > 0;
}

/** Runs `parse`; fails on a foreign error or a parse slower than SLOW_MS. */
function parsesOrThrowsOwnError(parse: () => unknown): void {
  const started = performance.now();
  try {
    parse();
  } catch (error) {
    if (!isOwnError(error)) throw new Error(`foreign error: ${(error as Error).stack ?? String(error)}`);
  }
  const ms = performance.now() - started;
  if (ms > SLOW_MS) throw new Error(`parse took ${Math.round(ms)} ms`);
}

/** Byte-level edits of a valid file: overwrite, insert, delete, truncate, or a big u32 field. */
const edit = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 16 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  // Header fields claiming huge sizes: write a u32 (big-endian) anywhere in the first 64 bytes.
  fc.record({
    kind: fc.constant('u32' as const),
    at: fc.nat({ max: 60 }),
    value: fc.oneof(fc.constantFrom(0, 1, 0x7fffffff, 0xffffffff, 65_535, 1 << 20), fc.nat()),
  }),
);
type Edit = typeof edit extends fc.Arbitrary<infer E> ? E : never;

function mutate(original: Uint8Array, edits: Edit[]): Uint8Array {
  let bytes = Uint8Array.from(original); // a copy with its own buffer (Buffer.slice is a view)
  for (const e of edits) {
    const at = bytes.length === 0 ? 0 : e.at % bytes.length;
    switch (e.kind) {
      case 'set':
        if (bytes.length > 0) bytes[at] = e.byte;
        break;
      case 'insert':
        bytes = Uint8Array.from([...bytes.subarray(0, at), ...e.bytes, ...bytes.subarray(at)]);
        break;
      case 'delete':
        bytes = Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + e.count)]);
        break;
      case 'truncate':
        bytes = bytes.slice(0, at);
        break;
      case 'u32':
        if (e.at + 4 <= bytes.length) new DataView(bytes.buffer).setUint32(e.at, e.value >>> 0);
        break;
    }
  }
  return bytes;
}

const edits = fc.array(edit, { minLength: 1, maxLength: 6 });

describe('fuzz: IDX reader', () => {
  const images = encodeIdx({ type: 'u8', shape: [3, 4, 4], data: new Uint8Array(48).fill(7) });
  const floats = encodeIdx({ type: 'f32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) });
  const labels = encodeIdx({ type: 'u8', shape: [5], data: Uint8Array.from([0, 1, 2, 3, 4]) });

  it('random bytes', () =>
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 128 }), (bytes) =>
        parsesOrThrowsOwnError(() => parseIdx(bytes, 'fuzz.idx')),
      ),
      { numRuns: fuzzRuns('IDX', RUNS) },
    ));

  it('mutated valid files (u8, f32, labels), with and without an expected shape', () =>
    fc.assert(
      fc.property(fc.constantFrom(images, floats, labels), edits, fc.boolean(), (seed, list, expect) =>
        parsesOrThrowsOwnError(() =>
          parseIdx(mutate(seed, list), 'fuzz.idx', expect ? { shape: [null, 4, 4] } : {}),
        ),
      ),
      { numRuns: fuzzRuns('IDX', RUNS) },
    ));

  it('a header claiming 2^32-1 images of 2^32-1 x 2^32-1 is refused by size, not by allocation', () => {
    const lying = Uint8Array.from([0, 0, 8, 3, ...Array<number>(12).fill(0xff), 1, 2, 3]);
    assert.throws(() => parseIdx(lying, 'lying.idx'), DataError);
  });
});

describe('fuzz: TF.js model.json importer', () => {
  const model = sequential([
    flatten({ inputShape: [4, 4, 1] }),
    dense({ units: 3, activation: 'relu' }),
    dense({ units: 2 }),
  ]);
  model.buildFor([4, 4, 1]);
  const artifacts = exportTfjs(model);
  const modelText = JSON.stringify(artifacts.modelJson);
  const shard = (bytes: Uint8Array) => (path: string) => {
    if (path !== 'group1-shard1of1.bin') throw new Error(`fuzz: no shard '${path}'`);
    return bytes;
  };

  it('the unmutated export imports (the seed is valid)', () => {
    const imported = importTfjs(structuredClone(artifacts.modelJson), shard(artifacts.weights));
    assert.equal(imported.countParams(), model.countParams());
  });

  it('random JSON values as model.json', () =>
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (json) =>
        parsesOrThrowsOwnError(() => importTfjs(json, shard(artifacts.weights), 'fuzz/model.json')),
      ),
      { numRuns: fuzzRuns('TF.js importer', RUNS) },
    ));

  // Replace values anywhere in a valid model.json with random JSON (keeps most of the structure,
  // so the importer gets deep before it meets the bad value).
  it('valid model.json with values replaced at random paths, and mutated weight shards', () =>
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.jsonValue({ maxDepth: 2 })), { minLength: 1, maxLength: 3 }),
        fc.option(edits, { nil: undefined }),
        (replacements, shardEdits) => {
          const json = JSON.parse(modelText) as unknown;
          for (const [pick, value] of replacements) replaceAt(json, pick, value);
          const weights = shardEdits ? mutate(artifacts.weights, shardEdits) : artifacts.weights;
          parsesOrThrowsOwnError(() => importTfjs(json, shard(weights), 'fuzz/model.json'));
        },
      ),
      { numRuns: fuzzRuns('TF.js importer', RUNS) },
    ));

  // JSON can carry objects whose 'toString' or 'valueOf' is data, not a function: String(value)
  // on them throws a TypeError. Every member of the valid model.json is replaced by each in turn.
  it('every value of model.json replaced by objects that cannot be turned into text', () => {
    const hostile: unknown[] = [
      { toString: 1 },
      { toString: 1, valueOf: 1 },
      [{ toString: 1 }],
      { class_name: { toString: 1 } },
    ];
    const positions = containers(JSON.parse(modelText)).reduce((n, c) => n + Object.keys(c).length, 0);
    let tried = 0;
    for (let at = 0; at < positions; at++) {
      for (const value of hostile) {
        const json = JSON.parse(modelText) as unknown;
        replaceMember(json, at, structuredClone(value));
        parsesOrThrowsOwnError(() => importTfjs(json, shard(artifacts.weights), 'fuzz/model.json'));
        tried++;
      }
    }
    assert.ok(tried > 100, `only ${tried} cases`);
    countCases('TF.js importer', tried);
  });

  it('model.json text with byte edits (whatever still parses as JSON)', () =>
    fc.assert(
      fc.property(edits, (list) => {
        let json: unknown;
        try {
          json = JSON.parse(new TextDecoder().decode(mutate(new TextEncoder().encode(modelText), list)));
        } catch {
          return; // not JSON: the loader's JSON.parse reports it, not the importer
        }
        parsesOrThrowsOwnError(() => importTfjs(json, shard(artifacts.weights), 'fuzz/model.json'));
      }),
      { numRuns: fuzzRuns('TF.js importer', RUNS) },
    ));
});

/** Every container (object or array) in `root`, depth first. */
function containers(root: unknown, out: (Record<string, unknown> | unknown[])[] = []) {
  if (root !== null && typeof root === 'object') {
    out.push(root as Record<string, unknown>);
    for (const value of Object.values(root)) containers(value, out);
  }
  return out;
}

/** Sets the `index`-th member (counting every container's members, depth first) to `value`. */
function replaceMember(root: unknown, index: number, value: unknown): void {
  let left = index;
  for (const container of containers(root)) {
    const keys = Object.keys(container);
    if (left < keys.length) {
      (container as Record<string, unknown>)[keys[left] as string] = value;
      return;
    }
    left -= keys.length;
  }
}

/** Sets one member of the `pick`-th container (mod count) to `value`. */
function replaceAt(root: unknown, pick: number, value: unknown): void {
  const all = containers(root);
  const target = all[pick % all.length];
  if (!target) return;
  const keys = Object.keys(target);
  if (keys.length === 0) return;
  const key = keys[Math.floor(pick / all.length) % keys.length] as string;
  (target as Record<string, unknown>)[key] = value;
}

describe('fuzz: image decoder (predict)', () => {
  const pixels = new Uint8Array(8 * 6 * 4).map((_, i) => (i * 37) % 256);
  const png = Uint8Array.from(encodePng({ width: 8, height: 6, data: pixels }));
  const jpg = new Uint8Array(jpeg.encode({ width: 8, height: 6, data: Buffer.from(pixels) }, 90).data);

  it('the seeds decode', () => {
    assert.equal(decodeImage(png).width, 8);
    assert.equal(decodeImage(jpg).height, 6);
  });

  it('random bytes, with and without a PNG or JPEG signature', () =>
    fc.assert(
      fc.property(
        fc.constantFrom([], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], [0xff, 0xd8, 0xff]),
        fc.uint8Array({ maxLength: 256 }),
        (signature, body) =>
          parsesOrThrowsOwnError(() => decodeImage(Uint8Array.from([...signature, ...body]))),
      ),
      { numRuns: fuzzRuns('image decoder', RUNS) },
    ));

  // pngjs checks chunk CRCs, so random edits of IHDR never reach its allocation: forge a valid CRC.
  it('a PNG whose IHDR claims more pixels than its bytes can hold is refused before decoding', () => {
    for (const [width, height] of [
      [20_000, 20_000], // 400 MP: over the 16 MP limit (pngjs allocated 6 GB for it)
      [8000, 8000], // 64 MP: over the limit
      [4000, 4000], // 16 MP: at the limit, but 64 MB of pixels cannot come from a 67-byte file
    ] as const) {
      countCases('image decoder', 1);
      const forged = Uint8Array.from(png);
      const view = new DataView(forged.buffer);
      view.setUint32(16, width);
      view.setUint32(20, height);
      view.setUint32(29, crc32(forged.subarray(12, 29))); // CRC of 'IHDR' + its 13 data bytes
      const started = performance.now();
      assert.throws(() => decodeImage(forged, 'forged.png'), /^Error: forged\.png: \d+x\d+ pixels/);
      assert.ok(performance.now() - started < 100, 'refused from the header');
    }
  });

  /** The seed JPEG with its frame header (SOF0, or SOF2 made progressive) claiming width x height. */
  function forgeJpeg(width: number, height: number, progressive = false): Uint8Array {
    const forged = Uint8Array.from(jpg);
    let p = 2;
    while (forged[p + 1] !== 0xc0) p += 2 + ((forged[p + 2] as number) << 8) + (forged[p + 3] as number);
    if (progressive) forged[p + 1] = 0xc2;
    new DataView(forged.buffer).setUint16(p + 5, height);
    new DataView(forged.buffer).setUint16(p + 7, width);
    return forged;
  }

  // jpeg-js alone allocated 1.4 GB for a 600-byte file claiming 8000x8000 before it failed.
  it('a JPEG whose frame header claims too many pixels is refused before decoding', () => {
    for (const [width, height, progressive, reason] of [
      [8000, 8000, false, /8000x8000 pixels is larger than the 16-megapixel limit/],
      [65_535, 65_535, true, /65535x65535 pixels is larger than the 16-megapixel limit/],
      [4000, 4000, false, /4000x4000 pixels cannot fit in \d+ bytes of baseline JPEG/],
    ] as const) {
      countCases('image decoder', 1);
      const heapBefore = process.memoryUsage().arrayBuffers;
      const started = performance.now();
      assert.throws(() => decodeImage(forgeJpeg(width, height, progressive), 'forged.jpg'), {
        message: new RegExp(`^forged\\.jpg: ${reason.source}`),
      });
      assert.ok(performance.now() - started < 100, 'refused from the header');
      assert.ok(process.memoryUsage().arrayBuffers - heapBefore < 1 << 20, 'nothing allocated');
    }
  });

  // NOTE: sizes under the bounds really decode (up to ~0.6 MP, ~20 ms each): fewer runs in CI.
  it('JPEG frame headers claiming random sizes: decoded, or refused with our error', () =>
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 65_535 }),
        fc.integer({ min: 0, max: 65_535 }),
        fc.boolean(),
        (width, height, progressive) => {
          let refusal: unknown;
          parsesOrThrowsOwnError(() => {
            try {
              decodeImage(forgeJpeg(width, height, progressive), 'fuzz.jpg');
            } catch (error) {
              refusal = error;
              throw error;
            }
          });
          if (width * height > 16_000_000) assert.match(String(refusal), /megapixel limit/);
        },
      ),
      { numRuns: fuzzRuns('image decoder', RUNS / 5) },
    ));

  it('mutated valid PNG and JPEG files', () =>
    fc.assert(
      fc.property(fc.constantFrom(png, jpg), edits, (seed, list) =>
        parsesOrThrowsOwnError(() => decodeImage(mutate(seed, list), 'fuzz.img')),
      ),
      { numRuns: fuzzRuns('image decoder', RUNS) },
    ));
});

describe('fuzz: EXIF orientation (predict)', () => {
  const pixels = new Uint8Array(8 * 6 * 4).map((_, i) => (i * 37) % 256);
  const jpg = new Uint8Array(jpeg.encode({ width: 8, height: 6, data: Buffer.from(pixels) }, 90).data);
  const exif = withExifOrientation(jpg, 6, true);

  /** Orientation is read without throwing and is 1..8; the picture decodes or is refused by us. */
  function readsOrientation(bytes: Uint8Array): void {
    const orientation = jpegOrientation(bytes);
    assert.ok(Number.isInteger(orientation) && orientation >= 1 && orientation <= 8, `${orientation}`);
    parsesOrThrowsOwnError(() => decodeImage(bytes, 'fuzz.jpg'));
  }

  it('the seed is turned', () => {
    assert.equal(jpegOrientation(exif), 6);
    assert.deepEqual([decodeImage(exif).width, decodeImage(exif).height], [6, 8]);
  });

  it('random APP1 payloads after "Exif\\0\\0" (and random bytes) before the frame', () =>
    fc.assert(
      fc.property(fc.boolean(), fc.uint8Array({ maxLength: 300 }), (asExif, body) => {
        const payload = asExif ? [0x45, 0x78, 0x69, 0x66, 0, 0, ...body] : [...body];
        const length = Math.min(payload.length + 2, 0xffff);
        readsOrientation(
          Uint8Array.from([
            0xff,
            0xd8,
            0xff,
            0xe1,
            length >> 8,
            length & 0xff,
            ...payload,
            ...jpg.subarray(2),
          ]),
        );
      }),
      { numRuns: fuzzRuns('EXIF reader', RUNS) },
    ));

  it('byte edits of a JPEG with an EXIF orientation (TIFF header, IFD count and offsets)', () =>
    fc.assert(
      fc.property(edits, (list) => readsOrientation(mutate(exif, list))),
      { numRuns: fuzzRuns('EXIF reader', RUNS) },
    ));
});

/** CRC-32 (PNG chunks; zlib.crc32 needs Node 22). */
function crc32(bytes: Uint8Array): number {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}
