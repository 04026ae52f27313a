// Static files of the built web app: index.html for `/`, assets by name, with content types.
// Only files inside the web root are served (no `..`, no symlinks out, no dotfiles); anything
// else is a 404. Without a built app, `/` answers 503 saying how to build it.
//
// Every file of the app is sent with the headers that make its pages cross-origin isolated
// (ISOLATION_HEADERS): the page may then use SharedArrayBuffer, so the wasm backend trains in a Web
// Worker on shared memory with threads (wasm/README.md). Nothing the app loads comes from another
// origin, so require-corp costs it nothing.
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
import type { ServerResponse } from 'node:http';
import { HttpError } from './http.js';

export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** COOP + COEP make a page cross-origin isolated; CORP lets an isolated page (and its workers) load the file. */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
};

const NOT_BUILT = 'web app not built: run npm run build';

/**
 * The real path of `relative` inside `root`, or undefined when it is not a servable file there:
 * a `..` or dot segment, an unknown extension, a missing file, or a symlink leading out.
 */
export async function resolveInside(
  root: string,
  relative: string,
  types: Readonly<Record<string, string>> = CONTENT_TYPES,
): Promise<string | undefined> {
  const segments = relative.split(/[/\\]/).filter(Boolean);
  if (segments.some((s) => s.startsWith('.') || s.includes('\0'))) return undefined;
  if (!(extname(relative).toLowerCase() in types)) return undefined;
  try {
    const realRoot = await realpath(root);
    const real = await realpath(join(root, ...segments));
    if (!real.startsWith(realRoot + sep)) return undefined;
    return (await stat(real)).isFile() ? real : undefined;
  } catch {
    return undefined;
  }
}

export interface SendFileOptions {
  /** Headers only (a HEAD request). */
  head?: boolean;
  cache?: string;
  /** The request's If-None-Match: a 304 without the body when it names the file's current ETag. */
  ifNoneMatch?: string | undefined;
}

/**
 * Streams a file with its content type and an ETag naming this version of it (inode, size and
 * mtime: a checkpoint written anew, or another checkpoint's file, has another tag).
 */
export async function sendFile(
  response: ServerResponse,
  path: string,
  options: SendFileOptions = {},
): Promise<void> {
  const info = await stat(path);
  const etag = `W/"${info.ino.toString(36)}-${info.size.toString(36)}-${Math.floor(info.mtimeMs).toString(36)}"`;
  const headers = {
    etag,
    'cache-control': options.cache ?? 'no-cache',
    'x-content-type-options': 'nosniff',
    // A run's report is shown in an iframe of the (isolated) page: it must be isolated too.
    ...ISOLATION_HEADERS,
  };
  if (options.ifNoneMatch?.split(',').some((tag) => tag.trim() === etag)) {
    response.writeHead(304, headers);
    response.end();
    return;
  }
  response.writeHead(200, {
    ...headers,
    'content-type': CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream',
    'content-length': info.size,
  });
  if (options.head) {
    response.end();
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const stream = createReadStream(path);
    stream.on('error', (error) => {
      response.destroy(error);
      reject(error);
    });
    response.on('close', () => {
      stream.destroy();
      resolve();
    });
    stream.pipe(response);
  });
}

/** Answers a GET of `pathname` from the web root. */
export async function serveStatic(
  webRoot: string,
  pathname: string,
  response: ServerResponse,
  options: { head: boolean; ifNoneMatch?: string | undefined },
): Promise<void> {
  const { head } = options;
  for (const [name, value] of Object.entries(ISOLATION_HEADERS)) response.setHeader(name, value);
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    throw new HttpError(400, `malformed path ${JSON.stringify(pathname.slice(0, 100))}`);
  }
  const relative = decoded === '/' || decoded === '' ? 'index.html' : decoded;
  const file = await resolveInside(webRoot, relative);
  if (file) {
    await sendFile(response, file, options);
    return;
  }
  if (relative === 'index.html') {
    const body = `<!doctype html><meta charset="utf-8"><title>mnist-lab</title><p>${NOT_BUILT}</p>\n`;
    response.writeHead(503, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    response.end(head ? undefined : body);
    return;
  }
  throw new HttpError(404, `no such file: ${decoded.slice(0, 200)}`);
}
