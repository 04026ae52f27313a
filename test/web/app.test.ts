// The web app in a real browser (Chromium through playwright-core), against the real server: draw
// digits and read the in-browser prediction, train from the form and watch the live chart grow, and
// no console error, warning or uncaught exception on any page. Runs of one recipe are told apart,
// the model choice shows its whole label, the epoch legend names only curves the run has, a chosen
// run's newer checkpoint replaces its model, and the page works on a server that needs a token.
// Screenshots go to artifacts/web/.
import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../src/server/index.js';
import {
  launchChromium,
  openPage,
  type Problems,
  screenshot,
  scratchDir,
  SKIP_REASON,
  stroke,
  startAppServer,
} from './setup.js';
import { copyAsOldRun } from './old-run.js';

const ONE: [number, number][] = [
  [140, 40],
  [138, 240],
];
const SEVEN: [number, number][] = [
  [70, 50],
  [210, 50],
  [120, 245],
];

/**
 * Copies run `from` to `to` under `runsDir`, optionally relabelling its dataset and adding
 * validation figures to its epochs (as a run trained with --validation-split would have).
 */
function copyRun(
  runsDir: string,
  from: string,
  to: string,
  edit: { dataset?: string; validation?: boolean } = {},
) {
  const target = join(runsDir, to);
  cpSync(join(runsDir, from), target, { recursive: true });
  if (edit.dataset) {
    const config = JSON.parse(readFileSync(join(target, 'config.json'), 'utf8')) as {
      runConfig: { recipe: { dataset: string } };
    };
    config.runConfig.recipe.dataset = edit.dataset;
    writeFileSync(join(target, 'config.json'), JSON.stringify(config));
  }
  if (edit.validation) {
    const lines = readFileSync(join(target, 'metrics.jsonl'), 'utf8').split('\n');
    const withValidation = lines.map((line) => {
      if (!line.includes('"epochEnd"')) return line;
      const event = JSON.parse(line) as { loss: number; accuracy: number };
      return JSON.stringify({ ...event, valLoss: event.loss * 1.1, valAccuracy: event.accuracy * 0.99 });
    });
    writeFileSync(join(target, 'metrics.jsonl'), withValidation.join('\n'));
  }
}

/** Draws on a cleared pad and returns the label the page shows as its top prediction. */
async function drawAndRead(page: Page, points: [number, number][]): Promise<string | undefined> {
  await page.click('#clear');
  await stroke(page, points);
  await page.waitForFunction(() => document.getElementById('answer')?.dataset['label'] !== undefined);
  return page
    .locator('#answer')
    .getAttribute('data-label')
    .then((v) => v ?? undefined);
}

