// A tiny router: routes are a method and a path pattern whose `:name` segments capture one
// URL-decoded path segment each. Dispatch catches every handler's errors, so one bad request
// answers with its own JSON error and never affects another.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, sendError } from './http.js';

export interface RequestContext {
  request: IncomingMessage;
  response: ServerResponse;
  url: URL;
  params: Record<string, string>;
}

export type Handler = (context: RequestContext) => Promise<void> | void;

interface Route {
  method: string;
  segments: string[];
  handler: Handler;
}

export class Router {
  private readonly routes: Route[] = [];

  constructor(private readonly log: (line: string) => void = () => undefined) {}

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
      const { route, params, otherMethod } = this.match(method, url.pathname);
      if (route) await route.handler({ request, response, url, params });
      else if (otherMethod) throw new HttpError(405, `${method} is not allowed on ${url.pathname}`);
      else if (fallback) await fallback({ request, response, url, params: {} });
      else throw new HttpError(404, `no such path: ${url.pathname}`);
    } catch (error) {
      if (error instanceof HttpError) {
        if (error.status === 413 && !response.headersSent) response.setHeader('connection', 'close');
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
