// The report's hand-drawn SVG charts: tick choice, one mark per datum, positions on the scale, and
// escaping of user-supplied names. The browser test (evaluate.test.ts) checks them rendered in Chromium.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  confusionSvg,
  lineChartSvg,
  linearTicks,
  logTicks,
  reliabilitySvg,
} from '../../src/eval/svg-charts.js';

const count = (text: string, pattern: RegExp): number => (text.match(pattern) ?? []).length;

describe('ticks', () => {
  test('linear ticks are round steps covering the range', () => {
    assert.deepEqual(linearTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(linearTicks(0, 235), [0, 50, 100, 150, 200]);
    assert.deepEqual(linearTicks(0.9, 1), [0.9, 0.92, 0.94, 0.96, 0.98, 1]);
  });

  test('log ticks: powers of ten, with 2x and 5x over few decades', () => {
    assert.deepEqual(logTicks(0.03, 2.4), [0.05, 0.1, 0.2, 0.5, 1, 2]);
    assert.deepEqual(logTicks(1e-4, 10), [1e-4, 1e-3, 0.01, 0.1, 1, 10]);
  });
});

describe('lineChartSvg', () => {
  const points = [
    ...Array.from({ length: 100 }, (_, i) => ({ step: i + 1, value: 2 / (i + 1), series: 'train (batch)' })),
    { step: 100, value: 0.1, series: 'train (epoch)' },
  ];

  test('one path per series, dots only on the short non-faint series, log scale positions', () => {
    const svg = lineChartSvg({
      title: 'Loss <&>',
      yTitle: 'cross-entropy',
      points,
      faint: ['train (batch)'],
      logScale: true,
    });
    assert.equal(count(svg, /<path class="line"/g), 2);
    assert.equal(count(svg, /<circle /g), 1);
    assert.match(svg, /Loss &#60;&#38;&#62;/);
    // The first point (value 2, the maximum) sits on the top edge, the smallest (0.02) on the bottom.
    const first = /<path class="line" d="M([\d.]+),([\d.]+)/.exec(svg);
    assert.ok(first);
    assert.equal(Number(first[2]), 32, 'top of the plot box');
    assert.match(svg, /L440,232"/, 'last batch point: right edge, bottom of the box');
  });

  test('a constant series still gets a finite scale', () => {
    const svg = lineChartSvg({
      title: 'Learning rate',
      yTitle: 'lr',
      points: [
        { step: 0, value: 0.001, series: 'learning rate' },
        { step: 10, value: 0.001, series: 'learning rate' },
      ],
    });
    assert.doesNotMatch(svg, /NaN|Infinity/);
    assert.match(svg, /d="M60,132L440,132"/, 'the line runs through the middle of the box');
    assert.match(svg, />0.001</, 'its value is a tick label');
  });
});

describe('confusionSvg and reliabilitySvg', () => {
  test('K x K cells with counts, dark cells get white text, names escaped', () => {
    const svg = confusionSvg(
      [
        [9, 1, 0],
        [0, 5, 5],
        [2, 0, 0],
      ],
      ['a', 'b<', 'c'],
    );
    assert.equal(count(svg, /<rect class="cell"/g), 9);
    assert.equal(count(svg, /<text class="cell-label"/g), 9);
    assert.equal(count(svg, /fill="#fff">9</g), 1, 'the 90% cell is dark');
    assert.equal(count(svg, /fill="#222">5</g), 2, '50% is not above one half');
    assert.match(svg, /b&#60;/);
    assert.doesNotMatch(svg, /b</);
  });

  test('one bar per non-empty bin, height = accuracy', () => {
    const bins = [
      { lower: 0, upper: 0.5, count: 0, confidence: 0, accuracy: 0 },
      { lower: 0.5, upper: 1, count: 10, confidence: 0.9, accuracy: 0.5 },
    ];
    const svg = reliabilitySvg(bins, 0.4);
    assert.equal(count(svg, /<rect class="bar"/g), 1);
    assert.match(svg, /<rect class="bar" x="210" y="142" width="150" height="110"/);
    assert.match(svg, /expected calibration error 40.00%/);
  });
});
