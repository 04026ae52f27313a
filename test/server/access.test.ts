// Who may use `mnist-lab serve` (issue 14: DNS rebinding and cross-site requests; issue 21: a LAN
// demo). Host headers other than the server's own names get 421; state-changing requests from
// another origin get 403; a server with a token answers /api/ only with it (Bearer, ?token= or the
// cookie set when the page is opened with ?token=); `serve --host 0.0.0.0` prints its token and
// `--no-token` turns it off. Every request goes to 127.0.0.1.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isLoopbackHost, startServer, type RunningServer } from '../../src/server/index.js';
import { errorOf, rawCall, spawnServe } from './helpers.js';

const TOKEN = 'a-test-token-0123456789';
/** A /api/train body the server refuses by validation (400): it reaches the handler, starts nothing. */
const BAD_TRAIN = JSON.stringify({ model: 'not-a-model' });

let root = '';
let runsDir = '';
let webRoot = '';
let open: RunningServer;
let guarded: RunningServer;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'mnist-lab-access-'));
  runsDir = join(root, 'runs');
  webRoot = join(root, 'web');
  mkdirSync(runsDir);
  mkdirSync(webRoot);
  writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>mnist-lab</title>');
  open = await startServer({ port: 0, runsDir, webRoot, quiet: true, allowHosts: ['mybox.lan'] });
  guarded = await startServer({ port: 0, runsDir, webRoot, quiet: true, token: TOKEN });
});

after(async () => {
  await open?.close();
  await guarded?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('serve: Host check (DNS rebinding)', () => {
  it('answers its loopback names and --allow-host names with its port; 421 for any other Host', async () => {
    const port = open.port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `LocalHost:${port}`]) {
      const reply = await rawCall(port, '/api/runs', { headers: { host } });
      assert.equal(reply.status, 200, host);
    }
    assert.equal((await rawCall(port, '/api/runs', { headers: { host: `mybox.lan:${port}` } })).status, 200);
    for (const host of [
      `evil.example:${port}`,
      'evil.example',
      `127.0.0.1.nip.io:${port}`,
      `127.0.0.1:${port + 1}`,
      'localhost',
      `localhost:${port}@evil.example`,
    ]) {
      for (const path of ['/api/runs', '/api/runs/x/model', '/']) {
        const reply = await rawCall(port, path, { headers: { host } });
        assert.equal(reply.status, 421, `${host} ${path}`);
        assert.match(errorOf(reply), /is not an address of this server.*--allow-host/);
      }
    }
    // A rebinding page's POST carries its own Host and Origin: refused at the Host check.
    const post = await rawCall(port, '/api/train', {
      headers: { host: `evil.example:${port}`, origin: `http://evil.example:${port}` },
      body: BAD_TRAIN,
    });
    assert.equal(post.status, 421);
  });
});

