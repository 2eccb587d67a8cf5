// The Backside JavaScript client (clients/js) in Node, over STOMP on WebSocket to a real server: refs, writes,
// once/on/off with value and child events, transactions from concurrent clients, rules, reconnects. The same
// library runs in headless Chromium (last test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { chromium } from 'playwright-core';

import { connect, compareKeys } from '../../clients/js/backside.js';
import { startServer, curl, waitFor, makeTempDir } from './lib/server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const clientDir = path.resolve(here, '..', '..', 'clients', 'js');
const stompUrl = (server) => `${server.url.replace('http://', 'ws://')}/stomp`;
const open = (server, options = {}) => connect(stompUrl(server), { WebSocket, reconnectDelay: 200, ...options });

/** Records the events of ref.on(event) as [key, value, previousKey]. */
function record(ref, event) {
  const events = [];
  const callback = ref.on(event, (snapshot, previous) => events.push([snapshot.key, snapshot.val(), previous ?? null]));
  return { events, callback };
}

test('refs, set/update/push/remove, once, and the array rule', async (t) => {
  const server = await startServer({ t });
  const db = await open(server);
  t.after(() => db.close());
  const alice = db.ref('users/alice');
  assert.equal(alice.key, 'alice');
  assert.equal(alice.parent.path, '/users');
  assert.equal(alice.child('a/b').path, '/users/alice/a/b');
  assert.equal(db.ref().key, null);

  await alice.set({ name: 'Alice', age: 30 });
  await alice.update({ age: 31, 'address/city': 'Oslo' });
  const snapshot = await alice.once('value');
  assert.deepEqual(snapshot.val(), { name: 'Alice', age: 31, address: { city: 'Oslo' } });
  assert.equal(snapshot.child('address/city').val(), 'Oslo');
  assert.equal(snapshot.numChildren(), 3);
  const keys = [];
  snapshot.forEach((child) => keys.push(child.key));
  assert.deepEqual(keys, ['address', 'age', 'name']);

  const pushed = await db.ref('messages').push({ text: 'hi' });
  assert.match(pushed.key, /^[-0-9A-Za-z_]{20}$/);
  assert.deepEqual((await curl(server.u(`/messages/${pushed.key}.json`))).json, { text: 'hi' });
  await db.ref('list').set(['a', 'b', 'c']);
  assert.deepEqual((await db.ref('list').once('value')).val(), ['a', 'b', 'c']);
  await alice.remove();
  assert.equal((await alice.once('value')).exists(), false);
  assert.ok(compareKeys('2', '10') < 0 && compareKeys('10', 'a') < 0 && compareKeys('b', 'a') > 0);
});

test('on/off: value and child events from writes by other doors, in key order with previous keys', async (t) => {
  const server = await startServer({ t });
  const db = await open(server);
  t.after(() => db.close());
  const room = db.ref('room');
  await room.set({ b: 1, a: 1 });
  const values = record(room, 'value');
  const added = record(room, 'child_added');
  const changed = record(room, 'child_changed');
  const removed = record(room, 'child_removed');
  await waitFor(() => values.events.length === 1, { message: 'initial value' });
  assert.deepEqual(added.events, [['a', 1, null], ['b', 1, 'a']]);

  await curl(server.u('/room/c.json'), { method: 'PUT', body: '3' }); // REST
  await curl(server.u('/room.json'), { method: 'PATCH', body: '{"a":2,"b":null}' });
  await waitFor(() => removed.events.length === 1 && changed.events.length === 1, { message: 'the patch' });
  assert.deepEqual(added.events.at(-1), ['c', 3, 'b']);
  assert.deepEqual(changed.events, [['a', 2, null]]);
  assert.deepEqual(removed.events, [['b', 1, null]]);
  assert.deepEqual(values.events.at(-1)[1], { a: 2, c: 3 });

  // A removal below a leaf changes nothing (the server still reports it).
  await curl(server.u('/room/c/deeper.json'), { method: 'DELETE' });
  await db.ref('room/e').set(5);
  await waitFor(() => added.events.length === 4, { message: 'child e' });
  assert.deepEqual(values.events.at(-1)[1], { a: 2, c: 3, e: 5 });
  await db.ref('room/e').remove();

  const before = values.events.length;
  room.off('value', values.callback);
  await db.ref('room/d').set(4);
  await waitFor(() => added.events.length === 5, { message: 'child d' });
  assert.equal(values.events.length, before, 'no value events after off');
  room.off();
});

