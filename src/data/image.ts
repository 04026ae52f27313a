// Converting a user's picture into an MNIST-style 28x28 grayscale image. Pure.

import { IMAGE_HEIGHT, IMAGE_WIDTH } from './dataset.js';

/** RGBA (H, W, 4) u8 to grayscale (H, W) u8: ITU-R BT.601 luma, alpha composited over black. */
export function rgbaToGray(rgba: Uint8Array, width: number, height: number): Uint8Array {
  const gray = new Uint8Array(width * height);
  for (let i = 0; i < gray.length; i++) {
    const luma = 0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2];
    gray[i] = Math.round((luma * rgba[4 * i + 3]) / 255);
  }
  return gray;
}

/**
 * Resizes grayscale (H, W) u8 to (outHeight, outWidth) by area averaging: each output pixel is the
 * mean of the source area it covers (exact for shrinking, nearest-like for enlarging). The aspect
 * ratio is not kept, like torchvision's Resize((28, 28)).
 */
export function resizeArea(
  gray: Uint8Array,
  width: number,
  height: number,
  outWidth: number = IMAGE_WIDTH,
  outHeight: number = IMAGE_HEIGHT,
): Uint8Array {
  const out = new Uint8Array(outWidth * outHeight);
  const stepX = width / outWidth;
  const stepY = height / outHeight;
  for (let oy = 0; oy < outHeight; oy++) {
    const top = oy * stepY;
    const bottom = top + stepY;
    for (let ox = 0; ox < outWidth; ox++) {
      const left = ox * stepX;
      const right = left + stepX;
      let sum = 0;
      for (let y = Math.floor(top); y < Math.min(height, Math.ceil(bottom)); y++) {
        const coverY = Math.min(bottom, y + 1) - Math.max(top, y);
        for (let x = Math.floor(left); x < Math.min(width, Math.ceil(right)); x++) {
          const coverX = Math.min(right, x + 1) - Math.max(left, x);
          sum += coverX * coverY * gray[y * width + x];
        }
      }
      out[oy * outWidth + ox] = Math.round(sum / (stepX * stepY));
    }
  }
  return out;
}
