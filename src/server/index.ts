// `mnist-lab serve`: the web app's HTTP server and JSON API on node:http. This file wires the
// pieces: the runs catalog, the training supervisor, the model cache and the static web root,
// behind a small router. Every handler's errors are caught per request (router.ts).
//
//   GET  /api/health                  {ok, version, backend}
//   GET  /api/runs                    {runs: RunSummary[]} newest first
//   GET  /api/runs/:id                {run, config, history, classNames, normalize}
//   GET  /api/runs/:id/model          the latest checkpoint's model.safetensors
//   GET  /api/runs/:id/report         report.html (and /report/<file> beside it)
//   GET  /api/runs/:id/events         Server-Sent Events: metrics.jsonl, replayed then followed
//   POST /api/train                   202 {id}: one child `mnist-lab train` at a time
//   POST /api/predict?run=<id>        a PNG/JPEG body or {pixels: number[784]} -> class probabilities
//   GET  /*                           the built web app (dist/web)
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { METRICS_FILE, REPORT_FILE, REPORT_PNG_DIR, VERSION, getBackend, selectBackend } from '../index.js';
import { streamRunEvents } from './events.js';
import { HttpError, contentType, parseJsonBody, readBody, sendJson } from './http.js';
import { DEFAULT_WEB_ROOT } from './paths.js';
import {
  ModelCache,
  PREDICT_BODY_LIMIT,
  modelForPrediction,
  pixelsFromJson,
  pixelsFromPicture,
  predictImage,
} from './predict.js';
import { Router } from './router.js';
import { RunCatalog } from './runs.js';
import { resolveInside, sendFile, serveStatic } from './static.js';
import { TrainingSupervisor, parseTrainRequest } from './training.js';

export type { RunDetail, RunStatus, RunSummary, EpochRecord } from './runs.js';
export type { PredictResult } from './predict.js';
export type { TrainRequest } from './training.js';

export interface ServeOptions {
  /** 0 = any free port. Default 8080. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  runsDir: string;
  /** The built web app; default dist/web at the package root. */
  webRoot?: string;
  /** No log lines on stderr. */
  quiet?: boolean;
  /** Compute backend for predictions and server-started training; default native when available. */
  backend?: 'js' | 'native';
  /** Native backend threads; default all cores. */
  threads?: number;
}

export interface RunningServer {
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  port: number;
  close(): Promise<void>;
}

const TRAIN_BODY_LIMIT = 16 * 1024;
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/jpg'];

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const log = options.quiet
    ? () => undefined
    : (line: string) => process.stderr.write(`mnist-lab serve: ${line}\n`);
  const backend = selectBackend({
    ...(options.backend ? { backend: options.backend } : {}),
    ...(options.threads ? { threads: options.threads } : {}),
    log,
  });
  const runsDir = resolve(options.runsDir);
  const webRoot = resolve(options.webRoot ?? DEFAULT_WEB_ROOT);
  const supervisor = new TrainingSupervisor({
    runsDir,
    backend: backend.name,
    ...(options.threads ? { threads: options.threads } : {}),
    log,
  });
  const catalog = new RunCatalog(runsDir, (id) => supervisor.get(id));
  const models = new ModelCache();
  const router = new Router(log);

  router
    .add('GET', '/api/health', ({ response }) =>
      sendJson(response, 200, { ok: true, version: VERSION, backend: getBackend().name }),
    )
    .add('GET', '/api/runs', async ({ response }) => sendJson(response, 200, { runs: await catalog.list() }))
    .add('GET', '/api/runs/:id', async ({ response, params }) =>
      sendJson(response, 200, await catalog.detail(params['id'] as string)),
    )
    .add('GET', '/api/runs/:id/model', async ({ request, response, params }) => {
      const id = params['id'] as string;
      const file = await catalog.modelPath(id);
      response.setHeader('content-disposition', `attachment; filename="${id}.safetensors"`);
      await sendFile(response, file, { head: request.method === 'HEAD' });
    })
    .add('GET', '/api/runs/:id/report', async ({ request, response, params }) => {
      const id = params['id'] as string;
      const file = await resolveInside(await catalog.runDir(id), REPORT_FILE);
      if (!file)
        throw new HttpError(404, `run '${id}' has no ${REPORT_FILE} yet (it is written when training ends)`);
      await sendFile(response, file, { head: request.method === 'HEAD' });
    })
    .add('GET', '/api/runs/:id/report/:file', async ({ request, response, params }) => {
      const id = params['id'] as string;
      const name = params['file'] as string;
      const file = await resolveInside(join(await catalog.runDir(id), REPORT_PNG_DIR), name);
      if (!file) throw new HttpError(404, `run '${id}' has no report file '${name.slice(0, 100)}'`);
      await sendFile(response, file, { head: request.method === 'HEAD' });
    })
    .add('GET', '/api/runs/:id/events', async ({ request, response, params }) => {
      const id = params['id'] as string;
      const runDir = await catalog.runDir(id);
      await catalog.checkServable(id, METRICS_FILE);
      await streamRunEvents(runDir, request, response, { isLive: () => catalog.isLive(id) });
    })
    .add('POST', '/api/train', async ({ request, response }) => {
      if (contentType(request) !== 'application/json') {
        throw new HttpError(
          415,
          `POST /api/train expects application/json, found '${contentType(request) || 'none'}'`,
        );
      }
      const body = parseTrainRequest(parseJsonBody(await readBody(request, TRAIN_BODY_LIMIT), 'train'));
      sendJson(response, 202, { id: supervisor.start(body) });
    })
    .add('POST', '/api/predict', async ({ request, response, url }) => {
      const type = contentType(request);
      const isImage = IMAGE_TYPES.includes(type);
      if (!isImage && type !== 'application/json') {
        throw new HttpError(
          415,
          `POST /api/predict expects image/png, image/jpeg or application/json, found '${type || 'none'}'`,
        );
      }
      const body = await readBody(request, PREDICT_BODY_LIMIT);
      const image = isImage ? pixelsFromPicture(body) : pixelsFromJson(body);
      const { id, run } = await modelForPrediction(catalog, models, url.searchParams.get('run'), log);
      sendJson(response, 200, predictImage(id, run, image));
    });

  const server = createServer((request, response) => {
    const fallback = async ({ url }: { url: URL }) => {
      if (url.pathname.startsWith('/api/')) throw new HttpError(404, `no such API path: ${url.pathname}`);
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        throw new HttpError(405, `${request.method} is not allowed on ${url.pathname}`);
      }
      await serveStatic(webRoot, url.pathname, response, request.method === 'HEAD');
    };
    void router.dispatch(request, response, fallback);
  });
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await listen(server, options.port ?? 8080, options.host ?? '127.0.0.1');
  const port = (server.address() as AddressInfo).port;
  const host = options.host ?? '127.0.0.1';
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    async close() {
      await supervisor.stop();
      await new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections(); // SSE streams would hold close() open
      });
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolveListen, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (error.code === 'EADDRINUSE') {
        reject(
          new Error(
            `port ${port} on ${host} is already in use: choose another with --port (0 picks a free one)`,
          ),
        );
      } else if (error.code === 'EACCES') {
        reject(new Error(`port ${port} on ${host} needs privileges: choose a port above 1023 with --port`));
      } else reject(new Error(`cannot listen on ${host}:${port}: ${error.message}`));
    };
    const onListening = () => {
      server.off('error', onError);
      resolveListen();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}
