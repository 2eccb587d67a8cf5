// The Firebase SDK's browser build in headless Chromium (Debian's chromium, driven by playwright-core): the
// long-poll transport /.lp, its upgrade to WebSocket, and plain WebSocket. The page
// (fixtures/firebase-browser.html) and the SDK's files come from a small HTTP server run by this test.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer, curl, waitFor } from './lib/server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const sdkDir = path.resolve(here, '..', 'node_modules', 'firebase');
const chromiumPath = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

let server;
let pages;
let pagesPort;
let browser;

function servePages() {
  const httpServer = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    let file = null;
    let type = 'text/javascript';
    if (url.pathname === '/page.html') {
      file = path.join(here, 'fixtures', 'firebase-browser.html');
      type = 'text/html';
    } else if (url.pathname === '/sdk/firebase-app.js' || url.pathname === '/sdk/firebase-database.js') {
      file = path.join(sdkDir, path.basename(url.pathname));
    }
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': type }).end(fs.readFileSync(file));
  });
  return new Promise((resolve) => httpServer.listen(0, '127.0.0.1', () => resolve(httpServer)));
}

async function openPage(mode, dbPath) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const seen = { lp: [], ws: [] };
  page.on('request', (r) => {
    if (r.url().includes('/.lp?')) seen.lp.push(r.url());
  });
  page.on('websocket', (ws) => seen.ws.push(ws.url()));
  page.on('pageerror', (e) => console.log('page error:', e.message));
  await page.goto(`http://127.0.0.1:${pagesPort}/page.html?port=${server.port}&mode=${mode}&path=${dbPath}`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 20000 });
  await page.evaluate(() => window.api.connected());
  return { page, context, seen };
}

async function restGet(p) {
  const r = await curl(`${server.url}/${p}.json?ns=browser`);
  return JSON.parse(r.body);
}

async function restPut(p, value) {
  await curl(`${server.url}/${p}.json?ns=browser`, { method: 'PUT', body: JSON.stringify(value) });
}

// Writes from the page reach the server; a REST write reaches the page's listener.
async function exercise(page, dbPath) {
  assert.equal(await page.evaluate(([p]) => window.api.set(p + '/fromBrowser', { n: 1, s: 'héllo' }), [dbPath]), 'ok');
  assert.deepEqual(await restGet(`${dbPath}/fromBrowser`), { n: 1, s: 'héllo' });
  // A value larger than one long-poll segment (1840 base64 characters) and than one URL.
  const big = 'x'.repeat(20000);
  assert.equal(await page.evaluate(([p, v]) => window.api.set(p + '/big', v), [dbPath, big]), 'ok');
  assert.equal(await restGet(`${dbPath}/big`), big);
  await restPut(`${dbPath}/shared`, 'from-rest');
  await waitFor(() => page.evaluate(() => window.results.seen.includes('from-rest')), {
    timeoutMs: 10000,
    message: 'the REST write to reach the browser listener',
  });
  assert.equal(await page.evaluate(([p]) => window.api.get(p + '/fromBrowser/s'), [dbPath]), 'héllo');
}

