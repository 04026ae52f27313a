// MNIST-style preprocessing: synthetic pictures with known answers, MNIST digits kept as they are,
// and the same digits inverted and padded onto a larger white canvas giving the identical input.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import jpeg from 'jpeg-js';
import { decodeImage, loadMnist, preprocessDigit } from '../../src/index.js';
import { encodePng } from '../../src/data/node/png.js';
import { NoDigitError, preprocessRgba, toGrayscale } from '../../src/predict/preprocess.js';

/** Bounding box and centre of mass of the non-zero pixels of a (28, 28) image. */
function geometry(image: Uint8Array) {
  let top = 28;
  let bottom = -1;
  let left = 28;
  let right = -1;
  let mass = 0;
  let sy = 0;
  let sx = 0;
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const v = image[y * 28 + x] as number;
      if (v === 0) continue;
      top = Math.min(top, y);
      bottom = Math.max(bottom, y);
      left = Math.min(left, x);
      right = Math.max(right, x);
      mass += v;
      sy += v * y;
      sx += v * x;
    }
  }
  return { width: right - left + 1, height: bottom - top + 1, cy: sy / mass, cx: sx / mass };
}

/** A 28x28 MNIST image as RGBA on a canvas of side `size`, optionally inverted (dark ink on white). */
function onCanvas(digit: Uint8Array, size: number, dx: number, dy: number, inverted: boolean) {
  const data = new Uint8Array(size * size * 4).fill(inverted ? 255 : 0);
  for (let i = 3; i < data.length; i += 4) data[i] = 255;
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const v = digit[y * 28 + x] as number;
      const o = ((y + dy) * size + x + dx) * 4;
      data[o] = data[o + 1] = data[o + 2] = inverted ? 255 - v : v;
    }
  }
  return { width: size, height: size, data };
}

describe('preprocessDigit on synthetic pictures', () => {
  test('a dark 30x60 bar on a light 100x120 photo: inverted, 10x20 in the box, centred at (14, 14)', () => {
    const width = 100;
    const height = 120;
    const gray = new Uint8Array(width * height);
    // Paper with grain (200..215) and a dark bar (20..40), off-centre.
    for (let i = 0; i < gray.length; i++) gray[i] = 200 + ((i * 7919) % 16);
    for (let y = 10; y < 70; y++) for (let x = 55; x < 85; x++) gray[y * width + x] = 20 + ((x + y) % 21);
    const result = preprocessDigit(gray, width, height);
    assert.equal(result.inverted, true);
    assert.deepEqual(result.box, { left: 55, top: 10, width: 30, height: 60 });
    const g = geometry(result.image);
    assert.equal(g.height, 20);
    assert.equal(g.width, 10);
    assert.ok(Math.abs(g.cy - 14) <= 0.5 && Math.abs(g.cx - 14) <= 0.5, `centre of mass (${g.cy}, ${g.cx})`);
  });

  test('a small drawing is enlarged so its longer side is 20', () => {
    const gray = new Uint8Array(40 * 40);
    for (let y = 5; y < 13; y++) for (let x = 30; x < 34; x++) gray[y * 40 + x] = 255; // 4 wide, 8 tall
    const g = geometry(preprocessDigit(gray, 40, 40).image);
    assert.equal(g.height, 20);
    assert.equal(g.width, 10);
  });

  test('dark strokes on a transparent canvas read as ink; so do light strokes', () => {
    const size = 50;
    for (const stroke of [0, 255]) {
      const rgba = new Uint8Array(size * size * 4); // transparent black
      for (let y = 10; y < 40; y++) {
        for (let x = 20; x < 26; x++) {
          const o = (y * size + x) * 4;
          rgba[o] = rgba[o + 1] = rgba[o + 2] = stroke;
          rgba[o + 3] = 255;
        }
      }
      const gray = toGrayscale(rgba, size, size);
      const { image, box } = preprocessDigit(gray, size, size);
      assert.deepEqual(box, { left: 20, top: 10, width: 6, height: 30 }, `stroke ${stroke}`);
      assert.equal(geometry(image).height, 20);
    }
  });

  test('a blank picture is refused with a NoDigitError that says what was expected', () => {
    assert.throws(
      () => preprocessDigit(new Uint8Array(100).fill(230), 10, 10),
      (error: unknown) =>
        error instanceof NoDigitError && /found no ink.*expected one dark digit/.test(error.message),
    );
  });
});

describe('preprocessDigit on MNIST test digits', async () => {
  const { test: set } = await loadMnist({ offline: true });
  const count = 200;
  const digit = (i: number): Uint8Array => set.images.subarray(i * 784, (i + 1) * 784);

  test('an MNIST digit stays an MNIST digit: same size, centre of mass within a pixel of (14, 14)', () => {
    let unchanged = 0;
    for (let i = 0; i < count; i++) {
      const out = preprocessDigit(digit(i), 28, 28).image;
      const g = geometry(out);
      assert.equal(Math.max(g.width, g.height), 20, `image ${i}`);
      assert.ok(Math.abs(g.cy - 14) <= 1 && Math.abs(g.cx - 14) <= 1, `image ${i}: (${g.cy}, ${g.cx})`);
      if (out.every((v, p) => v === digit(i)[p])) unchanged++;
    }
    // MNIST was made this way, so most digits come back pixel for pixel (the rest move one pixel).
    assert.ok(unchanged / count > 0.6, `${unchanged} of ${count} unchanged`);
  });

  test('inverted and padded onto a larger white canvas, as PNG and JPEG: the same input as the original', () => {
    let jpegClose = 0;
    for (let i = 0; i < count; i++) {
      const expected = preprocessDigit(digit(i), 28, 28).image;
      const picture = onCanvas(digit(i), 90, 5 + (i % 50), 7 + ((i * 13) % 50), true);
      const png = decodeImage(encodePng(picture), `digit-${i}.png`);
      assert.deepEqual(preprocessRgba(png.data, png.width, png.height).image, expected, `image ${i} (PNG)`);
      if (i % 10 === 0) {
        // JPEG is lossy: the result stays close (mean absolute difference under 8 grey levels).
        const bytes = jpeg.encode({ ...picture, data: Buffer.from(picture.data) }, 95).data;
        const decoded = decodeImage(new Uint8Array(bytes), `digit-${i}.jpg`);
        const out = preprocessRgba(decoded.data, decoded.width, decoded.height).image;
        const mad = out.reduce((a, v, p) => a + Math.abs(v - (expected[p] as number)), 0) / 784;
        if (mad < 8) jpegClose++;
      }
    }
    assert.ok(jpegClose >= (count / 10) * 0.9, `${jpegClose} of ${count / 10} JPEGs close`);
  });
});

describe('decodeImage', () => {
  test('names the file and the expectation for anything that is not PNG or JPEG', () => {
    assert.throws(
      () => decodeImage(new TextEncoder().encode('GIF89a...'), 'digit.gif'),
      /digit\.gif: expected a PNG or JPEG file, found bytes 47 49 46 38/,
    );
  });
});
