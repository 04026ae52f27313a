// Node-only PNG encoding and decoding (pngjs).

import pngjs from 'pngjs';
import type { RgbaImage } from '../grid.js';

const { PNG } = pngjs;

/** Encodes RGBA pixels as PNG bytes. */
export function encodePng(image: RgbaImage): Uint8Array {
  const png = new PNG({ width: image.width, height: image.height });
  png.data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  return PNG.sync.write(png);
}

/** Decodes PNG bytes to 8-bit RGBA (any PNG colour type and depth). */
export function decodePng(bytes: Uint8Array): RgbaImage {
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return { width: png.width, height: png.height, data: new Uint8Array(png.data) };
}
