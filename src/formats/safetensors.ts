// safetensors: the weight format of checkpoints (https://github.com/huggingface/safetensors).
// Pure byte code, no Node imports (the browser reads and writes the same files). At the bottom of
// the layers (DESIGN.md formats/): checkpoints (train/) and adapters read it without an upward import.
//
// Layout:
//   [0, 8)        N, the header length: u64 little-endian
//   [8, 8 + N)    header: UTF-8 JSON object, beginning with '{', optionally padded with spaces
//                 { "__metadata__"?: {string: string},
//                   "<name>": { "dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end] } }
//   [8 + N, ...)  the byte buffer; offsets are relative to its start. Tensors are row-major and
//                 little-endian, and together cover the buffer exactly: no holes, no overlaps.
// The writer pads the header with spaces so the buffer starts 8-byte aligned.
// The reader treats every file as hostile: each number in the header is checked before use, and a
// header claiming a huge size is refused before anything is allocated.

/** Element types of the format. */
export type SafetensorsDType =
  'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

/** Bytes per element of each dtype. */
export const SAFETENSORS_DTYPE_SIZES: Readonly<Record<SafetensorsDType, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
};

/** The largest header accepted (the reference implementation's limit too). */
export const MAX_SAFETENSORS_HEADER_BYTES = 100 * 1024 * 1024;

export type SafetensorsArray =
  | Float64Array
  | Float32Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint32Array
  | Uint16Array
  | Uint8Array
  | BigInt64Array
  | BigUint64Array;

/** A tensor to write: values in a typed array matching dtype, or raw little-endian bytes. */
export interface SafetensorsInput {
  dtype: SafetensorsDType;
  shape: readonly number[];
  data: SafetensorsArray;
}

/** A tensor read from a file: its bytes are a view into the file (zero-copy). */
export interface SafetensorsTensor {
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** Little-endian element bytes, a view into the file's buffer. */
  readonly bytes: Uint8Array;
}

export interface SafetensorsFile {
  /** Tensors in header order. */
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

/** A file that is not valid safetensors; the message names the file and the problem. */
export class SafetensorsError extends Error {
  override readonly name = 'SafetensorsError';
}

const METADATA_KEY = '__metadata__';

/**
 * `record[key] = value` as an own property for every key: plain assignment to a key named
 * '__proto__' would set the object's prototype instead, and that entry would vanish.
 */
function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const TYPED_ARRAY_DTYPES: readonly [SafetensorsDType, abstract new (...args: never[]) => SafetensorsArray][] =
  [
    ['F64', Float64Array],
    ['F32', Float32Array],
    ['I64', BigInt64Array],
    ['I32', Int32Array],
    ['I16', Int16Array],
    ['I8', Int8Array],
    ['U64', BigUint64Array],
    ['U32', Uint32Array],
    ['U16', Uint16Array],
  ];

function isDType(value: unknown): value is SafetensorsDType {
  return typeof value === 'string' && Object.hasOwn(SAFETENSORS_DTYPE_SIZES, value);
}

function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const d of shape) count *= d;
  return count;
}

/** The element bytes of `data`, little-endian. */
function littleEndianBytes(data: SafetensorsArray): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (LITTLE_ENDIAN || data.BYTES_PER_ELEMENT === 1) return bytes;
  const swapped = new Uint8Array(bytes.length);
  const width = data.BYTES_PER_ELEMENT;
  for (let i = 0; i < bytes.length; i += width) {
    for (let b = 0; b < width; b++) swapped[i + b] = bytes[i + width - 1 - b] as number;
  }
  return swapped;
}

/**
 * Encodes tensors (in the given order) and string metadata as a safetensors file. Checks that each
 * tensor's element count and byte width agree with its dtype and shape.
 */
