// A picture of samples: images in a grid, each with its label drawn underneath. Pure; returns RGBA
// pixels (node/png.ts encodes them).

import { IMAGE_HEIGHT, IMAGE_PIXELS, IMAGE_WIDTH, type ImageSet } from './dataset.js';
import { DataError } from './errors.js';

export interface GridOptions {
  /** Images per row. Default: up to 10, fewer for fewer images. */
  columns?: number;
  /** Pixel magnification. Default 2. */
  zoom?: number;
}

export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array; // (height, width, 4) RGBA
}

// 3x5 digit glyphs, one string of 15 bits per digit, rows top to bottom.
const DIGITS = [
  '111101101101111',
  '010110010010111',
  '111001111100111',
  '111001111001111',
  '101101111001001',
  '111100111001111',
  '111100111101111',
  '111001010010010',
  '111101111101111',
  '111101111001111',
];
const GLYPH_WIDTH = 3;
const GLYPH_HEIGHT = 5;
const LABEL_COLOUR: [number, number, number] = [255, 200, 40];
const PADDING = 2;

/** Draws `set.images[indices]` in a grid with `set.labels[indices]` as digits under each cell. */
export function renderGrid(set: ImageSet, indices: readonly number[], options: GridOptions = {}): RgbaImage {
  if (indices.length === 0) throw new DataError('renderGrid: expected at least one image index');
  const zoom = options.zoom ?? 2;
  const columns = Math.min(options.columns ?? 10, indices.length);
  const rows = Math.ceil(indices.length / columns);
  const cellWidth = IMAGE_WIDTH * zoom + PADDING;
  const labelHeight = (GLYPH_HEIGHT + 2) * zoom;
  const cellHeight = IMAGE_HEIGHT * zoom + labelHeight + PADDING;
  const width = columns * cellWidth + PADDING;
  const height = rows * cellHeight + PADDING;
  const data = new Uint8Array(width * height * 4);
  for (let i = 3; i < data.length; i += 4) data[i] = 255; // opaque black background

  const paint = (x: number, y: number, r: number, g: number, b: number): void => {
    const offset = (y * width + x) * 4;
    data[offset] = r;
    data[offset + 1] = g;
    data[offset + 2] = b;
  };

  indices.forEach((index, position) => {
    if (!Number.isInteger(index) || index < 0 || index >= set.count) {
      throw new DataError(`expected image indices in [0, ${set.count}), found ${index}`);
    }
    const left = PADDING + (position % columns) * cellWidth;
    const top = PADDING + Math.floor(position / columns) * cellHeight;
    const image = set.images.subarray(index * IMAGE_PIXELS, (index + 1) * IMAGE_PIXELS);
    for (let y = 0; y < IMAGE_HEIGHT * zoom; y++) {
      for (let x = 0; x < IMAGE_WIDTH * zoom; x++) {
        const value = image[Math.floor(y / zoom) * IMAGE_WIDTH + Math.floor(x / zoom)];
        paint(left + x, top + y, value, value, value);
      }
    }
    const text = String(set.labels[index]);
    const textTop = top + IMAGE_HEIGHT * zoom + zoom;
    [...text].forEach((character, c) => {
      const glyph = DIGITS[Number(character)];
      for (let gy = 0; gy < GLYPH_HEIGHT * zoom; gy++) {
        for (let gx = 0; gx < GLYPH_WIDTH * zoom; gx++) {
          const bit = glyph[Math.floor(gy / zoom) * GLYPH_WIDTH + Math.floor(gx / zoom)];
          if (bit === '1') paint(left + c * (GLYPH_WIDTH + 1) * zoom + gx, textTop + gy, ...LABEL_COLOUR);
        }
      }
    });
  });
  return { width, height, data };
}

/** Parses an index list: `7`, `0..15` (inclusive), `1,5,9`, or a mix like `0..3,10`. */
export function parseIndexList(text: string): number[] {
  const indices: number[] = [];
  for (const part of text.split(',').map((p) => p.trim())) {
    const range = /^(\d+)\.\.(\d+)$/.exec(part);
    if (range) {
      const first = Number(range[1]);
      const last = Number(range[2]);
      if (last < first) throw new DataError(`index range '${part}': expected first <= last`);
      if (last - first >= 10000) throw new DataError(`index range '${part}': expected at most 10000 images`);
      for (let i = first; i <= last; i++) indices.push(i);
    } else if (/^\d+$/.test(part)) {
      indices.push(Number(part));
    } else {
      throw new DataError(`expected indices like 7, 0..15 or 1,5,9, found '${text}'`);
    }
  }
  return indices;
}
