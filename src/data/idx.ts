// The IDX format (LeCun's MNIST files), parsed from and written to bytes. Pure: no file access here
// (see node/files.ts for reading files and gzip).
//
// Layout: bytes 0-1 are zero; byte 2 is the element type; byte 3 the number of dimensions R; then R
// big-endian uint32 sizes; then the elements, row-major, big-endian.

import { DataError } from './errors.js';

export type IdxType = 'u8' | 'i8' | 'i16' | 'i32' | 'f32' | 'f64';

export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

/** A decoded IDX file: element type, dimension sizes, and the elements row-major. */
export interface IdxArray {
  type: IdxType;
  shape: number[];
  data: IdxData;
}

/** What a caller requires of a file; a mismatch is an error naming the file. */
export interface IdxExpectation {
  type?: IdxType;
  /** Required sizes; null leaves a dimension free. The length fixes the number of dimensions. */
  shape?: (number | null)[];
}

interface TypeInfo {
  type: IdxType;
  code: number;
  bytes: number;
  create: (length: number) => IdxData;
  read: (view: DataView, offset: number) => number;
  write: (view: DataView, offset: number, value: number) => void;
}

const TYPES: readonly TypeInfo[] = [
  {
    type: 'u8',
    code: 0x08,
    bytes: 1,
    create: (n) => new Uint8Array(n),
    read: (v, o) => v.getUint8(o),
    write: (v, o, x) => v.setUint8(o, x),
  },
  {
    type: 'i8',
    code: 0x09,
    bytes: 1,
    create: (n) => new Int8Array(n),
    read: (v, o) => v.getInt8(o),
    write: (v, o, x) => v.setInt8(o, x),
  },
  {
    type: 'i16',
    code: 0x0b,
    bytes: 2,
    create: (n) => new Int16Array(n),
    read: (v, o) => v.getInt16(o),
    write: (v, o, x) => v.setInt16(o, x),
  },
  {
    type: 'i32',
    code: 0x0c,
    bytes: 4,
    create: (n) => new Int32Array(n),
    read: (v, o) => v.getInt32(o),
    write: (v, o, x) => v.setInt32(o, x),
  },
  {
    type: 'f32',
    code: 0x0d,
    bytes: 4,
    create: (n) => new Float32Array(n),
    read: (v, o) => v.getFloat32(o),
    write: (v, o, x) => v.setFloat32(o, x),
  },
  {
    type: 'f64',
    code: 0x0e,
    bytes: 8,
    create: (n) => new Float64Array(n),
    read: (v, o) => v.getFloat64(o),
    write: (v, o, x) => v.setFloat64(o, x),
  },
];

function typeInfo(type: IdxType): TypeInfo {
  const info = TYPES.find((t) => t.type === type);
  if (!info)
    throw new DataError(`unknown IDX type '${String(type)}'; expected one of u8, i8, i16, i32, f32, f64`);
  return info;
}

function hex(bytes: Uint8Array, count: number): string {
  return Array.from(bytes.subarray(0, count), (b) => b.toString(16).padStart(2, '0')).join(' ');
}

function describeShape(shape: readonly (number | null)[]): string {
  return shape.length === 0 ? 'a scalar' : shape.map((d) => (d === null ? '*' : String(d))).join('x');
}

/**
 * Decodes IDX bytes (already decompressed). `name` is used in error messages, typically the file
 * path. u8 data is returned as a view into `bytes` (no copy); other types are copied and converted
 * from big-endian.
 */
export function parseIdx(bytes: Uint8Array, name = 'IDX data', expect: IdxExpectation = {}): IdxArray {
  if (bytes.length < 4) {
    throw new DataError(
      `${name}: expected an IDX header of at least 4 bytes, found ${bytes.length} bytes (empty or truncated file?)`,
    );
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    throw new DataError(
      `${name}: found gzip data where IDX bytes were expected; decompress it first (readIdxFile does this)`,
    );
  }
  const info = TYPES.find((t) => t.code === bytes[2]);
  if (bytes[0] !== 0 || bytes[1] !== 0 || !info) {
    throw new DataError(
      `${name}: not an IDX file: expected magic 00 00 <type 08|09|0b|0c|0d|0e> <dims>, found ${hex(bytes, 4)} (wrong or corrupt file?)`,
    );
  }
  const rank = bytes[3];
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) {
    throw new DataError(
      `${name}: expected a ${headerBytes}-byte header for ${rank} dimensions, found ${bytes.length} bytes (truncated file?)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let d = 0; d < rank; d++) shape.push(view.getUint32(4 + 4 * d));

  if (expect.type !== undefined && expect.type !== info.type) {
    throw new DataError(
      `${name}: expected IDX elements of type ${expect.type}, found ${info.type} (wrong file?)`,
    );
  }
  if (expect.shape !== undefined) {
    const wanted = expect.shape;
    const matches = wanted.length === rank && wanted.every((size, d) => size === null || size === shape[d]);
    if (!matches) {
      throw new DataError(
        `${name}: expected shape ${describeShape(wanted)}, found ${describeShape(shape)} (wrong file?)`,
      );
    }
  }

  const length = shape.reduce((product, size) => product * size, 1);
  const expectedBytes = headerBytes + length * info.bytes;
  if (bytes.length !== expectedBytes) {
    const reason = bytes.length < expectedBytes ? 'truncated file?' : 'trailing bytes after the data';
    throw new DataError(
      `${name}: expected ${expectedBytes} bytes for ${describeShape(shape)} ${info.type} elements, found ${bytes.length} (${reason})`,
    );
  }

  if (info.type === 'u8') {
    return { type: 'u8', shape, data: new Uint8Array(bytes.buffer, bytes.byteOffset + headerBytes, length) };
  }
  const data = info.create(length);
  for (let i = 0, offset = headerBytes; i < length; i++, offset += info.bytes)
    data[i] = info.read(view, offset);
  return { type: info.type, shape, data };
}

/** Encodes an array as IDX bytes (big-endian). The data length must match the shape. */
export function encodeIdx(array: IdxArray): Uint8Array {
  const info = typeInfo(array.type);
  const sample = info.create(0);
  if (!(array.data instanceof sample.constructor)) {
    throw new DataError(
      `encodeIdx: type ${array.type} needs a ${sample.constructor.name}, found a ${array.data.constructor.name}`,
    );
  }
  if (
    array.shape.length > 255 ||
    array.shape.some((size) => !Number.isInteger(size) || size < 0 || size > 0xffffffff)
  ) {
    throw new DataError(
      `encodeIdx: expected at most 255 dimensions of uint32 sizes, found [${array.shape.join(', ')}]`,
    );
  }
  const length = array.shape.reduce((product, size) => product * size, 1);
  if (array.data.length !== length) {
    throw new DataError(
      `encodeIdx: shape ${describeShape(array.shape)} holds ${length} elements, found ${array.data.length}`,
    );
  }
  const headerBytes = 4 + 4 * array.shape.length;
  const bytes = new Uint8Array(headerBytes + length * info.bytes);
  const view = new DataView(bytes.buffer);
  bytes[2] = info.code;
  bytes[3] = array.shape.length;
  array.shape.forEach((size, d) => view.setUint32(4 + 4 * d, size));
  if (info.type === 'u8') {
    bytes.set(array.data as Uint8Array, headerBytes);
  } else {
    for (let i = 0, offset = headerBytes; i < length; i++, offset += info.bytes) {
      info.write(view, offset, array.data[i]);
    }
  }
  return bytes;
}
