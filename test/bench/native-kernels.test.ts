// The native kernel bench's table: the unfused rows the training step no longer calls are timed and
// marked, never summed; with --filter it prints no step sum (a sum of some rows is no step's time).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { it } from 'node:test';
import { nativeBackendAvailable } from '../../src/backend/native/index.js';

const availability = nativeBackendAvailable();
const skip = availability.available ? false : `native backend unavailable: ${availability.reason}`;

it('--filter: the rows asked for, the replaced ones marked, and no step sum or throughput', { skip }, () => {
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', join('bench', 'native-kernels.ts'), '--threads', '1', '--filter', 'relu1'],
    { cwd: join(import.meta.dirname, '..', '..'), encoding: 'utf8', timeout: 120_000 },
  );
  assert.equal(run.status, 0, run.stderr);
  const rows = run.stdout.split('\n').filter((line) => /^ {2}relu1 /.test(line));
  assert.deepEqual(
    rows.map((line) => [line.slice(2, 52).trim(), line.endsWith('(replaced, not summed)')]),
    [
      ['relu1 fwd', true],
      ['relu1 bwd', true],
      ['relu1 bwd at the pooled size (before maxpool1 bwd)', false],
    ],
  );
  assert.doesNotMatch(run.stdout, /^ {2}sum /m);
  assert.doesNotMatch(run.stdout, /implied training throughput/);
  assert.match(run.stdout, /--filter 'relu1': rows left out, so no step sum or implied throughput/);
});
