// Shared by the run-directory tests: tiny real runs written through the API (a 28x28 model, so the
// server can predict with them), file listings with contents, and processes to hold locks.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createJsBackend } from '../../src/backend/js/index.js';
import { setBackendInstance } from '../../src/backend/registry.js';
import { sparseCategoricalCrossentropy } from '../../src/losses/index.js';
import { dense, flatten } from '../../src/nn/index.js';
import { adam } from '../../src/optim/index.js';
import { processState } from '../../src/runs/node/lock.js';
import { openRun } from '../../src/runs/node/writer.js';
import { encodeModel } from '../../src/train/checkpoint.js';
import { sequential, type Model } from '../../src/train/model.js';
import { Random } from '../../src/util/random.js';

setBackendInstance(createJsBackend());

export const REPO_ROOT = join(import.meta.dirname, '..', '..');
export const MAIN = join(REPO_ROOT, 'src', 'cli', 'main.ts');

export function scratch(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `mnist-lab-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** `count` random u8 28x28 images and labels 0..9. */
export function randomDigits(count: number, seed = 1): { images: Uint8Array; labels: Uint8Array } {
  const random = new Random(seed);
  const images = new Uint8Array(count * 784);
  for (let i = 0; i < images.length; i++) images[i] = random.nextInt(256);
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
  return { images, labels };
}

/** flatten -> dense(10) on 28x28 inputs, compiled with Adam. */
export function tinyModel(): Model {
  const model = sequential([flatten({ inputShape: [28, 28, 1] }), dense({ units: 10 })]);
  model.compile({
    optimizer: adam({ learningRate: 0.01 }),
    loss: sparseCategoricalCrossentropy({ fromLogits: true }),
    metrics: ['accuracy'],
  });
  return model;
}

/** model.safetensors bytes of a built tinyModel() (what `mnist-lab import` writes at a run's top). */
export function tinyModelFile(): Uint8Array {
  const model = tinyModel();
  model.buildFor([28, 28, 1], new Random(7));
  return encodeModel(model);
}

/** A real run in `dir` written by fit(): `epochs` epochs of 4 steps, a checkpoint per epoch. */
export async function tinyRun(
  dir: string,
  options: { epochs?: number; keep?: number; validation?: boolean; resume?: boolean } = {},
): Promise<Model> {
  const data = randomDigits(64);
  const model = tinyModel();
  await model.fit(data.images, data.labels, {
    epochs: options.epochs ?? 1,
    batchSize: 16,
    verbose: 0,
    ...(options.keep !== undefined ? { keepCheckpoints: options.keep } : {}),
    ...(options.validation ? { validationSplit: 0.25 } : {}),
    run: await openRun(dir, { ...(options.resume ? { resume: true } : {}) }),
    ...(options.resume ? { resume: true } : {}),
    runConfig: { recipe: { model: 'tiny', dataset: 'mnist' } },
  });
  return model;
}

/** Every file under `root` (relative path -> SHA-256 of its content), to prove nothing changed. */
export function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (relative: string): void => {
    for (const name of readdirSync(join(root, relative))) {
      const path = relative ? `${relative}/${name}` : name;
      if (statSync(join(root, path)).isDirectory()) walk(path);
      else
        out[path] = createHash('sha256')
          .update(readFileSync(join(root, path)))
          .digest('hex');
    }
  };
  walk('');
  return out;
}

/** A live process of this host (a sleeping child) to name in a lock file; kill() ends and reaps it. */
export function liveProcess(): { pid: number; kill(): Promise<void> } {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 120000)'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    pid: child.pid as number,
    kill: () => {
      child.kill('SIGKILL');
      return exited;
    },
  };
}

/** The pid of a process that has exited (for a stale lock). */
/**
 * A process that has exited and is not reaped, for `seconds`: a shell starts a short sleep and
 * then becomes a long one, which never waits for its child. Returns the zombie's pid and a stop.
 */
export async function zombiePid(seconds = 10): Promise<{ pid: number; stop: () => void }> {
  const parent = spawn('sh', ['-c', `sleep 0.05 & echo $!; exec sleep ${seconds}`], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const pid = await new Promise<number>((resolve, reject) => {
    parent.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    parent.once('error', reject);
  });
  for (let i = 0; i < 200; i++) {
    if (processState(pid) === 'zombie') break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { pid, stop: () => parent.kill('SIGKILL') };
}

export function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(child.stdout.trim());
}

/** `mnist-lab ...args` as a child process (tsx on the sources). */
export function cli(
  args: readonly string[],
  options: { cwd?: string } = {},
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, MNIST_LAB_BACKEND: 'js' },
    maxBuffer: 64 << 20,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
