// HTTP plumbing shared by the handlers: an error type carrying its status, JSON responses, and a
// request body reader that stops at a size limit. Every error the client sees is one JSON line
// {"error": "..."}; stack traces stay in the server.
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * An error the client caused or may see: its status code, a one-line message, and headers the
 * answer needs (e.g. Retry-After on 429/503, WWW-Authenticate on 401).
 */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/** 503 or 429 with a Retry-After: the request was fine, the server or this client is at a limit. */
export function busy(status: 429 | 503, message: string, retryAfterSeconds: number): HttpError {
  return new HttpError(status, message, { 'retry-after': String(retryAfterSeconds) });
}

export function sendJson(response: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  response.end(body);
}

/** A JSON error response; the message is kept to one line. */
export function sendError(response: ServerResponse, status: number, message: string): void {
  if (response.headersSent) {
    response.destroy(); // mid-stream: nothing valid can follow
    return;
  }
  sendJson(response, status, { error: message.split('\n')[0] });
}

/** The media type of a request without parameters, lower case ('' when absent). */
export function contentType(request: IncomingMessage): string {
  return (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** What a request says its body weighs (content-length), or undefined (e.g. a chunked upload). */
export function declaredLength(request: IncomingMessage): number | undefined {
  const declared = Number(request.headers['content-length']);
  return Number.isFinite(declared) && declared >= 0 ? declared : undefined;
}

function tooLarge(limit: number, fix: string): HttpError {
  return new HttpError(413, `request body is larger than the ${formatBytes(limit)} limit; ${fix}`);
}

/** 413 for a request whose content-length is over `limit`, before anything is read. */
export function refuseDeclaredOverLimit(request: IncomingMessage, limit: number, fix: string): void {
  if ((declaredLength(request) ?? 0) > limit) throw tooLarge(limit, fix);
}

/**
 * The request body, refused with 413 as soon as it passes `limit` bytes (a declared
 * content-length over the limit is refused before reading). `fix` ends the 413's message.
 */
export async function readBody(
  request: IncomingMessage,
  limit: number,
  fix = 'send a smaller body',
): Promise<Buffer> {
  refuseDeclaredOverLimit(request, limit, fix);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit, fix);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** Parses a JSON request body; 400 naming the problem when it is not JSON. */
export function parseJsonBody(body: Buffer, what: string): unknown {
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (error) {
    throw new HttpError(400, `${what}: the body is not valid JSON (${(error as Error).message})`);
  }
}

/** 16777216 -> '16 MiB', 5242880 + 1 -> '5.0 MiB', 16384 -> '16 KiB', 1000 -> '1000 bytes'. */
export function formatBytes(bytes: number): string {
  for (const [unit, size] of [
    ['MiB', 1 << 20],
    ['KiB', 1 << 10],
  ] as const) {
    if (bytes >= size) return `${(bytes / size).toFixed(bytes % size === 0 ? 0 : 1)} ${unit}`;
  }
  return `${bytes} bytes`;
}