test('queries: orderByChild + limitToLast keep a live window with child events in query order', async (t) => {
  const server = await startServer({ t });
  const db = await open(server);
  t.after(() => db.close());
  await db.ref('scores').set({ ann: { score: 5 }, bob: { score: 9 }, cid: { score: 7 }, dan: { score: 1 } });
  const top = db.ref('scores').orderByChild('score').limitToLast(2);
  const added = record(top, 'child_added');
  const removed = record(top, 'child_removed');
  const values = record(top, 'value');
  await waitFor(() => values.events.length === 1, { message: 'the window' });
  assert.deepEqual(added.events, [['cid', { score: 7 }, null], ['bob', { score: 9 }, 'cid']]);
  await db.ref('scores/dan/score').set(8); // enters the window, pushes cid out
  await waitFor(() => removed.events.length === 1, { message: 'cid leaving' });
  assert.deepEqual(removed.events, [['cid', { score: 7 }, null]]);
  assert.deepEqual(added.events.at(-1), ['dan', { score: 8 }, null]);
  assert.deepEqual(values.events.at(-1)[1], { bob: { score: 9 }, dan: { score: 8 } });
  const low = await db.ref('scores').orderByChild('score').endAt(5).once('value');
  assert.deepEqual(low.val(), { ann: { score: 5 } });
  const byKey = await db.ref('scores').orderByKey().startAt('c').limitToFirst(1).once('value');
  assert.deepEqual(byKey.val(), { cid: { score: 7 } });
  top.off();
});

test('transactions: 10 clients x 20 increments end at exactly 200; abort leaves the value', async (t) => {
  const server = await startServer({ t });
  const clients = await Promise.all(Array.from({ length: 10 }, () => open(server)));
  t.after(() => Promise.all(clients.map((c) => c.close())));
  await Promise.all(
    clients.map(async (db) => {
      for (let i = 0; i < 20; i++) {
        const { committed } = await db.ref('counter').transaction((n) => (n || 0) + 1);
        assert.ok(committed);
      }
    }),
  );
  assert.equal((await curl(server.u('/counter.json'))).json, 200);
  const aborted = await clients[0].ref('counter').transaction(() => undefined);
  assert.equal(aborted.committed, false);
  assert.equal(aborted.snapshot.val(), 200);
});

test('rules: the token identifies the user; refused writes reject with permission_denied', async (t) => {
  const server = await startServer({ t });
  const admin = fs.readFileSync(path.join(server.dataDir, 'admin-token'), 'utf8').trim();
  const rules = '{"rules": {"users": {"$uid": {".read": "auth.uid == $uid", ".write": "auth.uid == $uid"}}}}';
  const put = await curl(server.u(`/.settings/rules.json?auth=${admin}`), { method: 'PUT', body: rules });
  assert.equal(put.status, 200);
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const token = `${b64({ alg: 'none' })}.${b64({ sub: 'alice' })}.`; // accepted by --dev servers
  const db = await open(server, { token });
  t.after(() => db.close());
  await db.ref('users/alice/name').set('Alice');
  await assert.rejects(db.ref('users/bob/name').set('x'), (error) => error.code === 'permission_denied');
  await assert.rejects(db.ref('users/bob').transaction(() => 1), (error) => error.code === 'permission_denied');
  assert.equal((await db.ref('users/alice/name').once('value')).val(), 'Alice');
});

