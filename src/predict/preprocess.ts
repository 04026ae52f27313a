// MNIST's own preprocessing for a user's picture (a photo or a drawing of one digit): pure and
// browser-safe, shared by `mnist-lab predict` and the draw-a-digit web page.
//
//   1. grayscale; invert when the background is light (MNIST is white ink on black);
//   2. subtract the background level and its noise, stretch the ink to 0..255;
//   3. crop to the ink's bounding box;
//   4. scale into a 20x20 box keeping the aspect ratio (area averaging when shrinking);
//   5. place in 28x28 with the centre of mass at pixel (14, 14), as LeCun et al. did.
//
// Images are row-major u8: gray (H, W), RGBA (H, W, 4).
import { resizeArea } from '../data/image.js';

export const MNIST_BOX = 20; // the digit's longer side, pixels
export const MNIST_SIZE = 28; // the canvas side, pixels
/** Centre of mass of MNIST's digits in pixel-index coordinates (measured on the test set: 13.99, 14.00). */
export const MNIST_CENTER = 14;
/**
 * Stretched level (0..255) from which a pixel counts as ink for the bounding box. NOTE: not 1: JPEG
 * ringing and anti-aliasing haze around strokes would stretch the box to the 8x8 block edges.
 */
export const BOX_THRESHOLD = 32;

export interface PreprocessOptions {
  /** Invert the grey levels: 'auto' (default) when the border is lighter than mid-grey. */
  invert?: 'auto' | boolean;
}

export interface PreprocessResult {
  /** (28, 28) u8, white ink on black, ready for the model. */
  image: Uint8Array;
  inverted: boolean;
  /** The ink's bounding box in the input image. */
  box: { left: number; top: number; width: number; height: number };
}

export class NoDigitError extends Error {
  override name = 'NoDigitError';
}

/**
 * RGBA (H, W, 4) to grayscale (H, W) with ITU-R BT.601 luma. Transparent pixels are composited over
 * the colour that contrasts with the opaque strokes (white behind dark ink, black behind light ink),
 * so a drawing on a transparent canvas keeps its strokes whichever colour they are.
 */
export function toGrayscale(rgba: Uint8Array, width: number, height: number): Uint8Array {
  if (rgba.length !== width * height * 4) {
    throw new Error(
      `toGrayscale: expected ${width}x${height}x4 = ${width * height * 4} RGBA bytes, found ${rgba.length}`,
    );
  }
  const pixels = width * height;
  let strokeLuma = 0;
  let strokes = 0;
  let transparent = 0;
  for (let i = 0; i < pixels; i++) {
    const alpha = rgba[4 * i + 3] as number;
    if (alpha < 255) transparent++;
    if (alpha >= 128) {
      strokeLuma += luma(rgba, i);
      strokes++;
    }
  }
  // Opaque images: alpha never matters. Otherwise the backdrop contrasts with the opaque strokes.
  const backdrop = transparent === 0 ? 0 : strokes > 0 && strokeLuma / strokes < 128 ? 255 : 0;
  const gray = new Uint8Array(pixels);
  for (let i = 0; i < pixels; i++) {
    const alpha = (rgba[4 * i + 3] as number) / 255;
    gray[i] = Math.round(luma(rgba, i) * alpha + backdrop * (1 - alpha));
  }
  return gray;
}

function luma(rgba: Uint8Array, i: number): number {
  return (
    0.299 * (rgba[4 * i] as number) +
    0.587 * (rgba[4 * i + 1] as number) +
    0.114 * (rgba[4 * i + 2] as number)
  );
}

