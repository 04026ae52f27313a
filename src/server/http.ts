// HTTP plumbing shared by the handlers: an error type carrying its status, JSON responses, and a
// request body reader that stops at a size limit. Every error the client sees is one JSON line
// {"error": "..."}; stack traces stay in the server.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An error the client caused or may see: its status code and a one-line message. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
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

/**
 * The request body, refused with 413 as soon as it passes `limit` bytes (a declared
 * content-length over the limit is refused before reading).
 */
export async function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  const tooLarge = () =>
    new HttpError(413, `request body is larger than the ${limit}-byte limit; send a smaller image`);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
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