export function encodeSafetensors(
  tensors: Iterable<readonly [string, SafetensorsInput]> | Record<string, SafetensorsInput>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const entries: (readonly [string, SafetensorsInput])[] =
    Symbol.iterator in tensors
      ? [...(tensors as Iterable<readonly [string, SafetensorsInput]>)]
      : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header[METADATA_KEY] = { ...metadata };
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, tensor] of entries) {
    if (name === METADATA_KEY || Object.hasOwn(header, name)) {
      throw new SafetensorsError(`safetensors writer: tensor name '${name}' is reserved or used twice`);
    }
    const width = SAFETENSORS_DTYPE_SIZES[tensor.dtype];
    if (width === undefined)
      throw new SafetensorsError(`safetensors writer: unknown dtype '${String(tensor.dtype)}'`);
    if (!tensor.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(
        `safetensors writer: '${name}' has an invalid shape [${tensor.shape.join(', ')}]`,
      );
    }
    const bytes = littleEndianBytes(tensor.data);
    const expected = elementCount(tensor.shape) * width;
    if (bytes.length !== expected) {
      throw new SafetensorsError(
        `safetensors writer: '${name}' ${tensor.dtype} [${tensor.shape.join(', ')}] needs ${expected} bytes, ` +
          `its data has ${bytes.length}`,
      );
    }
    setOwn(header, name, {
      dtype: tensor.dtype,
      shape: [...tensor.shape],
      data_offsets: [offset, offset + bytes.length],
    });
    chunks.push(bytes);
    offset += bytes.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  // NOTE: pad with spaces so the byte buffer starts at a multiple of 8 (8-byte length + header).
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let position = 8 + headerLength;
  for (const chunk of chunks) {
    out.set(chunk, position);
    position += chunk.length;
  }
  return out;
}

/** Names of the top-level keys of a JSON object text, in order, duplicates included. */
function topLevelKeys(text: string): string[] {
  // The text already parsed as JSON, so a small scanner suffices: track nesting depth outside
  // strings and collect each string at depth 1 that is followed by ':'.
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1) {
        let k = j + 1;
        while (/\s/.test(text[k] ?? '')) k++;
        if (text[k] === ':') keys.push(JSON.parse(text.slice(i, j + 1)) as string);
      }
      i = j;
    }
  }
  return keys;
}

