// `mnist-lab evaluate --json` on a trained run, checked against an independent recomputation from
// the model's raw predictions; report.html opened in headless Chromium.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LAYER_CLASSES, loadMnist, loadModel, tidy } from '../../src/index.js';
import { writeRunReport } from '../../src/eval/node/run-report.js';
import { REPO_ROOT, runCli, trainSmallRun } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';

interface EvaluateJson {
  count: number;
  test: { loss: number; accuracy: number; top2Accuracy: number };
  perClass: { label: number; name: string; precision: number; recall: number; f1: number; support: number }[];
  macro: { precision: number; recall: number; f1: number; support: number };
  weighted: { precision: number; recall: number; f1: number; support: number };
  confusionMatrix: number[][];
  mostConfused: { label: number; predicted: number; count: number }[];
  ece: number;
  report: string;
}

let runDir = '';
let output: EvaluateJson;

before(async () => {
  runDir = await trainSmallRun();
  const result = await runCli(['evaluate', runDir, '--offline', '--json']);
  assert.equal(result.code, 0, result.stderr);
  output = JSON.parse(result.stdout) as EvaluateJson;
});

after(() => {
  if (runDir) rmSync(dirname(runDir), { recursive: true, force: true });
});

describe('evaluate --json', () => {
  test('agrees with metrics recomputed here from the raw predictions', async () => {
    const { test: set } = await loadMnist({ offline: true });
    const model = await loadModel(runDir);
    const k = 10;
    const predicted: number[] = [];
    const top2: boolean[] = [];
    let lossSum = 0;
    for (let start = 0; start < set.count; start += 2000) {
      const end = Math.min(start + 2000, set.count);
      tidy(() => {
        const logits = model.predict(set.images.subarray(start * 784, end * 784)).data; // (B, 10)
        for (let i = 0; i < end - start; i++) {
          const row = Array.from(logits.subarray(i * k, i * k + k));
          const label = set.labels[start + i] as number;
          const order = row.map((_, j) => j).sort((a, b) => (row[b] as number) - (row[a] as number));
          predicted.push(order[0] as number);
          top2.push(order.slice(0, 2).includes(label));
          const max = Math.max(...row);
          const logSum = Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0)) + max;
          lossSum += logSum - (row[label] as number);
        }
      });
    }
    let correct = 0;
    const precision: number[] = [];
    const recall: number[] = [];
    const f1: number[] = [];
    for (let c = 0; c < k; c++) {
      let tp = 0;
      let fp = 0;
      let fn = 0;
      for (let i = 0; i < set.count; i++) {
        const t = set.labels[i] === c;
        const p = predicted[i] === c;
        if (t && p) tp++;
        else if (p) fp++;
        else if (t) fn++;
      }
      correct += tp;
      precision.push(tp + fp ? tp / (tp + fp) : 0);
      recall.push(tp + fn ? tp / (tp + fn) : 0);
      f1.push(2 * tp + fp + fn ? (2 * tp) / (2 * tp + fp + fn) : 0);
    }
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.equal(output.count, 10000);
    assert.equal(output.test.accuracy, correct / set.count);
    assert.ok(Math.abs(output.macro.precision - mean(precision)) < 1e-6);
    assert.ok(Math.abs(output.macro.recall - mean(recall)) < 1e-6);
    assert.ok(Math.abs(output.macro.f1 - mean(f1)) < 1e-6);
    assert.ok(
      Math.abs(output.test.loss - lossSum / set.count) < 1e-4,
      `${output.test.loss} vs ${lossSum / set.count}`,
    );
    assert.equal(output.test.top2Accuracy, top2.filter(Boolean).length / set.count);
    for (const [c, row] of output.perClass.entries()) {
      assert.equal(row.name, String(c));
      assert.ok(Math.abs(row.precision - (precision[c] as number)) < 1e-6, `precision of ${c}`);
      assert.ok(Math.abs(row.recall - (recall[c] as number)) < 1e-6, `recall of ${c}`);
    }
    // Shape of the rest: the matrix sums to N, pairs are off-diagonal, ECE is a fraction.
    assert.equal(
      output.confusionMatrix.flat().reduce((a, b) => a + b, 0),
      10000,
    );
    for (const pair of output.mostConfused) {
      assert.notEqual(pair.label, pair.predicted);
      assert.equal(pair.count, output.confusionMatrix[pair.label]?.[pair.predicted]);
    }
    assert.ok(output.ece >= 0 && output.ece < 1);
    assert.ok(output.test.accuracy > 0.8, `the fixture run reaches ${output.test.accuracy}`);
  });

  test('report.html is one self-contained file', () => {
    assert.equal(output.report, join(runDir, 'report.html'));
    const html = readFileSync(output.report, 'utf8');
    assert.doesNotMatch(html, /(?:src|href)\s*=\s*["']?https?:/i, 'no network resources');
    assert.doesNotMatch(html, /<script/i);
    assert.match(html, /data:image\/png;base64,/);
  });
});

