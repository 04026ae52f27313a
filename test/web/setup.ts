// Shared setup of the browser tests: the web app built into a temp dir, a small trained run in a temp
// runs dir, the real server over both, and Chromium pages that record every console error, warning
// and uncaught exception.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../src/server/index.js';

export const ROOT = join(import.meta.dirname, '..', '..');
export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = join(ROOT, 'artifacts', 'web');
export const SKIP_REASON = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} is missing: install Chromium (Debian/Ubuntu: apt-get install chromium) to run the browser tests`;

/** A fresh temp dir for this test file. */
export function scratchDir(): string {
  return mkdtempSync(join(tmpdir(), 'mnist-lab-web-'));
}

function run(args: string[], what: string): string {
  const result = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`${what} failed (exit ${result.status}):\n${result.stderr.slice(-2000)}`);
  }
  return result.stdout;
}

/** Builds the web app with scripts/build-web.mjs into `outDir` (the page under test). */
export function buildWeb(outDir: string): void {
  run([join(ROOT, 'scripts', 'build-web.mjs'), '--out', outDir], 'building the web app');
}

/**
 * Trains the `fast` recipe on `limit` MNIST images for one epoch with the CLI into `runDir`.
 * NOTE: 30,000 images: enough for hand-drawn strokes (about 98.5% on the test set), about 3 s native.
 */
export function trainRun(runDir: string, limit = 30000): void {
  run(
    [
      '--import',
      'tsx',
      join(ROOT, 'src', 'cli', 'main.ts'),
      'train',
      '--model',
      'fast',
      '--limit',
      String(limit),
      '--seed',
      '1',
      '--out',
      runDir,
      '--json',
    ],
    `training the fast recipe into ${runDir}`,
  );
}

/**
 * The app as a user gets it: the web app built into `scratch`/web, a `fast` run trained into
 * `scratch`/runs/`runName`, and a quiet server on a free port serving both.
 */
export async function startAppServer(scratch: string, runName: string): Promise<RunningServer> {
  buildWeb(join(scratch, 'web'));
  trainRun(join(scratch, 'runs', runName));
  const { startServer } = await import('../../src/server/index.js');
  return startServer({
    port: 0,
    runsDir: join(scratch, 'runs'),
    webRoot: join(scratch, 'web'),
    quiet: true,
  });
}

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** Console errors and warnings and uncaught exceptions, as "url: message" lines. */
export type Problems = string[];

/** A page that records its console errors/warnings and page errors into `problems`. */
export async function openPage(
  browser: Browser,
  url: string,
  problems: Problems,
  viewport = { width: 1280, height: 800 },
): Promise<Page> {
  const page = await browser.newPage({ viewport });
  page.setDefaultTimeout(15_000);
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning')
      problems.push(
        `${page.url()}: console ${message.type()}: ${message.text()} (${message.location().url})`,
      );
  });
  page.on('pageerror', (error) => problems.push(`${page.url()}: uncaught ${error.name}: ${error.message}`));
  await page.goto(url);
  return page;
}

/** Saves a screenshot under artifacts/web/, and under docs/ too when UPDATE_SCREENSHOTS=1. */
export async function screenshot(page: Page, name: string, docsName?: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, name);
  await page.screenshot({ path, fullPage: true });
  if (docsName && process.env['UPDATE_SCREENSHOTS'] === '1') copyFileSync(path, join(ROOT, 'docs', docsName));
  return path;
}

/** One stroke with the mouse (pointer events), through `points` in canvas pixels of a 280x280 pad. */
export async function stroke(page: Page, points: readonly [number, number][]): Promise<void> {
  const box = await page.locator('#pad').boundingBox();
  if (!box) throw new Error('the drawing pad #pad is not visible');
  const at = ([x, y]: readonly [number, number]): [number, number] => [
    box.x + (x * box.width) / 280,
    box.y + (y * box.height) / 280,
  ];
  const [first, ...rest] = points;
  if (!first) return;
  await page.mouse.move(...at(first));
  await page.mouse.down();
  for (const point of rest) await page.mouse.move(...at(point), { steps: 10 });
  await page.mouse.up();
}
