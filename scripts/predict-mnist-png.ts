// Measures `predict` end to end on MNIST test images written out as PNG files, as they are and
// inverted onto a larger white canvas (dark ink on white paper, off-centre):
//   npx tsx scripts/predict-mnist-png.ts <runDir> [count=500]
// Each file goes through the CLI's path: decodeImage -> preprocessRgba -> predictDigits.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeImage, loadMnist, loadModel, predictDigits } from '../src/index.js';
import { encodePng } from '../src/data/node/png.js';
import { preprocessRgba } from '../src/predict/preprocess.js';

const [runDir, countArg] = process.argv.slice(2);
if (!runDir) throw new Error('usage: npx tsx scripts/predict-mnist-png.ts <runDir> [count]');
const count = Number(countArg ?? 500);
const { test } = await loadMnist({ offline: true });
const model = await loadModel(runDir);
const dir = mkdtempSync(join(tmpdir(), 'mnist-lab-predict-'));

/** MNIST image i as RGBA on a canvas of `size`, ink white on black, or inverted at (dx, dy). */
function picture(i: number, inverted: boolean, size: number, dx: number, dy: number) {
  const data = new Uint8Array(size * size * 4).fill(inverted ? 255 : 0);
  for (let p = 3; p < data.length; p += 4) data[p] = 255;
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const v = test.images[i * 784 + y * 28 + x] as number;
      const o = ((y + dy) * size + x + dx) * 4;
      data[o] = data[o + 1] = data[o + 2] = inverted ? 255 - v : v;
    }
  }
  return { width: size, height: size, data };
}

for (const variant of ['as-is', 'inverted-padded'] as const) {
  const images = new Uint8Array(count * 784);
  for (let i = 0; i < count; i++) {
    const file = join(dir, `${variant}-${i}.png`);
    const rgba =
      variant === 'as-is'
        ? picture(i, false, 28, 0, 0)
        : picture(i, true, 64, 7 + (i % 20), 3 + ((i * 7) % 30));
    writeFileSync(file, encodePng(rgba));
    const decoded = decodeImage(new Uint8Array(readFileSync(file)), file);
    images.set(preprocessRgba(decoded.data, decoded.width, decoded.height).image, i * 784);
  }
  const predictions = predictDigits(model, images);
  const correct = predictions.filter((p, i) => p.label === test.labels[i]).length;
  console.log(`${variant}: ${correct}/${count} = ${((100 * correct) / count).toFixed(2)}%`);
}
rmSync(dir, { recursive: true, force: true });
