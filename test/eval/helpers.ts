// Shared by the evaluation and prediction tests: the CLI as a child process, and one small trained
// run per test file (the `mlp` recipe on 4,000 images: ~89% test accuracy in a few seconds).
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `mnist-lab ...args` (node --import tsx src/cli/main.ts). */
export function runCli(args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts'), ...args],
      { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Trains the `mlp` recipe on the first 4,000 MNIST images into a new temp directory. */
export async function trainSmallRun(): Promise<string> {
  const runDir = join(mkdtempSync(join(tmpdir(), 'mnist-lab-eval-')), 'run');
  const result = await runCli([
    'train',
    '--model',
    'mlp',
    '--limit',
    '4000',
    '--offline',
    '--out',
    runDir,
    '--json',
  ]);
  if (result.code !== 0)
    throw new Error(`training the fixture run failed (${result.code}): ${result.stderr}`);
  return runDir;
}
