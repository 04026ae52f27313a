// A reader that closes mnist-lab's output early (`mnist-lab --help | head -3`) ends the output
// quietly: no unhandled EPIPE error and stack trace on stderr.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../runs/helpers.js';

describe('mnist-lab writing into a closed pipe', () => {
  it('--help into a reader that closes after the first chunk: no EPIPE, no stack trace', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), '--help'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // Close the reading end before the help is written, as `head` does once it has its lines.
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.doesNotMatch(stderr, /EPIPE|Unhandled| {4}at /, stderr);
    assert.equal(code, 0, stderr);
  });
});