describe('report.html in headless Chromium', () => {
  test('renders without console errors; charts, heatmap cells and gallery present; screenshot saved', async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install it with 'apt-get install -y chromium'`);
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const problems: string[] = [];
      const requests: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
      });
      page.on('pageerror', (error) => problems.push(error.message));
      page.on('request', (request) => {
        if (!/^(file|data):/.test(request.url())) requests.push(request.url());
      });
      await page.goto(`file://${output.report}`, { waitUntil: 'load' });
      const counts = await page.evaluate(() => ({
        heatmapCells: document.querySelectorAll('figure[data-chart="confusion"] rect.cell').length,
        heatmapLabels: document.querySelectorAll('figure[data-chart="confusion"] text.cell-label').length,
        lossLines: document.querySelectorAll('figure[data-chart="loss"] path.line').length,
        accuracyCharts: document.querySelectorAll('figure[data-chart="accuracy"] svg').length,
        learningRateCharts: document.querySelectorAll('figure[data-chart="learning-rate"] svg').length,
        reliabilityBars: document.querySelectorAll('figure[data-chart="reliability"] rect.bar').length,
        perClassRows: document.querySelectorAll('#per-class tbody tr').length,
        galleryLoaded: Array.from(document.querySelectorAll<HTMLImageElement>('#gallery img')).filter(
          (img) => img.complete && img.naturalWidth === 28,
        ).length,
        summary: document.querySelector('#model-summary')?.textContent ?? '',
      }));
      assert.equal(counts.heatmapCells, 100, 'one rect per cell of the 10 x 10 confusion matrix');
      assert.equal(counts.heatmapLabels, 100);
      assert.ok(counts.lossLines >= 1, 'a loss line');
      assert.equal(counts.accuracyCharts, 1);
      assert.equal(counts.learningRateCharts, 1);
      assert.ok(counts.reliabilityBars >= 1);
      assert.equal(counts.perClassRows, 13, '10 classes + accuracy, macro and weighted rows');
      assert.equal(counts.galleryLoaded, 24);
      assert.match(counts.summary, /Total params: 101,770/);
      assert.deepEqual(problems, []);
      assert.deepEqual(requests, []);
      const artifacts = join(REPO_ROOT, 'artifacts');
      mkdirSync(artifacts, { recursive: true });
      await page.screenshot({ path: join(artifacts, 'report.png'), fullPage: true });
      assert.ok(existsSync(join(artifacts, 'report.png')));
    } finally {
      await browser.close();
    }
  });
});

describe('--png export', () => {
  test('writeRunReport({png}) renders each chart to a PNG file next to report.html', async () => {
    const { test: set } = await loadMnist({ offline: true });
    const small = {
      images: set.images.subarray(0, 500 * 784),
      labels: set.labels.subarray(0, 500),
      count: 500,
    };
    const report = await writeRunReport(runDir, { set: small, png: true, layers: LAYER_CLASSES });
    const names = report.pngFiles.map((f) => f.slice(join(runDir, 'report').length + 1)).sort();
    assert.deepEqual(names, [
      'accuracy.png',
      'confusion.png',
      'learning-rate.png',
      'loss.png',
      'mistakes.png',
      'reliability.png',
    ]);
    for (const file of report.pngFiles) {
      const bytes = readFileSync(file);
      assert.deepEqual([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47], `${file} is a PNG`);
      assert.ok(bytes.length > 2000, `${file} has content`);
    }
  });
});
