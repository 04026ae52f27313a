// Shared by the data tests: the tiny fixture dataset as a pinned spec, a local HTTP mirror server,
// and temp directories.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { sha256Hex } from '../../src/data/node/files.js';
import type { PinnedDatasetSpec } from '../../src/data/registry.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'data');
export const TINY_IDX = join(FIXTURES, 'tiny-idx');
export const IMAGE_FOLDER = join(FIXTURES, 'image-folder');
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const TINY_FILE_NAMES = [
  'train-images-idx3-ubyte',
  'train-labels-idx1-ubyte',
  't10k-images-idx3-ubyte',
  't10k-labels-idx1-ubyte',
] as const;

/** The decompressed bytes of a tiny fixture file. */
export function tinyBytes(name: string): Uint8Array {
  return gunzipSync(readFileSync(join(TINY_IDX, `${name}.gz`)));
}

/** The tiny fixture (60 train / 20 test MNIST images) declared like a built-in dataset. */
export function tinySpec(mirrors: string[] = []): PinnedDatasetSpec {
  const file = (name: string) => {
    const bytes = tinyBytes(name);
    return { name, sha256: sha256Hex(bytes), bytes: bytes.length };
  };
  return {
    kind: 'pinned',
    name: 'tiny',
    description: 'test fixture',
    classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    files: {
      trainImages: file('train-images-idx3-ubyte'),
      trainLabels: file('train-labels-idx1-ubyte'),
      testImages: file('t10k-images-idx3-ubyte'),
      testLabels: file('t10k-labels-idx1-ubyte'),
    },
    mirrors,
  };
}

const tempDirs: string[] = [];
process.on('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temp directory, removed when the test process exits. */
export function tempDir(prefix = 'mnist-lab-data-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** Every file under `dir`, recursively (relative paths); [] if it does not exist. */
export function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath ?? entry.path, entry.name).slice(dir.length + 1));
  } catch {
    return [];
  }
}

export interface MirrorServer {
  /** Base URL of a route: good, missing (404), error (500), truncated, wrong (checksum), hang, redirect, big. */
  url(route: string): string;
  /** Requests received per route. */
  hits: Map<string, number>;
  close(): Promise<void>;
}

/** A local HTTP server on 127.0.0.1 (random port) playing good and bad mirrors of the tiny dataset. */
export async function startMirrorServer(): Promise<MirrorServer> {
  const hits = new Map<string, number>();
  const sockets = new Set<Socket>();
  const send = (response: ServerResponse, body: Uint8Array) => {
    response.writeHead(200, { 'content-type': 'application/gzip', 'content-length': body.length });
    response.end(body);
  };
  const server: Server = createServer((request, response) => {
    const [, route = '', file = ''] = (request.url ?? '').split('/');
    hits.set(route, (hits.get(route) ?? 0) + 1);
    const name = file.replace(/\.gz$/, '');
    const known = (TINY_FILE_NAMES as readonly string[]).includes(name);
    const gz = known ? readFileSync(join(TINY_IDX, file)) : undefined;
    if (!gz && route !== 'hang') {
      response.writeHead(404).end();
      return;
    }
    switch (route) {
      case 'good':
        return send(response, gz!);
      case 'missing':
        return void response.writeHead(404).end('not found');
      case 'error':
        return void response.writeHead(500).end('boom');
      case 'truncated':
        return send(response, gz!.subarray(0, Math.floor(gz!.length / 2)));
      case 'wrong': {
        const bytes = tinyBytes(name);
        bytes[bytes.length - 1] ^= 0xff; // same size, different content
        return send(response, gzipSync(bytes));
      }
      case 'big':
        return send(response, gzipSync(Buffer.concat([tinyBytes(name), Buffer.alloc(100)])));
      case 'redirect':
        return void response.writeHead(302, { location: `/good/${file}` }).end();
      case 'hang':
        return; // never answers
      default:
        response.writeHead(404).end();
    }
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (route) => `http://127.0.0.1:${port}/${route}/`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
