// `train --debug` says how steps execute (replayed, or why eagerly); `--no-compile` runs them all
// eagerly; both train the same weights.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RunDirectory } from '../../src/runs/node/directory.js';
import { runCli } from '../eval/helpers.js';
import { tempDir } from './setup.js';

describe('train --debug / --no-compile', () => {
  it('replays the recorded step, or with --no-compile runs every step eagerly, to the same weights', async () => {
    const dir = tempDir('mnist-lab-compiled-cli-');
    try {
      const run = (out: string, ...flags: string[]) =>
        runCli([
          'train',
          '--model',
          'mlp',
          '--limit',
          '320',
          '--epochs',
          '1',
          '--offline',
          '--out',
          join(dir.path, out),
          '--json',
          '--debug',
          ...flags,
        ]);
      const replayed = await run('replayed');
      assert.equal(replayed.code, 0, replayed.stderr);
      assert.match(replayed.stderr, /debug: train step: float32\[32,28,28\] int32\[32\] replays as /);
      const eager = await run('eager', '--no-compile');
      assert.equal(eager.code, 0, eager.stderr);
      assert.doesNotMatch(eager.stderr, /debug: train step/);
      const latest = async (name: string): Promise<Buffer> => {
        const run = RunDirectory.at(join(dir.path, name));
        const checkpoint = await run.latestCheckpoint();
        assert.ok(checkpoint, `${name} wrote a checkpoint`);
        return readFileSync(join(run.file(checkpoint), 'model.safetensors'));
      };
      assert.ok(
        (await latest('replayed')).equals(await latest('eager')),
        'model.safetensors is byte-identical',
      );
    } finally {
      dir.remove();
    }
  });
});
