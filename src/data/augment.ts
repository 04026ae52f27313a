// Data augmentation: a random shift, rotation and scale applied as one affine warp about the image
// centre, sampled bilinearly with zero (background) outside the image. Pure. Labels never change.

import type { Random } from '../util/random.js';
import { IMAGE_HEIGHT, IMAGE_WIDTH } from './dataset.js';

export interface AugmentOptions {
  /** Largest shift in pixels along each axis, drawn uniformly in [-maxShift, maxShift]. Default 2. */
  maxShift?: number;
  /** Largest rotation in degrees, drawn uniformly in [-maxRotation, maxRotation]. Default 10. */
  maxRotation?: number;
  /** Zoom factor range [low, high], drawn uniformly. Default [0.9, 1.1]. */
  scale?: readonly [number, number];
}

export const AUGMENT_DEFAULTS: Required<AugmentOptions> = { maxShift: 2, maxRotation: 10, scale: [0.9, 1.1] };

/** One warp: the output is the input scaled and rotated about the centre, then shifted. */
export interface AffineParams {
  shiftX: number; // pixels, positive moves content right
  shiftY: number; // pixels, positive moves content down
  rotation: number; // degrees, positive turns content clockwise on screen (y points down)
  scale: number; // > 1 enlarges content
}

export const IDENTITY_WARP: AffineParams = { shiftX: 0, shiftY: 0, rotation: 0, scale: 1 };

/** Draws warp parameters. Always consumes exactly four random numbers, so streams stay aligned. */
export function randomAffine(random: Random, options: AugmentOptions = {}): AffineParams {
  const { maxShift, maxRotation, scale } = { ...AUGMENT_DEFAULTS, ...options };
  return {
    shiftX: random.uniform(-maxShift, maxShift),
    shiftY: random.uniform(-maxShift, maxShift),
    rotation: random.uniform(-maxRotation, maxRotation),
    scale: random.uniform(scale[0], scale[1]),
  };
}

/**
 * Warps one image: `source` (28, 28) u8 at `sourceOffset` into `out` (28, 28) raw pixel values as
 * float32 at `outOffset`. Each output pixel is mapped back through the inverse transform and sampled
 * bilinearly.
 */
export function warpAffine(
  source: Uint8Array,
  sourceOffset: number,
  params: AffineParams,
  out: Float32Array,
  outOffset: number,
): void {
  const H = IMAGE_HEIGHT;
  const W = IMAGE_WIDTH;
  const centreX = (W - 1) / 2;
  const centreY = (H - 1) / 2;
  // Forward: p' = c + s R(theta) (p - c) + t. Inverse: p = c + R(-theta) (p' - c - t) / s.
  const theta = (params.rotation * Math.PI) / 180;
  const cos = Math.cos(theta) / params.scale;
  const sin = Math.sin(theta) / params.scale;
  for (let y = 0; y < H; y++) {
    const dy = y - centreY - params.shiftY;
    for (let x = 0; x < W; x++) {
      const dx = x - centreX - params.shiftX;
      const sx = centreX + cos * dx + sin * dy;
      const sy = centreY - sin * dx + cos * dy;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      let value = 0;
      // NOTE: the four taps are read with bounds checks so pixels outside count as background.
      for (let ty = 0; ty < 2; ty++) {
        const row = y0 + ty;
        if (row < 0 || row >= H) continue;
        const wy = ty === 0 ? 1 - fy : fy;
        for (let tx = 0; tx < 2; tx++) {
          const column = x0 + tx;
          if (column < 0 || column >= W) continue;
          const wx = tx === 0 ? 1 - fx : fx;
          value += wx * wy * source[sourceOffset + row * W + column];
        }
      }
      out[outOffset + y * W + x] = value;
    }
  }
}
