// Following a run's training events over Server-Sent Events: /api/runs/:id/events replays
// metrics.jsonl from the start, then sends new events live, and ends with `event: end`. Each message's
// id is its line number, so the browser's automatic reconnect resumes after the last line received.
import type { TrainEvent } from '../../src/browser.js';
import { api } from './api.js';

export interface RunStreamHandlers {
  onEvent: (event: TrainEvent) => void;
  /** The server said the run's stream is complete. */
  onEnd?: () => void;
  /** The connection failed or broke before the end. */
  onError?: (message: string) => void;
}

export interface RunStream {
  close(): void;
}

export function followRun(runId: string, handlers: RunStreamHandlers): RunStream {
  const source = new EventSource(api.eventsUrl(runId));
  let open = true;
  const close = (): void => {
    open = false;
    source.close();
  };
  let lastLine = 0;
  source.onmessage = (message: MessageEvent<string>) => {
    // A server that ignored Last-Event-ID on reconnect would replay: skip lines already seen.
    const line = Number(message.lastEventId);
    if (Number.isInteger(line) && line > 0) {
      if (line <= lastLine) return;
      lastLine = line;
    }
    let event: TrainEvent;
    try {
      event = JSON.parse(message.data) as TrainEvent;
    } catch {
      handlers.onError?.(`run ${runId}: an event was not JSON: ${message.data.slice(0, 80)}`);
      return;
    }
    handlers.onEvent(event);
  };
  source.addEventListener('end', () => {
    close();
    handlers.onEnd?.();
  });
  source.onerror = () => {
    // CONNECTING: the browser retries by itself. CLOSED: it gave up (an HTTP error, not a stream).
    if (!open || source.readyState !== EventSource.CLOSED) return;
    close();
    handlers.onError?.(`run ${runId}: the event stream could not be opened; reopen the run to try again`);
  };
  return { close };
}
