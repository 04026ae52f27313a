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

/** Decodes PNG or JPEG bytes; `name` (a file name) only labels errors. */
export function decodeImage(bytes: Uint8Array, name = 'image'): RgbaImage {
  if (startsWith(bytes, PNG_SIGNATURE)) {
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
