// Image files to RGBA: PNG (pngjs) and baseline/progressive JPEG (jpeg-js), recognised by their
// signatures rather than the file name. Node-only.
import jpeg from 'jpeg-js';
import type { RgbaImage } from '../../data/grid.js';
import { decodePng } from '../../data/node/png.js';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47];
const JPEG_SIGNATURE = [0xff, 0xd8, 0xff];
/** Larger pictures are refused before decoding (jpeg-js allocates width x height x 4 bytes). */
const MAX_MEGAPIXELS = 64;

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
  if (width * height > MAX_MEGAPIXELS * 1000 * 1000) {
    return `${width}x${height} pixels is larger than the ${MAX_MEGAPIXELS}-megapixel limit; scale it down`;
  }
  const bitsPerPixel = (header.getUint8(24) || 1) * (PNG_CHANNELS[header.getUint8(25)] ?? 1);
  // (H, 1 + W * bits / 8): each row's filter byte and packed pixels, before compression.
  const rawBytes = height * (1 + Math.ceil((width * bitsPerPixel) / 8));
  if (rawBytes > bytes.length * MAX_DEFLATE_RATIO) {
    return `${width}x${height} pixels need ${rawBytes} bytes of image data, more than ${bytes.length} bytes can compress (truncated file?); re-save it as PNG or JPEG`;
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
    try {
      const decoded = jpeg.decode(bytes, {
        useTArray: true,
        formatAsRGBA: true,
        maxResolutionInMP: MAX_MEGAPIXELS,
      });
      return { width: decoded.width, height: decoded.height, data: new Uint8Array(decoded.data) };
    } catch (error) {
      throw new Error(
        `${name}: not a readable JPEG (${(error as Error).message}); re-save it as PNG or JPEG`,
      );
    }
  }
  const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new Error(
    `${name}: expected a PNG or JPEG file, found bytes ${head || '(empty file)'}; convert it to PNG`,
  );
}
