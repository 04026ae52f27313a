// The web app in a real browser (Chromium through playwright-core), against the real server: draw
// digits and read the in-browser prediction, train from the form and watch the live chart grow, and
// no console error, warning or uncaught exception on any page. Screenshots go to artifacts/web/.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../src/server/index.js';
import {
  buildWeb,
  launchChromium,
  openPage,
  type Problems,
  screenshot,
  scratchDir,
  SKIP_REASON,
  stroke,
  trainRun,
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
    buildWeb(join(scratch, 'web'));
    trainRun(join(scratch, 'runs', 'fast-setup'));
    const { startServer } = await import('../../src/server/index.js');
    server = await startServer({
      port: 0,
      runsDir: join(scratch, 'runs'),
      webRoot: join(scratch, 'web'),
      quiet: true,
    });
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
