// The pretraining run's report section (Node: PNG encoding): for a grid of test images, rows of
// input / masked input (masked patches in blue) / reconstruction (visible patches as they were,
// masked ones the decoder's prediction), as one PNG in the page.
import { encodePng } from '../../data/node/png.js';
import type { RgbaImage } from '../../data/grid.js';
import type { ReportSection } from '../../eval/report.js';
import { tensor } from '../../tensor/ops/creation.js';
import type { MaskedAutoencoder } from '../mae.js';

export interface ReconstructionOptions {
  /** Test images shown. Default 24. */
  count?: number;
  /** Images per row of the grid. Default 8. */
  columns?: number;
  /** Seeds the masks. Default 0. */
  seed?: number;
  /** Pixels per image pixel. Default 3. */
  zoom?: number;
}

const MASK_COLOUR: readonly [number, number, number] = [40, 70, 150];
const GAP = 4;

/** The grid as RGBA and the mean reconstruction loss of those images. */
export function reconstructionGrid(
  model: MaskedAutoencoder,
  images: Uint8Array,
  options: ReconstructionOptions = {},
): { image: RgbaImage; loss: number; count: number } {
  const [H, W, C] = (model.inputShape ?? [28, 28, 1]) as [number, number, number];
  const pixels = H * W * C;
  const count = Math.min(options.count ?? 24, Math.floor(images.length / pixels));
  const columns = Math.min(options.columns ?? 8, count);
  const zoom = options.zoom ?? 3;
  const x = new Float32Array(count * pixels);
  for (let i = 0; i < x.length; i++) x[i] = (images[i] as number) / 255;
  const result = model.reconstruct(tensor(x, [count, H, W, C]), options.seed ?? 0);
  const blocks = Math.ceil(count / columns);
  const cell = W * zoom + GAP;
  const width = columns * cell + GAP;
  const height = blocks * (3 * (H * zoom + GAP) + GAP) + GAP;
  const data = new Uint8Array(width * height * 4).fill(255);
  const P = model.encoder.patchSize;
  const M = result.mask.masked.length / count;
  const maskedPixel = (n: number, row: number, col: number): boolean => {
    const patch = Math.floor(row / P) * (W / P) + Math.floor(col / P);
    const list = result.mask.masked.subarray(n * M, (n + 1) * M);
    return list.includes(patch);
  };
  const sources = [x, result.masked, result.reconstruction];
  for (let n = 0; n < count; n++) {
    const block = Math.floor(n / columns);
    const left = GAP + (n % columns) * cell;
    sources.forEach((source, kind) => {
      const top = GAP + block * (3 * (H * zoom + GAP) + GAP) + kind * (H * zoom + GAP);
      for (let row = 0; row < H; row++) {
        for (let col = 0; col < W; col++) {
          const value = Math.round(255 * (source[n * pixels + (row * W + col) * C] as number));
          const rgb: readonly number[] =
            kind === 1 && maskedPixel(n, row, col) ? MASK_COLOUR : [value, value, value];
          for (let dy = 0; dy < zoom; dy++) {
            for (let dx = 0; dx < zoom; dx++) {
              const at = ((top + row * zoom + dy) * width + left + col * zoom + dx) * 4;
              data[at] = rgb[0] as number;
              data[at + 1] = rgb[1] as number;
              data[at + 2] = rgb[2] as number;
              data[at + 3] = 255;
            }
          }
        }
      }
    });
  }
  return { image: { width, height, data }, loss: result.loss, count };
}

/** The report section: the grid as an inline PNG, and what it shows. */
export function reconstructionSection(
  model: MaskedAutoencoder,
  images: Uint8Array,
  options: ReconstructionOptions = {},
): { section: ReportSection; png: Uint8Array; loss: number } {
  const { image, loss, count } = reconstructionGrid(model, images, options);
  const png = encodePng(image);
  const src = `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
  const ratio = Math.round(model.maskRatio * 100);
  const html =
    `<p class="muted">${count} test images (never seen in pretraining), in groups of three rows: the input; ` +
    `the input with ${ratio}% of its patches masked (blue), all the encoder sees; the reconstruction ` +
    `(visible patches as they were, masked ones predicted by the decoder). Mean loss on their masked ` +
    `patches: ${loss.toFixed(4)}.</p>` +
    `<figure id="reconstructions"><img alt="inputs, masked inputs and reconstructions" src="${src}" ` +
    `style="image-rendering: pixelated; max-width: 100%"></figure>`;
  return { section: { id: 'reconstructions', title: 'Reconstructions', html }, png, loss };
}
