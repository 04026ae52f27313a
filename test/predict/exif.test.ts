// JPEG EXIF orientation: decodeImage turns a picture as its Orientation tag says (all 8 values,
// both TIFF byte orders), so a portrait phone photo comes out upright.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import jpeg from 'jpeg-js';
import { decodeImage } from '../../src/predict/node/decode.js';
import { jpegOrientation } from '../../src/predict/exif.js';
import { withExifOrientation } from './exif-helpers.js';

const W = 48;
const H = 24;

/** A W x H landscape picture: white, a black 8x8 square at its top-left, a grey one at its top-right. */
function stored(): Uint8Array {
  const data = new Uint8Array(W * H * 4).fill(255);
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) {
      data.fill(0, (y * W + x) * 4, (y * W + x) * 4 + 3);
      data.fill(128, (y * W + W - 1 - x) * 4, (y * W + W - 1 - x) * 4 + 3);
    }
  }
  return data;
}

type Corner = 'TL' | 'TR' | 'BL' | 'BR';

/** Mean red level of the 4x4 block at a corner of the decoded picture. */
function cornerLevel(image: { width: number; height: number; data: Uint8Array }, corner: Corner): number {
  const x0 = corner.endsWith('L') ? 1 : image.width - 5;
  const y0 = corner.startsWith('T') ? 1 : image.height - 5;
  let sum = 0;
  for (let y = y0; y < y0 + 4; y++)
    for (let x = x0; x < x0 + 4; x++) sum += image.data[(y * image.width + x) * 4]!;
  return sum / 16;
}

// Where the stored top-left (black) and top-right (grey) squares are seen, per orientation.
const SEEN: Record<number, [Corner, Corner]> = {
  1: ['TL', 'TR'],
  2: ['TR', 'TL'],
  3: ['BR', 'BL'],
  4: ['BL', 'BR'],
  5: ['TL', 'BL'],
  6: ['TR', 'BR'],
  7: ['BR', 'TR'],
  8: ['BL', 'TL'],
};

describe('EXIF orientation', () => {
  const plain = new Uint8Array(jpeg.encode({ width: W, height: H, data: Buffer.from(stored()) }, 95).data);

  for (const little of [true, false]) {
    it(`every orientation 1..8 is applied (${little ? 'II' : 'MM'} byte order)`, () => {
      for (let orientation = 1; orientation <= 8; orientation++) {
        const bytes = withExifOrientation(plain, orientation, little);
        assert.equal(jpegOrientation(bytes), orientation);
        const image = decodeImage(bytes, `o${orientation}.jpg`);
        const swapped = orientation >= 5;
        assert.deepEqual(
          [image.width, image.height],
          swapped ? [H, W] : [W, H],
          `orientation ${orientation}`,
        );
        const [black, grey] = SEEN[orientation]!;
        assert.ok(cornerLevel(image, black) < 40, `orientation ${orientation}: black square at ${black}`);
        const level = cornerLevel(image, grey);
        assert.ok(level > 90 && level < 170, `orientation ${orientation}: grey square at ${grey} (${level})`);
      }
    });
  }

  it('no EXIF, a broken one, or a value out of range: read as stored', () => {
    assert.equal(jpegOrientation(plain), 1);
    assert.equal(decodeImage(plain).width, W);
    const broken = withExifOrientation(plain, 6, true);
    broken[broken.indexOf(0x2a) - 1] = 0x00; // damage the TIFF magic number
    assert.equal(jpegOrientation(broken), 1);
    assert.equal(jpegOrientation(withExifOrientation(plain, 9, true)), 1, 'out of range');
  });
});
