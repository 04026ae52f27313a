// Shared by the server tests: a small real run (the `fast` recipe on 6,000 MNIST images: ~94%
// test accuracy in a few seconds on the native backend), MNIST test digits as PNG, HTTP helpers.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';
import { loadMnist } from '../../src/index.js';
import { encodePng } from '../../src/data/node/png.js';

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
  /** A response header, or undefined. */
  header: (name: string) => string | undefined;
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
    header: (name) => response.headers.get(name) ?? undefined,
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

/**
 * One HTTP request through node:http, for what fetch does not let a test choose: the Host header,
 * the local address it comes from (any of 127.0.0.0/8), Origin and cookies. Always to 127.0.0.1.
 */
export function rawCall(
  port: number,
  path: string,
  init: {
    method?: string;
    headers?: Record<string, string>;
    body?: Uint8Array | string;
    localAddress?: string;
  } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        headers: { host: `127.0.0.1:${port}`, ...init.headers },
        setHost: false,
        ...(init.localAddress ? { localAddress: init.localAddress } : {}),
        agent: false,
      },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({
            status: incoming.statusCode ?? 0,
            type: String(incoming.headers['content-type'] ?? ''),
            header: (name) => {
              const value = incoming.headers[name.toLowerCase()];
              return Array.isArray(value) ? value.join(', ') : value;
            },
            body,
            json: () => JSON.parse(body.toString('utf8')) as unknown,
          });
        });
        incoming.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(init.body === undefined ? undefined : Buffer.from(init.body));
  });
}

export interface ServeProcess {
  /** stdout lines printed before the server was ready (its addresses). */
  lines: string[];
  stderr: () => string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `mnist-lab serve ...args` as a child and waits for its first stdout line (the address). */
export async function spawnServe(args: readonly string[]): Promise<ServeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.includes('\n')) resolve();
    });
    child.on('close', () => reject(new Error(`serve exited early: ${stderr}`)));
  });
  await new Promise((resolve) => setTimeout(resolve, 200)); // the rest of its start-up lines
  return {
    lines: stdout.split('\n').filter(Boolean),
    stderr: () => stderr,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/**
 * A photo of a handwritten "1" as a phone takes it: a dark vertical stroke on light paper with
 * sensor noise (noise 0: flat paper, a small file), JPEG quality 85. Made here rather than committed:
 * 4032x3024 with noise 40 is ~4 MB.
 */
export function photoJpeg(width: number, height: number, noise = 0): Uint8Array {
  const data = Buffer.alloc(width * height * 4, 255); // (H, W, 4) u8 RGBA
  let state = 1; // NOTE: an LCG, so every run makes the same bytes
  for (let i = 0; i < width * height; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    const paper = 235 - ((state >>> 24) % (noise + 1));
    data[i * 4] = data[i * 4 + 1] = data[i * 4 + 2] = paper;
  }
  for (let y = Math.floor(height * 0.2); y < height * 0.8; y++) {
    for (let x = Math.floor(width * 0.47); x < width * 0.53; x++) {
      const o = (y * width + x) * 4;
      data[o] = data[o + 1] = data[o + 2] = 30;
    }
  }
  return new Uint8Array(jpeg.encode({ width, height, data }, 85).data);
}
