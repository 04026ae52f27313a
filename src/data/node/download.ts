// Node-only: downloads one dataset file from a list of mirrors into a directory (the cache).
//
// Each mirror is tried in order. A response must be HTTP 200 (redirects are followed), must not go
// quiet for longer than the timeout, and must decompress (gzip) to exactly the pinned SHA-256 and
// size. The body streams through gunzip into a temp file next to the target; only a verified file
// is fsynced and renamed into place, so a failure never leaves a file behind.

import { createHash, randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { DataEvent } from '../dataset.js';
import { DataError } from '../errors.js';
import type { IdxFileSpec } from '../registry.js';

export interface DownloadOptions {
  /** Base URLs tried in order; the file is fetched from `<base>/<name>.gz`. */
  mirrors: readonly string[];
  /** Milliseconds without progress (connecting or receiving) before a mirror is given up. */
  timeoutMs: number;
  onEvent?: (event: DataEvent) => void;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_REDIRECTS = 5;

/** The URL of `file` on the mirror `base`. */
export function mirrorUrl(base: string, file: IdxFileSpec): string {
  return new URL(`${file.name}.gz`, base.endsWith('/') ? base : `${base}/`).toString();
}

function request(url: string, timeoutMs: number, redirects = 0): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const protocol = new URL(url).protocol;
    if (protocol !== 'http:' && protocol !== 'https:') {
      reject(new Error(`unsupported protocol ${protocol}`));
      return;
    }
    const get = protocol === 'https:' ? httpsGet : httpGet;
    const req = get(url, { timeout: timeoutMs, agent: false }, (response) => {
      const status = response.statusCode ?? 0;
      const location = response.headers.location;
      if (status >= 300 && status < 400 && location) {
        response.resume();
        if (redirects >= MAX_REDIRECTS) reject(new Error(`more than ${MAX_REDIRECTS} redirects`));
        else resolve(request(new URL(location, url).toString(), timeoutMs, redirects + 1));
        return;
      }
      if (status !== 200) {
        response.resume();
        reject(new Error(`HTTP ${status}${response.statusMessage ? ` ${response.statusMessage}` : ''}`));
        return;
      }
      resolve(response);
    });
    // NOTE: the socket timeout covers connecting and every pause in the body, not the total time,
    // so a slow but steady download of a large file is not cut off.
    req.on('timeout', () => req.destroy(new Error(`no data for ${timeoutMs} ms (timed out)`)));
    req.on('error', reject);
  });
}

/** Streams one mirror's copy into `temp`, checking size and SHA-256 of the decompressed bytes. */
async function fetchVerified(
  url: string,
  file: IdxFileSpec,
  temp: string,
  timeoutMs: number,
): Promise<number> {
  const response = await request(url, timeoutMs);
  const hash = createHash('sha256');
  let bytes = 0;
  const handle = await open(temp, 'wx');
  try {
    await pipeline(response, createGunzip(), async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) {
        bytes += chunk.length;
        if (bytes > file.bytes) throw new Error(`more than the expected ${file.bytes} bytes (wrong file?)`);
        hash.update(chunk);
        await handle.write(chunk);
      }
    });
    if (bytes !== file.bytes) throw new Error(`expected ${file.bytes} bytes, found ${bytes} (truncated?)`);
    const digest = hash.digest('hex');
    if (digest !== file.sha256) throw new Error(`SHA-256 mismatch: expected ${file.sha256}, found ${digest}`);
    await handle.sync();
  } catch (error) {
    response.destroy();
    throw error;
  } finally {
    await handle.close();
  }
  return bytes;
}

/**
 * Downloads `file` into `directory/<file.name>` (decompressed), trying each mirror in order.
 * Returns the mirror (base URL) that served it. Throws a DataError listing every mirror's failure; then no file (not
 * even a temp file) is left in `directory`.
 */
export async function downloadFile(
  file: IdxFileSpec,
  directory: string,
  options: DownloadOptions,
): Promise<string> {
  const failures: string[] = [];
  for (const base of options.mirrors) {
    const url = mirrorUrl(base, file);
    const temp = join(directory, `.${file.name}.${process.pid}.${randomBytes(4).toString('hex')}.download`);
    options.onEvent?.({ kind: 'download-started', message: `downloading ${url}` });
    try {
      const bytes = await fetchVerified(url, file, temp, options.timeoutMs);
      await rename(temp, join(directory, file.name));
      options.onEvent?.({
        kind: 'download-finished',
        message: `verified ${file.name} (${bytes} bytes) from ${url}`,
      });
      return base;
    } catch (error) {
      await rm(temp, { force: true });
      const reason = error instanceof Error ? error.message : String(error);
      failures.push(`${url}: ${reason}`);
      options.onEvent?.({ kind: 'download-failed', message: `failed ${url}: ${reason}` });
    }
  }
  if (failures.length === 0) {
    throw new DataError(
      `${file.name}: no download mirrors configured; pass --mirror URL or set MNIST_LAB_MIRRORS`,
    );
  }
  throw new DataError(
    `${file.name}: every mirror failed (${failures.join('; ')}); check the network or pass --mirror URL`,
  );
}