describe('serve: Origin check (cross-site requests)', () => {
  it('refuses POSTs from other origins with 403 and accepts its own pages and non-browser clients', async () => {
    const port = open.port;
    const post = (headers: Record<string, string>) =>
      rawCall(port, '/api/train', {
        headers: { 'content-type': 'application/json', ...headers },
        body: BAD_TRAIN,
      });
    for (const headers of [
      { origin: 'http://evil.example' },
      { origin: `http://evil.example:${port}` },
      { origin: 'null' },
      { origin: `https://127.0.0.1:${port}` },
      { origin: `http://127.0.0.1:${port + 1}` },
      { 'sec-fetch-site': 'cross-site' },
    ]) {
      const reply = await post(headers);
      assert.equal(reply.status, 403, JSON.stringify(headers));
      assert.match(errorOf(reply), /only pages served by this server may change its state/);
    }
    for (const headers of [
      { origin: `http://127.0.0.1:${port}` },
      { origin: `http://localhost:${port}` },
      { origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' },
      {}, // curl, scripts: no Origin
    ]) {
      const reply = await post(headers);
      assert.equal(reply.status, 400, JSON.stringify(headers)); // reached the handler's validation
    }
    const predict = await rawCall(port, '/api/predict', {
      headers: { 'content-type': 'application/json', origin: 'http://evil.example' },
      body: JSON.stringify({ pixels: Array(784).fill(0) }),
    });
    assert.equal(predict.status, 403);
    // Reading is not changing: a GET with a foreign Origin is answered (the browser keeps it from the page).
    assert.equal(
      (await rawCall(port, '/api/runs', { headers: { origin: 'http://evil.example' } })).status,
      200,
    );
  });
});

describe('serve: access token', () => {
  it('needs no token on loopback unless given one; a bind beyond loopback needs one', async () => {
    assert.equal(open.token, undefined);
    assert.equal(guarded.token, TOKEN);
    for (const host of ['127.0.0.1', 'localhost', '::1', '[::1]', '127.0.1.1'])
      assert.ok(isLoopbackHost(host), host);
    for (const host of ['0.0.0.0', '::', '192.168.1.5', 'mybox.lan', '10.0.0.1'])
      assert.ok(!isLoopbackHost(host), host);
  });

  it('answers /api/ with 401 without the token, and accepts it as Bearer, ?token= or cookie', async () => {
    const port = guarded.port;
    for (const headers of [
      {},
      { authorization: 'Bearer wrong' },
      { cookie: `mnist-lab-token-${port}=wrong` },
    ]) {
      const reply = await rawCall(port, '/api/runs', { headers });
      assert.equal(reply.status, 401, JSON.stringify(headers));
      assert.equal(reply.header('www-authenticate'), 'Bearer realm="mnist-lab"');
      assert.match(errorOf(reply), /needs its access token.*\?token=/);
    }
    assert.equal((await rawCall(port, `/api/runs?token=wrong`)).status, 401);
    assert.equal(
      (await rawCall(port, '/api/runs', { headers: { authorization: `Bearer ${TOKEN}` } })).status,
      200,
    );
    assert.equal((await rawCall(port, `/api/runs?token=${TOKEN}`)).status, 200);
    // A POST with the token still needs its own origin.
    const foreign = await rawCall(port, '/api/train', {
      headers: { authorization: `Bearer ${TOKEN}`, origin: 'http://evil.example' },
      body: BAD_TRAIN,
    });
    assert.equal(foreign.status, 403);
  });

  it('turns ?token= on a page into an HttpOnly SameSite cookie and drops it from the address', async () => {
    const port = guarded.port;
    const page = await rawCall(port, '/');
    assert.equal(page.status, 200, 'the page itself is public; its API calls explain the token');
    const opened = await rawCall(port, `/?token=${TOKEN}`);
    assert.equal(opened.status, 303);
    assert.equal(opened.header('location'), '/');
    const cookie = String(opened.header('set-cookie'));
    assert.match(cookie, new RegExp(`^mnist-lab-token-${port}=${TOKEN}; Path=/; HttpOnly; SameSite=Strict$`));
    const withCookie = await rawCall(port, '/api/runs', {
      headers: { cookie: cookie.split(';')[0] as string },
    });
    assert.equal(withCookie.status, 200);
    assert.equal((await rawCall(port, '/?token=wrong')).status, 200, 'a wrong token sets no cookie');
  });

  it('serve --host 0.0.0.0 prints its address with a token; the API needs it; --no-token turns it off', async () => {
    const serve = await spawnServe([
      '--host',
      '0.0.0.0',
      '--port',
      '0',
      '--runs',
      runsDir,
      '--backend',
      'js',
    ]);
    try {
      const match = /^mnist-lab serve: http:\/\/0\.0\.0\.0:(\d+)\/\?token=([A-Za-z0-9_-]{32}) \(runs: /.exec(
        serve.lines[0] as string,
      );
      assert.ok(match, serve.lines.join('\n'));
      const [, port, token] = match;
      for (const line of serve.lines.slice(1)) assert.match(line, new RegExp(`/\\?token=${token}$`));
      assert.match(serve.stderr(), /needs the token above/);
      assert.equal((await rawCall(Number(port), '/api/runs')).status, 401);
      const reply = await rawCall(Number(port), '/api/runs', {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(reply.status, 200);
    } finally {
      assert.equal(await serve.stop(), 0, serve.stderr());
    }

    const bare = await spawnServe(['--host', '0.0.0.0', '--port', '0', '--runs', runsDir, '--no-token']);
    try {
      const match = /^mnist-lab serve: http:\/\/0\.0\.0\.0:(\d+) \(runs: /.exec(bare.lines[0] as string);
      assert.ok(match, bare.lines.join('\n'));
      assert.match(bare.stderr(), /warning: --no-token on 0\.0\.0\.0/);
      assert.equal((await rawCall(Number(match[1]), '/api/runs')).status, 200);
    } finally {
      assert.equal(await bare.stop(), 0, bare.stderr());
    }
  });
});
