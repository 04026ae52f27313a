// The Train area: a small form that starts a run on the server (POST /api/train), then follows the
// run's events and draws its batches live. Training itself runs on the server, not in the page.
import type { TrainEvent } from '../../src/browser.js';
import { api, messageOf } from './api.js';
import { StepChart } from './charts.js';
import { followRun, type RunStream } from './stream.js';
import type { TrainRequest } from './types.js';

export interface TrainViewOptions {
  form: HTMLFormElement;
  status: HTMLElement;
  chart: HTMLElement;
  /** The run started (the runs list should show it). */
  onStarted: (runId: string) => void;
  /** The run's stream ended: it finished, stopped or failed. */
  onFinished: (runId: string) => void;
}

export class TrainView {
  private stream: RunStream | null = null;
  private chart: StepChart;

  constructor(private readonly options: TrainViewOptions) {
    this.chart = new StepChart(options.chart); // empty axes until a run's batches arrive
    options.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.start();
    });
  }

  /** The form's values as a train request; empty optional fields are left out. */
  request(): TrainRequest {
    const data = new FormData(this.options.form);
    const number = (name: string): number | undefined => {
      const value = String(data.get(name) ?? '').trim();
      return value === '' ? undefined : Number(value);
    };
    const epochs = number('epochs');
    const limit = number('limit');
    const dataset = String(data.get('dataset') ?? '');
    return {
      model: String(data.get('model') ?? ''),
      ...(dataset ? { dataset } : {}),
      ...(epochs !== undefined ? { epochs } : {}),
      ...(limit !== undefined ? { limit } : {}),
    };
  }

  async start(): Promise<void> {
    const submit = this.options.form.querySelector('button[type=submit]') as HTMLButtonElement;
    submit.disabled = true;
    this.say('starting…');
    try {
      const { id } = await api.train(this.request());
      this.follow(id);
      this.options.onStarted(id);
    } catch (error) {
      this.say(messageOf(error), true);
      submit.disabled = false;
    }
  }

  /** Draws the run's batches as they arrive. */
  follow(runId: string): void {
    this.stream?.close();
    this.chart.destroy();
    const chart = new StepChart(this.options.chart);
    this.chart = chart;
    this.options.chart.dataset['run'] = runId;
    this.say(`run ${runId}: waiting for the first batch…`);
    const submit = this.options.form.querySelector('button[type=submit]') as HTMLButtonElement;
    let ended = false;
    const finish = (message: string, isError = false): void => {
      this.say(message, isError);
      submit.disabled = false;
    };
    let summary = '';
    this.stream = followRun(runId, {
      onEvent: (event: TrainEvent) => {
        switch (event.type) {
          case 'trainBegin':
            summary = `${event.samples.toLocaleString()} images, ${event.stepsPerEpoch} steps per epoch`;
            break;
          case 'batchEnd':
            chart.add(event);
            this.say(
              `run ${runId}: epoch ${event.epoch + 1}, step ${event.step + 1}, loss ${event.loss.toFixed(3)}, ` +
                `accuracy ${(event.accuracy * 100).toFixed(1)}%, ${Math.round(event.imagesPerSecond).toLocaleString()} images/s` +
                (summary ? ` (${summary})` : ''),
            );
            break;
          case 'trainEnd':
            ended = true;
            finish(
              `run ${runId}: ${event.stopped ? `stopped (${event.stopReason ?? 'no reason given'})` : 'finished'} after ` +
                `${event.step} steps in ${event.seconds.toFixed(1)} s; its model is now in the Draw list`,
            );
            break;
        }
      },
      onEnd: () => {
        if (!ended)
          finish(`run ${runId}: the stream ended before training did (the run failed or was stopped)`, true);
        this.options.onFinished(runId);
      },
      onError: (message) => {
        finish(message, true);
        this.options.onFinished(runId);
      },
    });
  }

  private say(message: string, isError = false): void {
    this.options.status.textContent = message;
    this.options.status.classList.toggle('error', isError);
  }
}
