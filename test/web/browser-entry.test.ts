// The browser entry (src/browser.ts) and the web app must bundle for a browser without any Node-only
// module: esbuild resolves every import as a browser bundler would and this test records each Node
// built-in it meets. The Node entry (src/index.ts) is the control: there the check must find some.
import assert from 'node:assert/strict';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { build, type Plugin } from 'esbuild';

const ROOT = join(import.meta.dirname, '..', '..');
const NODE_ONLY = new Set([...builtinModules, 'pngjs', 'jpeg-js', '@resvg/resvg-js', 'onnx-proto']);

/** The Node-only modules `entry` reaches, as "importer -> module" lines. */
async function nodeImports(entry: string): Promise<string[]> {
  const found: string[] = [];
  const recordNodeImports: Plugin = {
    name: 'record-node-imports',
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /.*/ }, (args) => {
        const bare = args.path.replace(/^node:/, '');
        if (!args.path.startsWith('node:') && !NODE_ONLY.has(bare) && !NODE_ONLY.has(bare.split('/')[0]!))
          return undefined;
        found.push(`${args.importer.replace(`${ROOT}/`, '')} -> ${args.path}`);
        return { path: args.path, external: true };
      });
    },
  };
  await build({
    entryPoints: [join(ROOT, entry)],
    bundle: true,
    write: false,
    platform: 'browser',
    tsconfig: join(ROOT, 'tsconfig.web.json'), // as scripts/build-web.mjs
    format: 'esm',
    target: 'es2022',
    logLevel: 'silent',
    plugins: [recordNodeImports],
  });
  return found;
}

describe('browser bundle', () => {
  it('src/browser.ts pulls in no Node-only module', async () => {
    assert.deepEqual(await nodeImports('src/browser.ts'), []);
  });

  it('the wasm backend (src/backend/wasm/index.ts) pulls in no Node-only module', async () => {
    assert.deepEqual(await nodeImports('src/backend/wasm/index.ts'), []);
  });

  it('the web app (web/src/main.ts) pulls in no Node-only module', async () => {
    assert.deepEqual(await nodeImports('web/src/main.ts'), []);
  });

  it('the Teach page, its training worker and the wasm thread worker pull in no Node-only module', async () => {
    for (const entry of ['web/src/teach/main.ts', 'web/src/teach/worker.ts', 'web/src/wasm-worker.ts'])
      assert.deepEqual(await nodeImports(entry), [], entry);
  });

  it('the check finds the Node-only modules of src/index.ts (control)', async () => {
    const found = await nodeImports('src/index.ts');
    assert.ok(
      found.some((line) => line.endsWith('-> node:fs') || line.endsWith('-> node:fs/promises')),
      `expected node:fs among ${found.length} Node imports of src/index.ts: ${found.slice(0, 5).join('; ')}`,
    );
  });
});
