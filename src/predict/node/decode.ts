// Image files to RGBA: PNG (pngjs) and baseline/progressive JPEG (jpeg-js), recognised by their
// signatures rather than the file name. A JPEG's EXIF orientation is applied (jpeg-js ignores it):
// a portrait phone photo comes out upright. Node-only.
import jpeg from 'jpeg-js';
import type { RgbaImage } from '../../data/grid.js';
import { decodePng } from '../../data/node/png.js';
import { jpegOrientation, orientImage } from '../exif.js';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47];
const JPEG_SIGNATURE = [0xff, 0xd8, 0xff];
/**
 * Larger pictures are refused from their header, before decoding: jpeg-js holds ~22 bytes a pixel
 * while decoding (measured: a header claiming 8000x8000 cost 1.4 GB before it failed), so 16
 * megapixels (a 12-megapixel phone photo fits) bound a decode at ~350 MB. Digits need 28x28.
 */
export const MAX_IMAGE_MEGAPIXELS = 16;
const MAX_PIXELS = MAX_IMAGE_MEGAPIXELS * 1000 * 1000;
/** jpeg-js's own allocation cap, a second guard behind the header check. */
const JPEG_MAX_MEMORY_MB = 512;

function startsWith(bytes: Uint8Array, signature: readonly number[]): boolean {
  return signature.every((b, i) => bytes[i] === b);
}

/** deflate's best ratio is 1032:1; a file claiming more pixels than that cannot hold them. */
const MAX_DEFLATE_RATIO = 1032;
const PNG_CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/**
 * Why a PNG's IHDR (bytes 16..25: width, height, bit depth, colour type; big-endian) cannot be
 * decoded, checked before pngjs allocates from it: a 67-byte file claiming 20000x20000 took 6 GB.
 */
function pngSizeRefusal(bytes: Uint8Array): string | undefined {
  if (bytes.length < 26) return undefined; // pngjs reports the truncation
  const header = new DataView(bytes.buffer, bytes.byteOffset, 26);
  const width = header.getUint32(16);
  const height = header.getUint32(20);
  if (width * height > MAX_PIXELS) return tooLarge(width, height);
  const bitsPerPixel = (header.getUint8(24) || 1) * (PNG_CHANNELS[header.getUint8(25)] ?? 1);
  // (H, 1 + W * bits / 8): each row's filter byte and packed pixels, before compression.
  const rawBytes = height * (1 + Math.ceil((width * bitsPerPixel) / 8));
  if (rawBytes > bytes.length * MAX_DEFLATE_RATIO) {
    return `${width}x${height} pixels need ${rawBytes} bytes of image data, more than ${bytes.length} bytes can compress (truncated file?); re-save it as PNG or JPEG`;
  }
  return undefined;
}

function tooLarge(width: number, height: number): string {
  return `${width}x${height} pixels is larger than the ${MAX_IMAGE_MEGAPIXELS}-megapixel limit; scale it down`;
}

/**
 * NOTE: every 8x8 block costs Huffman-coded bits: at least 2 in a baseline scan (a DC and an
 * end-of-block code) and at least 1 in a progressive DC scan (AC scans can skip runs of blocks).
 * So a JPEG of W x H pixels holds at least W*H/256 (baseline) or W*H/512 (progressive) bytes;
 * half that is the bound: a 600-byte file cannot make the decoder allocate for 16 megapixels.
 */
const PIXELS_PER_BYTE = { baseline: 512, progressive: 1024 } as const;

/**
 * Why a JPEG cannot be decoded, from its frame header (SOFn: marker, length, precision, height,
 * width; big-endian), found by walking the marker segments before the first scan.
 */
function jpegSizeRefusal(bytes: Uint8Array): string | undefined {
  let p = 2; // after SOI
  while (p + 4 <= bytes.length) {
    if (bytes[p] !== 0xff) return undefined; // not a marker: jpeg-js reports the damage
    const marker = bytes[p + 1] as number;
    if (marker === 0xff) {
      p++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      p += 2; // markers without a length
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return undefined; // scan or end before any frame header
    const length = ((bytes[p + 2] as number) << 8) | (bytes[p + 3] as number);
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) {
      if (p + 9 > bytes.length) return undefined;
      const height = ((bytes[p + 5] as number) << 8) | (bytes[p + 6] as number);
      const width = ((bytes[p + 7] as number) << 8) | (bytes[p + 8] as number);
      if (width * height > MAX_PIXELS) return tooLarge(width, height);
      const coding = marker === 0xc0 || marker === 0xc1 ? 'baseline' : 'progressive';
      if (width * height > bytes.length * PIXELS_PER_BYTE[coding]) {
        return `${width}x${height} pixels cannot fit in ${bytes.length} bytes of ${coding} JPEG (truncated file?); re-save it as PNG or JPEG`;
      }
      return undefined;
    }
    p += 2 + length;
  }
  return undefined;
}

/** Decodes PNG or JPEG bytes; `name` (a file name) only labels errors. */
export function decodeImage(bytes: Uint8Array, name = 'image'): RgbaImage {
  if (startsWith(bytes, PNG_SIGNATURE)) {
    const refusal = pngSizeRefusal(bytes);
    if (refusal) throw new Error(`${name}: ${refusal}`);
    try {
      return decodePng(bytes);
    } catch (error) {
      throw new Error(`${name}: not a readable PNG (${(error as Error).message}); re-save it as PNG or JPEG`);
    }
  }
  if (startsWith(bytes, JPEG_SIGNATURE)) {
    const refusal = jpegSizeRefusal(bytes);
    if (refusal) throw new Error(`${name}: ${refusal}`);
    let decoded: RgbaImage;
    try {
      const raw = jpeg.decode(bytes, {
        useTArray: true,
        formatAsRGBA: true,
        maxResolutionInMP: MAX_IMAGE_MEGAPIXELS,
        maxMemoryUsageInMB: JPEG_MAX_MEMORY_MB,
      });
      decoded = { width: raw.width, height: raw.height, data: new Uint8Array(raw.data) };
    } catch (error) {
      throw new Error(
        `${name}: not a readable JPEG (${(error as Error).message}); re-save it as PNG or JPEG`,
      );
    }
    return orientImage(decoded, jpegOrientation(bytes));
  }
  const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new Error(
    `${name}: expected a PNG or JPEG file, found bytes ${head || '(empty file)'}; convert it to PNG`,
  );
}
