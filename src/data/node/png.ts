// Node-only PNG encoding and decoding (pngjs). pngjs is loaded on first use, so commands that never
// touch a PNG (most of `train` until its report) do not pay for importing it at start-up.

import { createRequire } from 'node:module';
import type { RgbaImage } from '../grid.js';

type PngJs = typeof import('pngjs');
let pngjs: PngJs | undefined;

function loadPngJs(): PngJs {
  pngjs ??= createRequire(import.meta.url)('pngjs') as PngJs;
  return pngjs;
}

/** Encodes RGBA pixels (height, width, 4) u8 as PNG bytes. */
export function encodePng(image: RgbaImage): Uint8Array {
  const { width, height, data } = image;
  if (data.length !== width * height * 4) {
    throw new Error(
      `encodePng: expected ${width * height * 4} RGBA bytes for ${width}x${height}, found ${data.length}`,
    );
  }
  const { PNG } = loadPngJs();
  const png = new PNG({ width, height });
  png.data = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return PNG.sync.write(png);
}

/** Decodes PNG bytes to 8-bit RGBA (any PNG colour type and depth). */
export function decodePng(bytes: Uint8Array): RgbaImage {
  const { PNG } = loadPngJs();
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return { width: png.width, height: png.height, data: new Uint8Array(png.data) };
}
