// STOMP over WebSocket (/stomp) with the real @stomp/stompjs client over the `ws` package, plus raw frames for
// protocol errors. Cross-door: REST writes reach STOMP subscribers and STOMP writes are visible over REST.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { Client } from '@stomp/stompjs';
import { startServer, waitFor, within } from './lib/server.mjs';

function stompUrl(server) {
  return server.url.replace('http://', 'ws://') + '/stomp';
}

async function connect(server, headers = {}) {
  const client = new Client({
    webSocketFactory: () => new WebSocket(stompUrl(server), ['v12.stomp', 'v11.stomp', 'v10.stomp']),
    connectHeaders: { host: 'default', ...headers },
    reconnectDelay: 0,
    heartbeatIncoming: 0,
    heartbeatOutgoing: 0,
  });
  const connected = new Promise((resolve, reject) => {
    client.onConnect = resolve;
    client.onStompError = (frame) => reject(new Error(frame.headers.message));
    client.onWebSocketError = reject;
  });
  client.activate();
  const frame = await within(connected, 5000);
  return { client, frame };
}

// Sends a frame with a receipt and resolves with the RECEIPT frame.
function publishWithReceipt(client, destination, body, headers = {}) {
  const id = `r-${Math.random().toString(36).slice(2)}`;
  const receipt = new Promise((resolve) => client.watchForReceipt(id, resolve));
  client.publish({ destination, body, headers: { ...headers, receipt: id } });
  return within(receipt, 5000);
}

function collect(client, destination) {
  const messages = [];
  const sub = client.subscribe(destination, (m) => messages.push({ headers: m.headers, body: JSON.parse(m.body) }));
  return { messages, sub };
}

async function restGet(server, path) {
  const response = await fetch(`${server.url}${path}.json`);
  return response.json();
}