/**
 * Parses and checks a safetensors file. Refuses, with a SafetensorsError naming `source`: a header
 * length past the end, a header that is not a JSON object, duplicate names, unknown dtypes, bad
 * shapes, offsets out of range, overlapping or leaving holes, and a byte size that disagrees with
 * shape x dtype. Tensor bytes are views into `bytes` (copy them to keep them past the file).
 */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors file'): SafetensorsFile {
  const fail = (problem: string): never => {
    throw new SafetensorsError(`${source}: ${problem}`);
  };
  if (bytes.length < 8) fail(`expected at least 8 bytes (the header length), found ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const claimed = view.getBigUint64(0, true);
  if (claimed > BigInt(bytes.length - 8)) {
    fail(`header length ${claimed} runs past the end of the file (${bytes.length} bytes; truncated?)`);
  }
  const headerLength = Number(claimed);
  if (headerLength > MAX_SAFETENSORS_HEADER_BYTES) {
    fail(`header length ${headerLength} exceeds the ${MAX_SAFETENSORS_HEADER_BYTES}-byte limit`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    return fail('header is not valid UTF-8');
  }
  if (!text.startsWith('{'))
    fail(`header must be a JSON object starting with '{', found ${JSON.stringify(text.slice(0, 20))}`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    return fail(`header is not valid JSON (${(error as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    fail('header must be a JSON object');
  const seen = new Set<string>();
  for (const key of topLevelKeys(text)) {
    if (seen.has(key)) fail(`duplicate tensor name '${key}' in the header`);
    seen.add(key);
  }

  const bufferStart = 8 + headerLength;
  const bufferLength = bytes.length - bufferStart;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, SafetensorsTensor>();
  const ranges: { name: string; begin: number; end: number }[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      if (value === null || typeof value !== 'object' || Array.isArray(value))
        fail('__metadata__ must be an object');
      for (const [key, entry] of Object.entries(value as Record<string, unknown>)) {
        if (typeof entry !== 'string')
          fail(`__metadata__ values must be strings, '${key}' is ${JSON.stringify(entry)}`);
        setOwn(metadata, key, entry as string);
      }
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      fail(`tensor '${name}' must be an object with dtype, shape and data_offsets`);
    }
    const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
    if (!isDType(dtype)) {
      return fail(
        `tensor '${name}' has unknown dtype ${JSON.stringify(dtype)} (known: ${Object.keys(SAFETENSORS_DTYPE_SIZES).join(', ')})`,
      );
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      return fail(
        `tensor '${name}' has an invalid shape ${JSON.stringify(shape)} (expected non-negative integers)`,
      );
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0)
    ) {
      return fail(
        `tensor '${name}' has invalid data_offsets ${JSON.stringify(offsets)} (expected [begin, end])`,
      );
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) fail(`tensor '${name}' has data_offsets [${begin}, ${end}] with begin after end`);
    if (end > bufferLength) {
      fail(`tensor '${name}' data_offsets [${begin}, ${end}] run past the ${bufferLength}-byte data buffer`);
    }
    const count = elementCount(shape as number[]);
    const expected = count * SAFETENSORS_DTYPE_SIZES[dtype];
    if (!Number.isSafeInteger(expected) || expected !== end - begin) {
      fail(
        `tensor '${name}' ${dtype} [${(shape as number[]).join(', ')}] needs ${expected} bytes, ` +
          `data_offsets [${begin}, ${end}] hold ${end - begin}`,
      );
    }
    ranges.push({ name, begin, end });
    tensors.set(name, {
      dtype,
      shape: [...(shape as number[])],
      bytes: bytes.subarray(bufferStart + begin, bufferStart + end),
    });
  }
  // The ranges, in buffer order, must tile [0, bufferLength) exactly.
  ranges.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous = '';
  for (const range of ranges) {
    if (range.begin < covered) {
      fail(
        `tensor '${range.name}' starts at byte ${range.begin}, overlapping '${previous}' which ends at ${covered}`,
      );
    }
    if (range.begin > covered)
      fail(`bytes [${covered}, ${range.begin}) of the data buffer belong to no tensor (a hole)`);
    covered = range.end;
    previous = range.name;
  }
  if (covered !== bufferLength) {
    fail(`bytes [${covered}, ${bufferLength}) of the data buffer belong to no tensor (trailing data?)`);
  }
  return { tensors, metadata };
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/**
 * A tensor's values in a fresh, aligned typed array: F16 and BF16 widen to Float32Array, BOOL and
 * U8 give Uint8Array, I64/U64 give BigInt arrays, every other dtype its own typed array.
 */
export function tensorValues(tensor: SafetensorsTensor): SafetensorsArray {
  const { dtype, bytes } = tensor;
  // An aligned copy: the view into the file may sit at any offset (and Buffer.slice would not copy).
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  if (dtype === 'U8' || dtype === 'BOOL') return copy;
  const view = new DataView(copy.buffer);
  if (dtype === 'F16' || dtype === 'BF16') {
    const out = new Float32Array(copy.length / 2);
    for (let i = 0; i < out.length; i++) {
      const half = view.getUint16(2 * i, true);
      out[i] =
        dtype === 'F16' ? halfToFloat(half) : new Float32Array(new Uint32Array([half << 16]).buffer)[0]!;
    }
    return out;
  }
  const entry = TYPED_ARRAY_DTYPES.find(([name]) => name === dtype);
  if (!entry) throw new SafetensorsError(`tensorValues: no typed array for dtype '${dtype}'`);
  const Ctor = entry[1] as unknown as new (buffer: ArrayBuffer) => SafetensorsArray;
  const out = new Ctor(copy.buffer);
  if (!LITTLE_ENDIAN) {
    const swapped = littleEndianBytes(out); // a byte swap is its own inverse
    return new Ctor(swapped.slice().buffer);
  }
  return out;
}

/** The safetensors dtype of a typed array (U8 for Uint8Array). */
export function dtypeOfArray(data: SafetensorsArray): SafetensorsDType {
  if (data instanceof Uint8Array) return 'U8';
  const entry = TYPED_ARRAY_DTYPES.find(([, Ctor]) => data instanceof Ctor);
  if (!entry) throw new SafetensorsError('dtypeOfArray: unsupported typed array');
  return entry[0];
}
