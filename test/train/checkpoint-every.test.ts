// fit({checkpointEvery}): 'end' writes the last epoch's checkpoint only; 'epoch' one per epoch.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { newRun, smallModel, syntheticData, tempDir, weightBytes } from './setup.js';
import { loadModel } from '../../src/loading/node.js';

const data = syntheticData(48);

async function checkpointsOf(every: 'epoch' | 'end' | undefined): Promise<string[]> {
  const dir = tempDir();
  try {
    const model = smallModel();
    await model.fit(data.images, data.labels, {
      epochs: 3,
      batchSize: 16,
      verbose: 0,
      ...(await newRun(dir.path)),
      ...(every ? { checkpointEvery: every } : {}),
    });
    assert.equal(readFileSync(join(dir.path, 'latest'), 'utf8').trim(), 'checkpoints/9');
    // The checkpoint holds the trained weights whichever the frequency.
    assert.deepEqual(weightBytes(await loadModel(dir.path)), weightBytes(model));
    return readdirSync(join(dir.path, 'checkpoints')).sort((a, b) => Number(a) - Number(b));
  } finally {
    dir.remove();
  }
}

describe('fit checkpointEvery', () => {
  it("'epoch' (the default) checkpoints every epoch; 'end' only after the last", async () => {
    assert.deepEqual(await checkpointsOf(undefined), ['3', '6', '9']);
    assert.deepEqual(await checkpointsOf('epoch'), ['3', '6', '9']);
    assert.deepEqual(await checkpointsOf('end'), ['9']);
  });
});
