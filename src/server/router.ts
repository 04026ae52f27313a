// A tiny router: routes are a method and a path pattern whose `:name` segments capture one
// URL-decoded path segment each. Dispatch catches every handler's errors, so one bad request
// answers with its own JSON error and never affects another. An optional guard sees every request
// first (the server's Host, Origin and token checks): it throws to refuse, or answers by itself.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, sendError } from './http.js';

export interface RequestContext {
  request: IncomingMessage;
  response: ServerResponse;
  url: URL;
  params: Record<string, string>;
}

export type Handler = (context: RequestContext) => Promise<void> | void;

/** Runs before routing: throws an HttpError to refuse; returns true when it answered itself. */
export type Guard = (context: Omit<RequestContext, 'params'>) => boolean;

export interface RouterOptions {
  log?: (line: string) => void;
  guard?: Guard;
}

interface Route {
  method: string;
  segments: string[];
  handler: Handler;
}

export class Router {
  private readonly routes: Route[] = [];
  private readonly log: (line: string) => void;
  private readonly guard: Guard | undefined;

  constructor(options: RouterOptions = {}) {
    this.log = options.log ?? (() => undefined);
    this.guard = options.guard;
  }

  add(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method, segments: pattern.split('/').filter(Boolean), handler });
    return this;
  }

  /** The route matching the path, and whether another method would have matched. */
  private match(
    method: string,
    path: string,
  ): { route?: Route; params: Record<string, string>; otherMethod: boolean } {
    const parts = path.split('/').filter(Boolean);
    let otherMethod = false;
    for (const route of this.routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      if (route.method === method || (method === 'HEAD' && route.method === 'GET'))
        return { route, params, otherMethod };
      otherMethod = true;
    }
    return { params: {}, otherMethod };
  }

  /** Answers one request: the matching route, else `fallback`, else a 404 JSON error. */
  async dispatch(request: IncomingMessage, response: ServerResponse, fallback?: Handler): Promise<void> {
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://localhost');
    } catch {
      sendError(response, 400, `malformed request URL ${JSON.stringify((request.url ?? '').slice(0, 100))}`);
      return;
    }
    const method = request.method ?? 'GET';
    try {
      if (this.guard?.({ request, response, url })) return;
      const { route, params, otherMethod } = this.match(method, url.pathname);
      if (route) await route.handler({ request, response, url, params });
      else if (otherMethod) throw new HttpError(405, `${method} is not allowed on ${url.pathname}`);
      else if (fallback) await fallback({ request, response, url, params: {} });
      else throw new HttpError(404, `no such path: ${url.pathname}`);
    } catch (error) {
      if (error instanceof HttpError) {
        if (!response.headersSent) {
          for (const [name, value] of Object.entries(error.headers)) response.setHeader(name, value);
          // Refused before its body was read (413, a busy decoder, an unknown run): close rather
          // than read up to 16 MiB only to keep the connection.
          if (!request.complete) response.setHeader('connection', 'close');
        }
        sendError(response, error.status, error.message);
        return;
      }
      // Not the client's fault: log the details here, answer with one line.
      const message = error instanceof Error ? error.message : String(error);
      this.log(`${method} ${url.pathname}: ${error instanceof Error && error.stack ? error.stack : message}`);
      sendError(response, 500, `internal error while answering ${method} ${url.pathname}: ${message}`);
    }
  }
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, segment] of pattern.entries()) {
    const part = parts[i] as string;
    if (segment.startsWith(':')) {
      try {
        params[segment.slice(1)] = decodeURIComponent(part);
      } catch {
        return undefined; // malformed %-escape: no route matches it
      }
    } else if (segment !== part) return undefined;
  }
  return params;
}