/** The pixels on the image's outer frame (what a photographed or drawn digit sits on). */
function borderValues(gray: Uint8Array, width: number, height: number): number[] {
  const values: number[] = [];
  for (let x = 0; x < width; x++) {
    values.push(gray[x] as number);
    if (height > 1) values.push(gray[(height - 1) * width + x] as number);
  }
  for (let y = 1; y < height - 1; y++) {
    values.push(gray[y * width] as number);
    if (width > 1) values.push(gray[y * width + width - 1] as number);
  }
  return values.sort((a, b) => a - b);
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

/** Bilinear resampling (pixel centres aligned), for enlarging a small crop without blocks. */
function resizeBilinear(
  gray: Uint8Array,
  width: number,
  height: number,
  outWidth: number,
  outHeight: number,
): Uint8Array {
  const out = new Uint8Array(outWidth * outHeight);
  for (let oy = 0; oy < outHeight; oy++) {
    const sy = Math.min(height - 1, Math.max(0, ((oy + 0.5) * height) / outHeight - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(height - 1, y0 + 1);
    const fy = sy - y0;
    for (let ox = 0; ox < outWidth; ox++) {
      const sx = Math.min(width - 1, Math.max(0, ((ox + 0.5) * width) / outWidth - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(width - 1, x0 + 1);
      const fx = sx - x0;
      const top = (gray[y0 * width + x0] as number) * (1 - fx) + (gray[y0 * width + x1] as number) * fx;
      const bottom = (gray[y1 * width + x0] as number) * (1 - fx) + (gray[y1 * width + x1] as number) * fx;
      out[oy * outWidth + ox] = Math.round(top * (1 - fy) + bottom * fy);
    }
  }
  return out;
}

/** A grayscale picture of one digit (H, W) to an MNIST-style (28, 28) image. */
export function preprocessDigit(
  gray: Uint8Array,
  width: number,
  height: number,
  options: PreprocessOptions = {},
): PreprocessResult {
  if (!(width > 0 && height > 0) || gray.length !== width * height) {
    throw new Error(
      `preprocessDigit: expected ${width}x${height} = ${width * height} gray pixels, found ${gray.length}`,
    );
  }
  const border = borderValues(gray, width, height);
  const inverted =
    options.invert === 'auto' || options.invert === undefined ? quantile(border, 0.5) > 127 : options.invert;
  const ink = inverted ? gray.map((v) => 255 - v) : Uint8Array.from(gray);
  // NOTE: background = median of the frame; its 90th-percentile deviation is noise (paper grain, JPEG
  // ringing). Levels up to background + 2 x noise become 0; a clean image (noise 0) keeps every level.
  const frame = borderValues(ink, width, height);
  const background = quantile(frame, 0.5);
  const noise = quantile(
    frame.map((v) => Math.abs(v - background)).sort((a, b) => a - b),
    0.9,
  );
  const floor = Math.min(254, background + 2 * noise);
  let peak = 0;
  for (const v of ink) peak = Math.max(peak, v);
  if (peak <= floor) {
    throw new NoDigitError(
      `found no ink in the ${width}x${height} picture (it is uniform or pure noise); ` +
        'expected one dark digit on light paper or a light digit on a dark background',
    );
  }
  let left = width;
  let right = -1;
  let top = height;
  let bottom = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const v = Math.max(0, Math.round((((ink[i] as number) - floor) * 255) / (peak - floor)));
      ink[i] = v;
      if (v >= BOX_THRESHOLD) {
        left = Math.min(left, x);
        right = Math.max(right, x);
        top = Math.min(top, y);
        bottom = Math.max(bottom, y);
      }
    }
  }
  const boxWidth = right - left + 1;
  const boxHeight = bottom - top + 1;
  const crop = new Uint8Array(boxWidth * boxHeight); // (boxHeight, boxWidth)
  for (let y = 0; y < boxHeight; y++) {
    crop.set(ink.subarray((top + y) * width + left, (top + y) * width + left + boxWidth), y * boxWidth);
  }
  const scale = MNIST_BOX / Math.max(boxWidth, boxHeight);
  const outWidth = Math.max(1, Math.min(MNIST_BOX, Math.round(boxWidth * scale)));
  const outHeight = Math.max(1, Math.min(MNIST_BOX, Math.round(boxHeight * scale)));
  const digit =
    outWidth === boxWidth && outHeight === boxHeight
      ? crop
      : scale < 1
        ? resizeArea(crop, boxWidth, boxHeight, outWidth, outHeight)
        : resizeBilinear(crop, boxWidth, boxHeight, outWidth, outHeight); // (outHeight, outWidth)
  let mass = 0;
  let sumY = 0;
  let sumX = 0;
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      const v = digit[y * outWidth + x] as number;
      mass += v;
      sumY += v * y;
      sumX += v * x;
    }
  }
  const centerY = mass > 0 ? sumY / mass : (outHeight - 1) / 2;
  const centerX = mass > 0 ? sumX / mass : (outWidth - 1) / 2;
  const offsetY = Math.min(MNIST_SIZE - outHeight, Math.max(0, Math.round(MNIST_CENTER - centerY)));
  const offsetX = Math.min(MNIST_SIZE - outWidth, Math.max(0, Math.round(MNIST_CENTER - centerX)));
  const image = new Uint8Array(MNIST_SIZE * MNIST_SIZE);
  for (let y = 0; y < outHeight; y++) {
    image.set(digit.subarray(y * outWidth, (y + 1) * outWidth), (offsetY + y) * MNIST_SIZE + offsetX);
  }
  return { image, inverted, box: { left, top, width: boxWidth, height: boxHeight } };
}

/** RGBA (H, W, 4) straight to an MNIST-style (28, 28) image. */
export function preprocessRgba(
  rgba: Uint8Array,
  width: number,
  height: number,
  options: PreprocessOptions = {},
): PreprocessResult {
  return preprocessDigit(toGrayscale(rgba, width, height), width, height, options);
}