test('CONNECTED negotiates 1.2 and names the server and session', async (t) => {
  const server = await startServer({ t });
  const { client, frame } = await connect(server);
  t.after(() => client.deactivate());
  assert.equal(frame.headers.version, '1.2');
  assert.match(frame.headers.server, /^backside\//);
  assert.ok(frame.headers.session);
});

test('SUBSCRIBE gets the current value, then REST and STOMP writes as put/patch with relative paths', async (t) => {
  const server = await startServer({ t });
  await fetch(`${server.url}/users/bob.json`, { method: 'PUT', body: JSON.stringify({ age: 3 }) });
  const { client } = await connect(server);
  t.after(() => client.deactivate());
  const { messages } = collect(client, '/users');
  await waitFor(() => messages.length >= 1);
  assert.equal(messages[0].headers.event, 'put');
  assert.equal(messages[0].headers.path, '/');
  assert.equal(messages[0].headers.subscription !== undefined, true);
  assert.deepEqual(messages[0].body, { bob: { age: 3 } });

  // Cross-door: a REST write below the subscription.
  await fetch(`${server.url}/users/bob/age.json`, { method: 'PUT', body: '4' });
  await waitFor(() => messages.length >= 2);
  assert.equal(messages[1].headers.event, 'put');
  assert.equal(messages[1].headers.path, '/bob/age');
  assert.deepEqual(messages[1].body, 4);

  // A STOMP write above the subscription reaches it.
  const receipt = await publishWithReceipt(client, '/', JSON.stringify({ users: { alice: { age: 30 } } }));
  assert.equal(receipt.headers.status, 'ok');
  await waitFor(() => messages.length >= 3);
  assert.equal(messages[2].headers.path, '/');
  assert.deepEqual(messages[2].body, { alice: { age: 30 } });

  // update -> patch
  const updated = await publishWithReceipt(client, '/users', JSON.stringify({ 'alice/age': 31, carol: true }), {
    method: 'update',
  });
  assert.equal(updated.headers.status, 'ok');
  await waitFor(() => messages.length >= 4);
  assert.equal(messages[3].headers.event, 'patch');
  assert.equal(messages[3].headers.path, '/');
  assert.deepEqual(messages[3].body, { 'alice/age': 31, carol: true });
  assert.deepEqual(await restGet(server, '/users'), { alice: { age: 31 }, carol: true });
});

test('SEND methods: push returns the key, remove deletes, priority is stored, receipts come after the write', async (t) => {
  const server = await startServer({ t });
  const { client } = await connect(server);
  t.after(() => client.deactivate());
  const pushed = await publishWithReceipt(client, '/messages', JSON.stringify({ text: 'hi' }), { method: 'push' });
  assert.equal(pushed.headers.status, 'ok');
  assert.match(pushed.headers.key, /^-[A-Za-z0-9_-]{19}$/);
  // The receipt means durable and visible: REST sees it at once.
  assert.deepEqual(await restGet(server, `/messages/${pushed.headers.key}`), { text: 'hi' });

  const prio = await publishWithReceipt(client, '/p', '"v"', { priority: '5' });
  assert.equal(prio.headers.status, 'ok');
  const exported = await (await fetch(`${server.url}/p.json?format=export`)).json();
  assert.deepEqual(exported, { '.value': 'v', '.priority': 5 });

  const removed = await publishWithReceipt(client, `/messages/${pushed.headers.key}`, '', { method: 'remove' });
  assert.equal(removed.headers.status, 'ok');
  assert.equal(await restGet(server, '/messages'), null);
});

test('per-operation failures come back in the RECEIPT and the connection stays usable', async (t) => {
  const server = await startServer({ t });
  const { client } = await connect(server);
  t.after(() => client.deactivate());
  const first = await publishWithReceipt(client, '/counter', '1');
  assert.equal(first.headers.status, 'ok');
  assert.ok(first.headers.etag);

  const stale = await publishWithReceipt(client, '/counter', '2', { 'if-match': 'not-the-hash' });
  assert.equal(stale.headers.status, 'hash_mismatch');
  assert.equal(stale.headers.etag, first.headers.etag);

  const cas = await publishWithReceipt(client, '/counter', '2', { 'if-match': first.headers.etag });
  assert.equal(cas.headers.status, 'ok');

  const badJson = await publishWithReceipt(client, '/counter', '{nope');
  assert.equal(badJson.headers.status, 'invalid_argument');
  const badKey = await publishWithReceipt(client, '/a.b', '1');
  assert.equal(badKey.headers.status, 'invalid_argument');
  assert.equal(await restGet(server, '/counter'), 2);
  assert.ok(client.connected);
});

test('UNSUBSCRIBE stops messages', async (t) => {
  const server = await startServer({ t });
  const { client } = await connect(server);
  t.after(() => client.deactivate());
  const { messages, sub } = collect(client, '/x');
  await waitFor(() => messages.length >= 1);
  sub.unsubscribe();
  await publishWithReceipt(client, '/x', '1');
  await publishWithReceipt(client, '/x', '2');
  assert.equal(messages.length, 1);
});

// Raw frames over WebSocket: protocol violations get ERROR, then the server closes.
function rawSession(server, frames) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(stompUrl(server), ['v12.stomp']);
    const received = [];
    ws.on('open', () => {
      for (const f of frames) ws.send(f);
    });
    ws.on('message', (data) => received.push(data.toString()));
    ws.on('close', () => resolve({ received, protocol: ws.protocol }));
    ws.on('error', reject);
  });
}

test('a frame before CONNECT gets ERROR and the connection closes; nothing is written', async (t) => {
  const server = await startServer({ t });
  const { received, protocol } = await within(
    rawSession(server, ['SEND\ndestination:/x\nreceipt:9\n\n1\0']),
    5000,
  );
  assert.equal(protocol, 'v12.stomp');
  assert.equal(received.length, 1);
  assert.match(received[0], /^ERROR\n/);
  assert.match(received[0], /receipt-id:9\n/);
  assert.equal(await restGet(server, '/x'), null);
});

test('malformed frames and unknown commands get ERROR then close', async (t) => {
  const server = await startServer({ t });
  for (const bad of ['FOO\n\n\0', 'SEND\ndestination:/x\nbad:\\t\n\n1\0', 'SEND\ncontent-length:zz\n\n\0']) {
    const { received } = await within(rawSession(server, ['CONNECT\naccept-version:1.2\nhost:default\n\n\0', bad]), 5000);
    assert.match(received[0], /^CONNECTED\n/);
    assert.match(received.at(-1), /^ERROR\n/, bad);
  }
  const { received } = await within(rawSession(server, ['CONNECT\naccept-version:2.0\n\n\0']), 5000);
  assert.match(received[0], /^ERROR\nversion:1.2,1.1,1.0\n/);
  assert.equal(await restGet(server, '/x'), null);
});