test('onDisconnect: stored writes run when the connection ends; cancel forgets them', async (t) => {
  const server = await startServer({ t });
  const db = await open(server);
  const me = db.ref('presence/js');
  await me.set('online');
  await me.onDisconnect().set('offline');
  await db.ref('presence/last').onDisconnect().update({ who: 'js' });
  await db.ref('presence/temp').onDisconnect().set('x');
  await db.ref('presence/temp').onDisconnect().cancel();
  await assert.rejects(db.ref('presence/bad').onDisconnect().update('not an object'), (e) => e.code === 'invalid_argument');
  assert.deepEqual((await curl(server.u('/presence.json'))).json, { js: 'online' });
  await db.close();
  await waitFor(async () => (await curl(server.u('/presence/js.json'))).json === 'offline', { message: 'offline' });
  assert.deepEqual((await curl(server.u('/presence.json'))).json, { js: 'offline', last: { who: 'js' } });
});

test('reconnect: listeners subscribe again and see what changed while the server was down', async (t) => {
  // A fixed port, so that the restarted server is where the client reconnects.
  const port = await new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address();
      probe.close(() => resolve(free));
    });
  });
  const server = await startServer({
    t,
    exactArgs: true,
    args: ['--dev', '--port', String(port), '--stomp-port', '0', '--data-dir', makeTempDir()],
  });
  const db = await open(server, { reconnectDelay: 100 });
  t.after(() => db.close());
  await db.ref('doc').set({ v: 1 });
  const values = record(db.ref('doc'), 'value');
  await waitFor(() => values.events.length === 1, { message: 'initial value' });
  assert.equal((await server.stop()).code, 0);
  await server.restart();  // the data changes before the client is back
  await curl(server.u('/doc/v.json'), { method: 'PUT', body: '2' });
  await waitFor(() => values.events.some(([, v]) => v && v.v === 2), { timeoutMs: 15000, message: 'the new value' });
  await db.ref('doc/w').set(3);
  assert.deepEqual((await curl(server.u('/doc.json'))).json, { v: 2, w: 3 });
});

test('the same library in headless Chromium', async (t) => {
  const server = await startServer({ t });
  const files = new Map([
    ['/backside.js', path.join(clientDir, 'backside.js')],
  ]);
  const stompDir = path.join(clientDir, 'node_modules', '@stomp', 'stompjs', 'esm6');
  const pages = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/page.html') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html>
<script type="importmap">{"imports": {"@stomp/stompjs": "/stompjs/index.js"}}</script>
<script type="module">
  import { connect } from '/backside.js';
  window.run = async (url) => {
    const db = await connect(url, { database: 'browser' });
    const seen = [];
    db.ref('chat').on('child_added', (s) => seen.push(s.val().text));
    await db.ref('chat').push({ text: 'from the browser' });
    const { committed } = await db.ref('n').transaction((n) => (n || 0) + 5);
    while (seen.length < 1) await new Promise((r) => setTimeout(r, 20));
    const n = (await db.ref('n').once('value')).val();
    await db.close();
    return { seen, committed, n };
  };
  window.ready = true;
</script>`);
      return;
    }
    let file = files.get(url.pathname);
    if (!file && url.pathname.startsWith('/stompjs/')) {
      const relative = path.normalize(url.pathname.slice('/stompjs/'.length));
      if (!relative.startsWith('..')) file = path.join(stompDir, relative);
    }
    if (!file || !fs.existsSync(file)) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/javascript' }).end(fs.readFileSync(file));
  });
  await new Promise((resolve) => pages.listen(0, '127.0.0.1', resolve));
  t.after(() => pages.close());
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium' });
  t.after(() => browser.close());
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.log('page error:', e.message));
  await page.goto(`http://127.0.0.1:${pages.address().port}/page.html`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 20000 });
  const result = await page.evaluate((url) => window.run(url), stompUrl(server));
  assert.deepEqual(result, { seen: ['from the browser'], committed: true, n: 5 });
  const chat = (await curl(server.u('/chat.json?ns=browser'))).json;
  assert.deepEqual(Object.values(chat), [{ text: 'from the browser' }]);
});
