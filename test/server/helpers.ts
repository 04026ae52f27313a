// Shared by the server tests: a small real run (the `fast` recipe on 6,000 MNIST images: ~94%
// test accuracy in a few seconds on the native backend), MNIST test digits as PNG, HTTP helpers.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodePng, loadMnist } from '../../src/index.js';

export const REPO_ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
export const CLI = join(REPO_ROOT, 'src', 'cli', 'main.ts');

export interface RunsFixture {
  runsDir: string;
  /** The trained run's id (its directory name). */
  runId: string;
  remove(): void;
}

/** Runs `mnist-lab ...args` as a child process; rejects with its stderr on a non-zero exit. */
export function cli(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', CLI, ...args],
      { cwd: REPO_ROOT, maxBuffer: 64 << 20 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`mnist-lab ${args.join(' ')} failed: ${stderr}`)) : resolve(stdout),
    );
  });
}

/** A temp runs directory holding one trained run, `fast-small`. */
export async function trainedRuns(): Promise<RunsFixture> {
  const root = mkdtempSync(join(tmpdir(), 'mnist-lab-serve-'));
  const runsDir = join(root, 'runs');
  const runId = 'fast-small';
  await cli([
    'train',
    '--model',
    'fast',
    '--limit',
    '6000',
    '--offline',
    '--out',
    join(runsDir, runId),
    '--json',
  ]);
  return { runsDir, runId, remove: () => rmSync(root, { recursive: true, force: true }) };
}

export interface Digit {
  label: number;
  /** (28, 28) u8, white on black. */
  pixels: Uint8Array;
  /** The digit dark on white paper, on a 64x64 canvas, as PNG bytes. */
  png: Uint8Array;
}

/** The first `count` MNIST test digits. */
export async function testDigits(count: number): Promise<Digit[]> {
  const { test } = await loadMnist({ offline: true });
  const digits: Digit[] = [];
  for (let i = 0; i < count; i++) {
    const pixels = test.images.slice(i * 784, (i + 1) * 784);
    const size = 64;
    const data = new Uint8Array(size * size * 4).fill(255);
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        const o = ((y + 10) * size + x + 14) * 4;
        data[o] = data[o + 1] = data[o + 2] = 255 - (pixels[y * 28 + x] as number);
      }
    }
    digits.push({
      label: test.labels[i] as number,
      pixels,
      png: encodePng({ width: size, height: size, data }),
    });
  }
  return digits;
}

export interface Reply {
  status: number;
  type: string;
  body: Buffer;
  json: () => unknown;
}

/** A body fetch accepts: strings as they are, bytes copied into their own ArrayBuffer. */
export function sendable(body: Uint8Array | string): Uint8Array<ArrayBuffer> | string {
  return typeof body === 'string' ? body : new Uint8Array(body);
}

/** One HTTP request with fetch; the body read whole. */
export async function call(
  base: string,
  path: string,
  init: { method?: string; body?: Uint8Array | string; type?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const response = await fetch(base + path, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    ...(init.body !== undefined ? { body: sendable(init.body) } : {}),
    headers: { ...(init.type ? { 'content-type': init.type } : {}), ...init.headers },
  });
  const body = Buffer.from(await response.arrayBuffer());
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    body,
    json: () => JSON.parse(body.toString('utf8')) as unknown,
  };
}

/** The JSON body of an error reply: exactly {error: one line}. */
export function errorOf(reply: Reply): string {
  const parsed = reply.json() as { error?: unknown };
  if (typeof parsed.error !== 'string' || parsed.error.includes('\n') || Object.keys(parsed).length !== 1) {
    throw new Error(`not a one-line JSON error: ${reply.body.toString('utf8').slice(0, 300)}`);
  }
  return parsed.error;
}