test('transactions with stompjs: commit applies all SENDs at once, abort none', async (t) => {
  const server = await startServer({ t });
  const { client } = await connect(server);
  t.after(() => client.deactivate());
  const committed = client.begin();
  client.publish({ destination: '/txws/a', body: '1', headers: { transaction: committed.id } });
  client.publish({ destination: '/txws', body: '{"b":2}', headers: { transaction: committed.id, method: 'update' } });
  assert.equal(await restGet(server, '/txws'), null, 'nothing before COMMIT');
  committed.commit();
  const aborted = client.begin();
  client.publish({ destination: '/txws/c', body: '3', headers: { transaction: aborted.id } });
  aborted.abort();
  // Frames are handled in order: once this receipt is back, the COMMIT's write is durable too.
  assert.equal((await publishWithReceipt(client, '/txws/d', '4')).headers.status, 'ok');
  assert.deepEqual(await restGet(server, '/txws'), { a: 1, b: 2, d: 4 });
});

test('query headers: an ordered, limited subscription keeps its window live; bad queries are refused', async (t) => {
  const server = await startServer({ t });
  const { client } = await connect(server);
  t.after(() => client.deactivate());
  await fetch(`${server.url}/scores.json`, {
    method: 'PUT',
    body: JSON.stringify({ ann: { score: 5 }, bob: { score: 9 }, cid: { score: 7 }, dan: { score: 1 } }),
  });
  const events = [];
  client.subscribe('/scores', (m) => events.push({ event: m.headers.event, path: m.headers.path, body: JSON.parse(m.body) }), {
    'order-by': 'score',
    'limit-to-last': '2',
  });
  await waitFor(() => events.length === 1, { message: 'the initial window' });
  assert.deepEqual(events[0], { event: 'put', path: '/', body: { bob: { score: 9 }, cid: { score: 7 } } });
  // A child entering the window pushes the lowest one out; changes outside the window are not sent.
  assert.equal((await publishWithReceipt(client, '/scores/dan/score', '8')).headers.status, 'ok');
  assert.equal((await publishWithReceipt(client, '/scores/ann/score', '2')).headers.status, 'ok');
  const rest = await (await fetch(`${server.url}/scores.json?orderBy="score"&limitToLast=2`)).json();
  assert.deepEqual(rest, { bob: { score: 9 }, dan: { score: 8 } });
  await waitFor(() => events.some((e) => JSON.stringify(e).includes('dan')), { message: 'dan entering' });
  let window = null;
  for (const e of events) {
    const at = e.path.split('/').filter(Boolean);
    if (e.event === 'put' && at.length === 0) window = e.body;
    else if (e.event === 'put') {
      window = { ...(window || {}) };
      if (e.body === null) delete window[at[0]];
      else if (at.length === 1) window[at[0]] = e.body;
      else window[at[0]] = { ...(window[at[0]] || {}), [at[1]]: e.body };
    } else {
      for (const [k, v] of Object.entries(e.body)) {
        const parts = [...at, ...k.split('/')];
        window = { ...(window || {}) };
        if (v === null && parts.length === 1) delete window[parts[0]];
        else if (parts.length === 1) window[parts[0]] = v;
        else window[parts[0]] = { ...(window[parts[0]] || {}), [parts[1]]: v };
      }
    }
  }
  assert.deepEqual(window, rest);
  assert.ok(!events.some((e) => JSON.stringify(e).includes('ann')), 'ann never in the window');

  const refused = new Promise((resolve) => client.subscribe('/scores', (m) => resolve(m.headers), { 'limit-to-first': '-1' }));
  const cancel = await within(refused, 5000);
  assert.equal(cancel.event, 'cancel');
  assert.equal(cancel.status, 'invalid_argument');
});
