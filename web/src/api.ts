// Calls to the `mnist-lab serve` JSON API. Every failure becomes an ApiError whose message names the
// request and what the server said, so the page can show it instead of throwing.
import type { Health, RunDetail, RunSummary, SaveRunBody, TrainRequest } from './types.js';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

async function request(method: string, path: string, body?: unknown): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      ...(method === 'HEAD' ? { cache: 'no-store' as const } : {}),
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
  } catch (error) {
    throw new ApiError(
      `${method} ${path}: the server did not answer (${(error as Error).message}); is 'mnist-lab serve' still running?`,
      0,
    );
  }
  if (!response.ok) throw new ApiError(`${method} ${path}: ${await errorText(response)}`, response.status);
  return response;
}

/** The server's JSON error message when there is one, else the status line. */
async function errorText(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: unknown; message?: unknown };
    const message = body.error ?? body.message;
    if (typeof message === 'string') return `${message} (HTTP ${response.status})`;
    if (message && typeof message === 'object' && 'message' in message)
      return `${String(message.message)} (HTTP ${response.status})`;
  } catch {
    // not JSON: fall through to the status line
  }
  return `HTTP ${response.status} ${response.statusText}`.trim();
}

async function getJson<T>(path: string): Promise<T> {
  return (await (await request('GET', path)).json()) as T;
}

export const api = {
  health: (): Promise<Health> => getJson('/api/health'),
  runs: async (): Promise<RunSummary[]> => (await getJson<{ runs: RunSummary[] }>('/api/runs')).runs,
  run: (id: string): Promise<RunDetail> => getJson(`/api/runs/${encodeURIComponent(id)}`),
  /** model.safetensors of the run's latest checkpoint, and its tag (the ETag: one per checkpoint). */
  model: async (id: string): Promise<{ bytes: Uint8Array; tag: string | null }> => {
    const response = await request('GET', modelPath(id));
    return { bytes: new Uint8Array(await response.arrayBuffer()), tag: response.headers.get('etag') };
  },
  /** The tag of the run's latest model, without its bytes: it changes when a new checkpoint lands. */
  modelTag: async (id: string): Promise<string | null> =>
    (await request('HEAD', modelPath(id))).headers.get('etag'),
  reportUrl: (id: string): string => `/api/runs/${encodeURIComponent(id)}/report`,
  eventsUrl: (id: string): string => `/api/runs/${encodeURIComponent(id)}/events`,
  train: async (options: TrainRequest): Promise<{ id: string }> =>
    (await (await request('POST', '/api/train', options)).json()) as { id: string },
  /** A model taught in the page, saved by the server as a new run. */
  saveRun: async (body: SaveRunBody): Promise<{ id: string; run: RunSummary }> =>
    (await (await request('POST', '/api/runs', body)).json()) as { id: string; run: RunSummary },
};

function modelPath(id: string): string {
  return `/api/runs/${encodeURIComponent(id)}/model`;
}

/** A message for any error, for the page's status lines. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