describe('web app in Chromium', { skip: SKIP_REASON, timeout: 120_000 }, () => {
  let scratch: string;
  let server: RunningServer;
  let browser: Browser;
  const problems: Problems = [];

  before(async () => {
    scratch = scratchDir();
    server = await startAppServer(scratch, 'fast-setup');
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('reads a drawn "1" and "7" in the browser and shows the 28x28 image the model saw', async () => {
    const page = await openPage(browser, server.url, problems);
    await page.waitForFunction(
      () => document.getElementById('run-select')?.dataset['loaded'] === 'fast-setup',
    );
    assert.equal(await drawAndRead(page, ONE), '1');
    assert.equal(await drawAndRead(page, SEVEN), '7');
    const preview = await page.evaluate(() => {
      const canvas = document.getElementById('preview') as HTMLCanvasElement;
      const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let ink = 0;
      for (let i = 0; i < pixels.length; i += 4) if ((pixels[i] as number) > 127) ink++;
      return { width: canvas.width, height: canvas.height, ink, drawn: canvas.dataset['drawn'] };
    });
    assert.deepEqual(
      { width: preview.width, height: preview.height, drawn: preview.drawn },
      { width: 28, height: 28, drawn: 'true' },
    );
    // A "7" of ~2 px strokes fills some tens of pixels of the 28x28 image, not none and not most.
    assert.ok(preview.ink > 20 && preview.ink < 300, `preview has ${preview.ink} bright pixels`);
    const top = await page.locator('#bars li.top').getAttribute('data-label');
    assert.equal(top, '7', 'the highlighted bar is the top class');
    assert.equal(await page.locator('#bars li').count(), 10);
    await screenshot(page, 'draw-7.png');
    await page.close();
    assert.deepEqual(problems, []);
  });

  it('starts a training run from the form and its live chart gains points', async () => {
    const page = await openPage(browser, server.url, problems);
    await page.waitForFunction(
      () => document.getElementById('run-select')?.dataset['loaded'] === 'fast-setup',
    );
    // Record every value of the chart's data-points attribute, as the page sets it.
    await page.evaluate(() => {
      const chart = document.getElementById('live-chart')!;
      const seen: number[] = [];
      (window as unknown as { seenPoints: number[] }).seenPoints = seen;
      new MutationObserver(() => seen.push(Number(chart.dataset['points']))).observe(chart, {
        attributes: true,
        attributeFilter: ['data-points'],
      });
    });
    await page.selectOption('#train-model', 'fast');
    await page.fill('input[name=epochs]', '1');
    await page.fill('input[name=limit]', '12800');
    await page.click('#train-form button[type=submit]');
    // The run ends with 'finished' in the status line, or an error there (shown in the failure).
    await page.waitForFunction(
      () => {
        const status = document.getElementById('train-status');
        return /finished/.test(status?.textContent ?? '') || status?.classList.contains('error');
      },
      null,
      { timeout: 60_000 },
    );
    assert.match((await page.locator('#train-status').textContent()) ?? '', /finished/);
    const seen = await page.evaluate(() => (window as unknown as { seenPoints: number[] }).seenPoints);
    const steps = Math.ceil(12800 / 256);
    assert.equal(Math.max(...seen), steps, `the chart shows one point per step: ${seen.join(',')}`);
    const growing = new Set(seen.filter((n) => n > 0));
    assert.ok(growing.size >= 2, `the chart grew while training, not once at the end: ${seen.join(',')}`);
    assert.deepEqual(
      seen,
      [...seen].sort((a, b) => a - b),
      'the point count never went down',
    );
    // The new run is listed and selectable for drawing.
    await page.waitForFunction(() => document.querySelectorAll('#runs-table tbody tr').length === 2);
    await page.waitForFunction(() => document.querySelectorAll('#run-select option').length === 2);

    // The picture for the README: a digit read, the run's curves and the live chart.
    await page.waitForFunction(() => document.getElementById('run-select')?.dataset['loaded'] !== '');
    await drawAndRead(page, SEVEN);
    await page.locator('#runs-table button', { hasText: 'fast' }).last().click();
    await page.waitForFunction(
      () => Number(document.querySelector<HTMLElement>('#run-detail .batch-chart')?.dataset['points']) > 0,
    );
    await screenshot(page, 'app.png', 'screenshot-web.png');
    await page.close();
    assert.deepEqual(problems, []);
  });

  it('shows no console error or warning on any page, at desktop and phone widths', async () => {
    const page = await openPage(browser, server.url, problems, { width: 390, height: 844 });
    await page.waitForFunction(() => document.getElementById('run-select')?.dataset['loaded'] !== undefined);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than a 390 px phone screen`);
    await stroke(page, ONE);
    await page.waitForFunction(() => document.getElementById('answer')?.dataset['label'] === '1');
    await page.locator('#runs-table tr[data-run="fast-setup"] button').click();
    await page.locator('#run-detail summary').click();
    await page.waitForFunction(
      () =>
        document.querySelector<HTMLIFrameElement>('#run-detail iframe')?.contentDocument?.readyState ===
        'complete',
    );
    await screenshot(page, 'phone.png');
    // The report on its own page, and a run that does not exist: an error in the page, not thrown.
    const report = await openPage(browser, `${server.url}/api/runs/fast-setup/report`, problems);
    await report.close();
    await page.close();
    assert.deepEqual(problems, []);

    // A run that does not exist: the page explains the API's 404 instead of throwing.
    const failing: Problems = [];
    const errorPage = await openPage(browser, server.url, failing);
    await errorPage.waitForFunction(() => document.getElementById('run-select')?.dataset['loaded']);
    await errorPage.evaluate(() => {
      const select = document.getElementById('run-select') as HTMLSelectElement;
      select.innerHTML = '<option value="no-such-run">x</option>';
      select.dispatchEvent(new Event('change'));
    });
    await errorPage.waitForFunction(() =>
      document.getElementById('draw-status')?.classList.contains('error'),
    );
    assert.match((await errorPage.locator('#draw-status').textContent()) ?? '', /no-such-run/);
    await errorPage.close();
    // Chromium itself logs each failed request; nothing else may appear.
    assert.deepEqual(
      failing.filter((line) => !line.includes('/api/runs/no-such-run')),
      [],
    );
  });

  it('tells runs of one recipe apart in the runs table and the model choice', async () => {
    const runsDir = join(scratch, 'runs');
    copyRun(runsDir, 'fast-setup', 'fast-setup-2'); // the same recipe, data, accuracy and start time
    const page = await openPage(browser, server.url, problems);
    await page.waitForFunction(() => document.querySelectorAll('#run-select option').length === 3);
    const rows = await page
      .locator('#runs-table tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) => ({ id: (tr as HTMLElement).dataset['run'], text: (tr as HTMLElement).innerText })),
      );
    assert.equal(new Set(rows.map((row) => row.text)).size, rows.length, JSON.stringify(rows));
    for (const row of rows) assert.ok(row.text.includes(row.id as string), `row ${row.id} shows its name`);
    const options = await page.locator('#run-select option').allTextContents();
    assert.equal(new Set(options).size, options.length, JSON.stringify(options));
    for (const option of options) assert.match(option, /(^|· )fast · mnist · \d+\.\d\d%/);
    await page.close();
    assert.deepEqual(problems, []);
  });

  it("shows the model choice's whole label at desktop and phone widths", async () => {
    copyRun(join(scratch, 'runs'), 'fast-setup', 'fast-fashion', { dataset: 'fashion-mnist' }); // the longest label
    for (const viewport of [
      { width: 1280, height: 800 },
      { width: 390, height: 844 },
    ]) {
      const page = await openPage(browser, server.url, problems, viewport);
      await page.waitForFunction(() => document.querySelectorAll('#run-select option').length === 4);
      const options = await page.evaluate(() => {
        const select = document.getElementById('run-select') as HTMLSelectElement;
        const style = getComputedStyle(select);
        const context = document.createElement('canvas').getContext('2d') as CanvasRenderingContext2D;
        context.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
        // NOTE: the drop-down arrow takes ~20 px of the box besides its padding.
        const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 22;
        return Array.from(select.options, (o) => ({
          text: o.text,
          width: context.measureText(o.text).width,
          room,
        }));
      });
      assert.ok(options.some((option) => option.text.includes('fashion-mnist')));
      for (const option of options) {
        assert.ok(
          option.width <= option.room,
          `${viewport.width} px: '${option.text}' needs ${option.width.toFixed(0)} px, the choice shows ${option.room.toFixed(0)}`,
        );
      }
      await screenshot(page, `runs-${viewport.width}.png`);
      await page.close();
    }
    assert.deepEqual(problems, []);
  });

  it("names in the epoch chart's legend only the curves the run has", async () => {
    copyRun(join(scratch, 'runs'), 'fast-setup', 'fast-validated', { validation: true });
    const page = await openPage(browser, server.url, problems);
    for (const [run, expected] of [
      ['fast-setup', ['loss', 'accuracy']],
      ['fast-validated', ['loss', 'accuracy', 'val loss', 'val accuracy']],
    ] as const) {
      await page.locator(`#runs-table tr[data-run="${run}"] button`).click();
      await page.waitForFunction(
        (id) =>
          document.querySelector('#run-detail h3')?.textContent === id &&
          Number(document.querySelector<HTMLElement>('#run-detail .epoch-chart')?.dataset['points']) > 0,
        run,
      );
      const legend = await page.locator('#run-detail .epoch-chart').getAttribute('data-legend');
      assert.deepEqual(JSON.parse(legend ?? '[]'), expected, run);
    }
    await page.close();
    assert.deepEqual(problems, []);
  });

  it("moves a chosen run's model to its newest checkpoint", async () => {
    const runDir = join(scratch, 'runs', 'fast-setup-2');
    const page = await openPage(browser, server.url, problems);
    await page.waitForFunction(() => document.getElementById('run-select')?.dataset['loaded'] !== undefined);
    await page.selectOption('#run-select', 'fast-setup-2');
    await page.waitForFunction(
      () => document.getElementById('run-select')?.dataset['loaded'] === 'fast-setup-2',
    );
    const first = await page.locator('#run-select').getAttribute('data-checkpoint');
    assert.ok(first, 'the page knows which checkpoint it loaded');

    // The run writes a new checkpoint (as a run in training does) and moves its latest pointer.
    const latest = readFileSync(join(runDir, 'latest'), 'utf8').trim();
    cpSync(join(runDir, latest), join(runDir, 'checkpoints', '999999'), { recursive: true });
    writeFileSync(join(runDir, 'latest'), 'checkpoints/999999\n');
    const served = (await fetch(`${server.url}/api/runs/fast-setup-2/model`, { method: 'HEAD' })).headers.get(
      'etag',
    );
    assert.notEqual(served, first);
    await page.evaluate(() => window.dispatchEvent(new Event('focus'))); // the user comes back to the page
    await page.waitForFunction(
      (tag) => document.getElementById('run-select')?.dataset['checkpoint'] === tag,
      served,
    );
    assert.equal(await drawAndRead(page, ONE), '1');
    await page.close();
    assert.deepEqual(problems, []);
  });

  it('works on a server that needs a token: opened with ?token= it lists, draws and streams', async () => {
    const { startServer } = await import('../../src/server/index.js');
    const token = 'browser-test-token-0123456789';
    const guarded = await startServer({
      port: 0,
      runsDir: join(scratch, 'runs'),
      webRoot: join(scratch, 'web'),
      quiet: true,
      token,
    });
    try {
      // Without the token the page loads and says how to get in.
      const refused: Problems = [];
      const locked = await openPage(browser, guarded.url, refused);
      await locked.waitForFunction(() => document.getElementById('health')?.classList.contains('error'));
      assert.match((await locked.locator('#health').textContent()) ?? '', /needs its access token.*\?token=/);
      await locked.close();
      // Chromium logs each refused request (HTTP 401); nothing else may appear.
      assert.deepEqual(
        refused.filter((line) => !line.includes('401')),
        [],
      );

      const admitted: Problems = [];
      const page = await openPage(browser, `${guarded.url}/?token=${token}`, admitted);
      assert.equal(page.url(), `${guarded.url}/`, 'the token leaves the address bar');
      await page.waitForFunction(() => document.getElementById('run-select')?.dataset['loaded']);
      await page.selectOption('#run-select', 'fast-setup');
      await page.waitForFunction(
        () => document.getElementById('run-select')?.dataset['loaded'] === 'fast-setup',
      );
      assert.equal(await drawAndRead(page, ONE), '1');
      await page.locator('#runs-table tr[data-run="fast-setup"] button').click();
      await page.waitForFunction(
        () => Number(document.querySelector<HTMLElement>('#run-detail .batch-chart')?.dataset['points']) > 0,
      );
      assert.ok(!(await page.evaluate(() => document.cookie)).includes(token), 'the cookie is HttpOnly');
      const posted = await page.evaluate(async () => {
        const response = await fetch('/api/train', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'not-a-model' }),
        });
        return response.status;
      });
      assert.equal(posted, 400, "the page's own POST passes the token and Origin checks");
      await page.close();
      // Chromium logs the refused training request (HTTP 400, its validation); nothing else may appear.
      assert.deepEqual(
        admitted.filter((line) => !/status of 400 .*\/api\/train\)$/.test(line)),
        [],
      );
    } finally {
      await guarded.close();
    }
  });

  it('an old run (its standardisation in config.json, not in its model) predicts as when saved today', async () => {
    copyAsOldRun(join(scratch, 'runs', 'fast-setup'), join(scratch, 'runs', 'fast-old'));
    const page = await openPage(browser, server.url, problems);
    const barsFor = async (run: string): Promise<string[]> => {
      await page.waitForFunction(
        (id) =>
          Array.from(document.querySelectorAll<HTMLOptionElement>('#run-select option')).some(
            (o) => o.value === id,
          ),
        run,
      );
      await page.selectOption('#run-select', run);
      await page.waitForFunction(
        (id) => document.getElementById('run-select')?.dataset['loaded'] === id,
        run,
      );
      await drawAndRead(page, SEVEN);
      return page.locator('#bars .bar-value').allTextContents();
    };
    const today = await barsFor('fast-setup');
    // The page puts the Normalization layer back in front of the old model: the same answer.
    assert.deepEqual(await barsFor('fast-old'), today);
    await page.close();
    assert.deepEqual(problems, []);
  });
});