describe('Firebase SDK in headless Chromium', { skip: !fs.existsSync(chromiumPath) && 'no chromium' }, () => {
  before(async () => {
    server = await startServer();
    pages = await servePages();
    pagesPort = pages.address().port;
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  after(async () => {
    await browser?.close();
    pages?.close();
    await server?.stop();
  });

  test('forced long-poll: writes, listens, large values, onDisconnect on leaving', async () => {
    const { page, context, seen } = await openPage('longpoll', 'lp');
    await exercise(page, 'lp');
    assert.ok(seen.lp.some((u) => u.includes('start=t')), 'the page started a long-poll session');
    assert.ok(seen.lp.some((u) => /[?&]d0=/.test(u)), 'the page sent data in long-poll segments');
    assert.deepEqual(seen.ws, [], 'no WebSocket when long-poll is forced');
    assert.match(server.log, /firebase long-poll session \w+ started/);
    assert.doesNotMatch(server.log, /upgraded from long-poll/);
    // onDisconnect runs when the session ends (the SDK's disconnect frame, or the session timeout).
    assert.equal(await page.evaluate(() => window.api.onDisconnectSet('lp/gone', 'bye')), 'ok');
    await page.evaluate(() => window.api.goOffline());
    await waitFor(async () => (await restGet('lp/gone')) === 'bye', { timeoutMs: 40000, message: 'onDisconnect' });
    await context.close();
  });

  test('after a WebSocket failure the page starts on long-poll and upgrades to WebSocket', async () => {
    const { page, context, seen } = await openPage('previous-failure', 'up');
    await waitFor(() => /upgraded from long-poll session \w+ to WebSocket/.test(server.log), {
      timeoutMs: 20000,
      message: 'the upgrade',
    });
    assert.ok(seen.lp.some((u) => u.includes('start=t')), 'started on long-poll');
    // Playwright reports the page's WebSocket asynchronously: it may arrive after the server has logged it.
    await waitFor(() => seen.ws.some((u) => /\/\.ws\?v=5&s=\w+/.test(u)), {
      timeoutMs: 5000,
      message: `upgrade WebSocket with s=: ${seen.ws}`,
    });
    // The state survives the upgrade: the listener made over long-poll still fires, writes go through.
    await exercise(page, 'up');
    const lpBefore = seen.lp.filter((u) => /[?&]d0=/.test(u)).length;
    await page.evaluate(() => window.api.set('up/after', 2));
    assert.equal(await restGet('up/after'), 2);
    assert.equal(seen.lp.filter((u) => /[?&]d0=/.test(u)).length, lpBefore, 'no data on long-poll after the upgrade');
    await context.close();
  });

  test('by default a fresh page uses WebSocket directly', async () => {
    const logBefore = server.log.length;
    const { page, context, seen } = await openPage('default', 'ws');
    await exercise(page, 'ws');
    assert.deepEqual(seen.lp, [], 'no long-poll requests');
    assert.ok(seen.ws.some((u) => /\/\.ws\?v=5/.test(u) && !/[?&]s=/.test(u)), `plain WebSocket: ${seen.ws}`);
    assert.doesNotMatch(server.log.slice(logBefore), /long-poll session/);
    await context.close();
  });
});

// The long-poll wire protocol without a browser: start, a request in segments, the held poll, unknown sessions.
describe('long-poll wire protocol', () => {
  let wire;
  before(async () => {
    wire = await startServer();
  });
  after(async () => {
    await wire?.stop();
  });
  const lp = (query) => fetch(`${wire.url}/.lp?${query}`).then(async (r) => ({ status: r.status, body: await r.text() }));
  const b64 = (text) => Buffer.from(text).toString('base64').replaceAll('+', '-').replaceAll('/', '_').replaceAll('=', '.');

  test('start, segmented request, held poll answered by the reply, unknown session closed', async () => {
    const start = await lp('start=t&ser=1&cb=7&v=5&ns=wire');
    assert.equal(start.status, 200);
    assert.match(start.body, /parent\.window\["pLPCommand7"\]/);
    const [, id, pw] = start.body.match(/pLPCommand\('start','(\w+)','(\w+)'\)/);
    assert.match(start.body, /pRTLPCB\(0,\[\{"t":"c","d":\{"t":"h","d":\{"ts":\d+,"v":"5"/);
    // A put split into two segments (the SDK splits at 1840 base64 characters).
    const message = JSON.stringify({ t: 'd', d: { r: 1, a: 'p', b: { p: '/w', d: 'y'.repeat(3000) } } });
    const data = b64(message);
    const half = Math.floor(data.length / 2);
    const held = lp(`id=${id}&pw=${pw}&ser=2&ns=wire`); // held until there is something to send
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The second segment first: it waits for the first; each new poll releases the one held before it.
    const second = lp(`id=${id}&pw=${pw}&ser=3&ns=wire&seg0=1&ts0=2&d0=${data.slice(half)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const first = lp(`id=${id}&pw=${pw}&ser=4&ns=wire&seg0=0&ts0=2&d0=${data.slice(0, half)}`);
    const bodies = [(await held).body, (await second).body, (await first).body].join('\n');
    assert.match(bodies, /\{"t":"d","d":\{"r":1,"b":\{"s":"ok","d":""\}\}\}/, bodies);
    const numbers = [...bodies.matchAll(/pRTLPCB\((\d+),/g)].map((m) => Number(m[1]));
    assert.deepEqual([...numbers].sort((a, b) => a - b), [1, 2, 3], 'response numbers strictly increasing');
    assert.equal(JSON.parse((await curl(`${wire.url}/w.json?ns=wire`)).body), 'y'.repeat(3000));
    assert.equal((await lp(`id=nope&pw=x&ser=5&ns=wire`)).body, "pLPCommand('close');");
    assert.equal((await lp(`id=${id}&pw=wrong&ser=5&ns=wire`)).body, "pLPCommand('close');");
    // disconn ends the session: its later polls are told to close.
    await lp(`disconn=t&id=${id}&pw=${pw}`);
    assert.equal((await lp(`id=${id}&pw=${pw}&ser=6&ns=wire`)).body, "pLPCommand('close');");
    assert.equal((await lp('start=t&ser=1&cb=bad"id&v=5')).status, 400);
  });

  test('a session whose polls stop is closed after 30 s and its onDisconnect runs', async () => {
    const start = await lp('start=t&ser=1&cb=1&v=5&ns=wire');
    const [, id, pw] = start.body.match(/pLPCommand\('start','(\w+)','(\w+)'\)/);
    const message = b64(JSON.stringify({ t: 'd', d: { r: 1, a: 'o', b: { p: '/gone', d: 'bye' } } }));
    const reply = await lp(`id=${id}&pw=${pw}&ser=2&ns=wire&seg0=0&ts0=1&d0=${message}`);
    assert.match(reply.body, /^pRTLPCB\(1,\[\{"t":"d","d":\{"r":1,"b":\{"s":"ok","d":""\}\}\}\]\);$/);
    const started = Date.now();
    await waitFor(async () => JSON.parse((await curl(`${wire.url}/gone.json?ns=wire`)).body) === 'bye', {
      timeoutMs: 45000,
      intervalMs: 500,
      message: 'the idle session to close',
    });
    assert.ok(Date.now() - started > 25000, 'not closed while it could still poll');
    assert.match(wire.log, new RegExp(`long-poll session ${id}: no poll for 30 s, closing`));
    assert.equal((await lp(`id=${id}&pw=${pw}&ser=3&ns=wire`)).body, "pLPCommand('close');");
  });
});
