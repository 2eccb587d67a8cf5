// Streaming (Server-Sent Events) end to end: a real backside process, the published
// `eventsource` v3 client, raw sockets for what a well-behaved client cannot do (never reading).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';

import { startServer, curl, sleep, within } from './lib/server.mjs';
import { StreamClient, openStream, applyEvent, canonical } from './lib/stream.mjs';

let server;
let keepAliveRaw; // a raw stream opened first, checked last (keep-alive every ~30 s)
let keepAliveClient;
let keepAliveOpenedAt;

before(async () => {
  server = await startServer();
  await write('PUT', '/ka', { here: true });
  keepAliveOpenedAt = Date.now();
  keepAliveRaw = await rawStream(server.port, '/ka.json');
  keepAliveClient = await openStream(server.u('/ka.json'));
});

after(async () => {
  keepAliveClient?.close();
  keepAliveRaw?.socket.destroy();
  if (server) {
    const { code } = await server.stop();
    assert.equal(code, 0, `exit code after SIGTERM; log:\n${server.log}`);
  }
});

const J = (value) => encodeURIComponent(JSON.stringify(value));

/** A REST write through fetch (keep-alive); asserts 200 and returns the parsed reply. */
async function write(method, path, body, base = server) {
  const [location, query] = path.split('?');
  const res = await fetch(base.u(`${location}.json${query ? `?${query}` : ''}`), {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.equal(res.status, 200, `${method} ${path} → ${res.status} ${text}`);
  return JSON.parse(text);
}

/** Reads the REST value at path. */
async function read(path, base = server) {
  const res = await fetch(base.u(`${path}.json`));
  assert.equal(res.status, 200);
  return res.json();
}

/**
 * A raw TCP streaming request (GET path with Accept: text/event-stream). Resolves once the first bytes of the
 * reply arrived: {socket, text() (everything received so far, latin1), bytes(), ended (promise)}.
 */
function rawStream(port, path, { pauseAfterFirstChunk = false } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const chunks = [];
    let received = 0;
    let endedResolve;
    const ended = new Promise((r) => {
      endedResolve = r;
    });
    const handle = {
      socket,
      ended,
      text: () => Buffer.concat(chunks).toString('latin1'),
      bytes: () => received,
    };
    socket.on('connect', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
    });
    socket.on('data', (chunk) => {
      received += chunk.length;
      if (chunks.length < 64) chunks.push(chunk); // keep the beginning only
      if (received === chunk.length) {
        if (pauseAfterFirstChunk) socket.pause();
        resolve(handle);
      }
    });
    socket.on('end', () => endedResolve('end'));
    socket.on('close', () => endedResolve('close'));
    socket.on('error', (error) => {
      endedResolve(`error: ${error.code}`);
      reject(error);
    });
  });
}

const put = (path, data) => ({ event: 'put', data: { path, data } });
const patch = (path, data) => ({ event: 'patch', data: { path, data } });

// ---------------------------------------------------------------------------------------------------------------

test('a stream answers 200 text/event-stream and starts with put {"path":"/","data":<value>}', async () => {
  await write('PUT', '/s/init', { a: 1, b: { c: 2 } });
  const controller = new AbortController();
  const res = await fetch(server.u('/s/init.json'), {
    headers: { Accept: 'text/event-stream' },
    signal: controller.signal,
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/event-stream/);
  assert.equal(res.headers.get('cache-control'), 'no-cache');
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  const reader = res.body.getReader();
  let got = '';
  while (!got.includes('\n\n')) {
    const { value, done } = await reader.read();
    assert.ok(!done, `stream ended early: ${got}`);
    got += Buffer.from(value).toString('utf8');
  }
  assert.equal(got, 'event: put\ndata: {"path":"/","data":{"a":1,"b":{"c":2}}}\n\n');
  controller.abort();

  const client = await openStream(server.u('/s/init.json'));
  assert.deepEqual({ event: client.first.event, data: client.first.data }, put('/', { a: 1, b: { c: 2 } }));
  client.close();
  const absent = await openStream(server.u('/s/init/nothing/here.json'));
  assert.deepEqual({ event: absent.first.event, data: absent.first.data }, put('/', null));
  absent.close();
  const leaf = await openStream(server.u('/s/init/a.json'));
  assert.deepEqual({ event: leaf.first.event, data: leaf.first.data }, put('/', 1));
  leaf.close();
});

test('put events for writes at and below the location, null for deletes; nothing for unrelated writes', async () => {
  await write('PUT', '/s/basic', { a: 1, b: { c: 2 } });
  const client = await openStream(server.u('/s/basic.json'));
  try {
    assert.deepEqual(client.first.data, { path: '/', data: { a: 1, b: { c: 2 } } });
    await write('PUT', '/s/basic/b/c', 3);
    assert.deepEqual(await client.take(1), [put('/b/c', 3)]);
    await write('PUT', '/s/basic/new', { x: [1, 2] });
    assert.deepEqual(await client.take(1), [put('/new', { x: [1, 2] })]);
    await write('DELETE', '/s/basic/a');
    assert.deepEqual(await client.take(1), [put('/a', null)]);
    // Writes elsewhere (siblings, a key that merely shares a prefix, other namespaces) are not sent.
    await write('PUT', '/s/basicX', 1);
    await write('PUT', '/s/other', 1);
    await write('PUT', '/s/basic?ns=otherns', 1);
    const { name } = await write('POST', '/s/basic/list', { pushed: true });
    assert.deepEqual(await client.take(1), [put(`/list/${name}`, { pushed: true })]);
    await write('PUT', '/s/basic', { z: 1 });
    assert.deepEqual(await client.take(1), [put('/', { z: 1 })]);
    await write('DELETE', '/s/basic');
    assert.deepEqual(await client.take(1), [put('/', null)]);
    await write('PUT', '/s/basic/again', 'yes');
    assert.deepEqual(await client.take(1), [put('/again', 'yes')]);
    await sleep(100);
    assert.deepEqual(client.pending(), [], 'no extra events');
    assert.equal(client.es.readyState, 1, 'still open');
  } finally {
    client.close();
  }
});

test('writes above the location arrive as put with path "/" and the new value at the location', async () => {
  const client = await openStream(server.u('/s/above/x/y.json'));
  try {
    assert.deepEqual(client.first.data, { path: '/', data: null });
    await write('PUT', '/s/above', { x: { y: { z: 1 } }, other: 1 });
    assert.deepEqual(await client.take(1), [put('/', { z: 1 })]);
    await write('PUT', '/s/above/x', { y: 'leaf' });
    assert.deepEqual(await client.take(1), [put('/', 'leaf')]);
    await write('PUT', '/s', { above: { x: { y: { k: true } } } });
    assert.deepEqual(await client.take(1), [put('/', { k: true })]);
    await write('PUT', '/s/above', { other: 2 });
    assert.deepEqual(await client.take(1), [put('/', null)]);
    // A multi-segment PATCH above the location: whatever the event shape, the client ends up right.
    let cache = null;
    await write('PATCH', '/s/above', { 'x/y/z': 5, q: 1 });
    await client.waitUntil(
      () => {
        for (const e of client.events.slice(client.cursor)) cache = applyEvent(cache, e);
        client.cursor = client.events.length;
        return JSON.stringify(cache) === JSON.stringify({ z: 5 });
      },
      { what: 'the location to become {"z":5}' },
    );
  } finally {
    client.close();
  }
});

test('PATCH: one patch event for single-segment keys, one put per key for multi-segment keys', async () => {
  await write('PUT', '/s/patch', { a: 0, b: 1, sub: { x: 0 } });
  const top = await openStream(server.u('/s/patch.json'));
  const sub = await openStream(server.u('/s/patch/sub.json'));
  try {
    await write('PATCH', '/s/patch', { a: 1, b: null });
    assert.deepEqual(await top.take(1), [patch('/', { a: 1, b: null })]);
    await write('PATCH', '/s/patch/sub', { x: 1, y: { z: 2 } });
    assert.deepEqual(await top.take(1), [patch('/sub', { x: 1, y: { z: 2 } })]);
    assert.deepEqual(await sub.take(1), [patch('/', { x: 1, y: { z: 2 } })]);
    // Multi-segment keys: one put per key (any order).
    await write('PATCH', '/s/patch', { 'm/n': 1, o: 2 });
    const events = await top.take(2);
    const byPath = (a, b) => (a.data.path < b.data.path ? -1 : 1);
    assert.deepEqual(events.sort(byPath), [put('/m/n', 1), put('/o', 2)]);
    // A single-segment PATCH one level above the sub stream replaces its whole value.
    await write('PATCH', '/s/patch', { sub: { q: 1 }, zz: 1 });
    assert.deepEqual(await top.take(1), [patch('/', { sub: { q: 1 }, zz: 1 })]);
    assert.deepEqual(await sub.take(1), [put('/', { q: 1 })]);
    // Deleting keys through PATCH.
    await write('PATCH', '/s/patch/sub', { q: null });
    assert.deepEqual(await sub.take(1), [patch('/', { q: null })]);
    assert.deepEqual(await top.take(1), [patch('/sub', { q: null })]);
    await sleep(100);
    assert.deepEqual(top.pending(), []);
    assert.deepEqual(sub.pending(), []);
    // The stream's cache and the server agree.
    let cache = null;
    for (const e of top.events) cache = applyEvent(cache, e);
    assert.deepEqual(cache, canonical(await read('/s/patch')));
  } finally {
    top.close();
    sub.close();
  }
});

test('events from other clients arrive in commit order, the same order on every stream', async () => {
  const writers = 4;
  const perWriter = 15;
  const a = await openStream(server.u('/s/order.json'));
  const b = await openStream(server.u('/s/order.json'));
  try {
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let n = 0; n < perWriter; n++) await write('PUT', `/s/order/w${w}`, n);
      }),
    );
    const total = writers * perWriter;
    const seqA = await a.take(total, { timeoutMs: 10000 });
    const seqB = await b.take(total, { timeoutMs: 10000 });
    assert.deepEqual(seqA, seqB, 'both streams see the same sequence');
    const last = new Map();
    for (const { event, data } of seqA) {
      assert.equal(event, 'put');
      const match = /^\/w(\d)$/.exec(data.path);
      assert.ok(match, data.path);
      const w = Number(match[1]);
      const previous = last.get(w) ?? -1;
      assert.equal(data.data, previous + 1, `writer ${w}: ${data.data} after ${previous}`);
      last.set(w, data.data);
    }
    assert.deepEqual(await read('/s/order'), Object.fromEntries(Array.from({ length: writers }, (_, w) => [`w${w}`, perWriter - 1])));
    await sleep(50);
    assert.deepEqual(a.pending(), []);
  } finally {
    a.close();
    b.close();
  }
});

test('200 concurrent streams all receive every event, in order', async () => {
  await write('PUT', '/s/many', { seed: 1 });
  const clients = [];
  try {
    const opening = Array.from({ length: 200 }, () => openStream(server.u('/s/many.json'), { timeoutMs: 20000 }));
    for (const p of opening) clients.push(await p);
    for (const client of clients) assert.deepEqual(client.first.data, { path: '/', data: { seed: 1 } });
    await write('PUT', '/s/many/k0', 0);
    await write('PATCH', '/s/many', { k1: 1, seed: null });
    await write('PUT', '/s/many/k2', { deep: true });
    await write('DELETE', '/s/many/k0');
    await write('PUT', '/s/many', 'replaced');
    const expected = [
      put('/k0', 0),
      patch('/', { k1: 1, seed: null }),
      put('/k2', { deep: true }),
      put('/k0', null),
      put('/', 'replaced'),
    ];
    await Promise.all(
      clients.map(async (client) => {
        assert.deepEqual(await client.take(expected.length, { timeoutMs: 15000 }), expected);
      }),
    );
  } finally {
    for (const client of clients) client.close();
  }
});

test('a stream on a query (orderBy + limitToLast) follows the window', async () => {
  await write('PUT', '/s/query', { a: { n: 1 }, b: { n: 2 }, c: { n: 3 } });
  const client = await openStream(server.u(`/s/query.json?orderBy=${J('n')}&limitToLast=2`));
  try {
    assert.deepEqual(client.first.data, { path: '/', data: { b: { n: 2 }, c: { n: 3 } } });
    let cache = client.first.data.data;
    const expectWindow = async (expected) => {
      await client.waitUntil(
        () => {
          for (const e of client.events.slice(client.cursor)) cache = applyEvent(cache, e);
          client.cursor = client.events.length;
          return isDeepEqual(canonical(cache), canonical(expected));
        },
        { what: `the window ${JSON.stringify(expected)} (cache ${JSON.stringify(cache)})` },
      );
    };
    // A new child enters at the top, b leaves.
    await write('PUT', '/s/query/d', { n: 4 });
    await expectWindow({ c: { n: 3 }, d: { n: 4 } });
    // A change outside the window is invisible; then a change inside it.
    await write('PUT', '/s/query/a/n', 0);
    await write('PUT', '/s/query/c/n', 10);
    await expectWindow({ c: { n: 10 }, d: { n: 4 } });
    // Removing a child lets b back in.
    await write('DELETE', '/s/query/d');
    await expectWindow({ b: { n: 2 }, c: { n: 10 } });
    await write('PUT', '/s/query/b/n', 2.5);
    await expectWindow({ b: { n: 2.5 }, c: { n: 10 } });
    // A child moving up from below the window pushes the lowest one out.
    await write('PUT', '/s/query/a/n', 5);
    await expectWindow({ a: { n: 5 }, c: { n: 10 } });
    await sleep(100);
    for (const e of client.pending()) cache = applyEvent(cache, e);
    assert.deepEqual(canonical(cache), canonical({ a: { n: 5 }, c: { n: 10 } }));
    // The window matches a REST query of the same window.
    const rest = await fetch(server.u(`/s/query.json?orderBy=${J('n')}&limitToLast=2`));
    assert.deepEqual(canonical(await rest.json()), canonical(cache));
  } finally {
    client.close();
  }
});

function isDeepEqual(a, b) {
  try {
    assert.deepEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

test('a stream that stops reading is dropped without hurting other clients', async (t) => {
  // Every single event stays well below the limit (an event larger than the limit cannot be queued at all).
  const limit = 262144;
  const slowServer = await startServer({
    t,
    args: ['--max-stream-queue-bytes', String(limit), '--durability', 'none'],
  });
  assert.match(slowServer.log, /DURABILITY IS OFF/);
  await write('PUT', '/slow', { start: true }, slowServer);
  // The slow client: sends the request, reads the first bytes, then never reads again.
  const slow = await rawStream(slowServer.port, '/slow.json', { pauseAfterFirstChunk: true });
  assert.match(slow.text(), /^HTTP\/1\.1 200/);
  const good = await openStream(slowServer.u('/slow.json'));
  try {
    const blob = 'x'.repeat(16 * 1024);
    const count = 800; // ~13 MB of events: far more than the socket buffers plus the queue limit
    let eventBytes = 0;
    for (let i = 0; i < count; i++) {
      await write('PUT', `/slow/b${i}`, `${i}:${blob}`, slowServer);
      eventBytes += blob.length;
    }
    // The good client gets every event, in order.
    const events = await good.take(count, { timeoutMs: 30000 });
    events.forEach(({ event, data }, i) => {
      assert.equal(event, 'put');
      assert.equal(data.path, `/b${i}`);
      assert.equal(data.data, `${i}:${blob}`);
    });
    assert.match(slowServer.log, /dropping stream/, 'the server logged dropping the slow stream');
    // The server still answers quickly.
    const t0 = Date.now();
    const res = await curl(slowServer.u('/slow/start.json'));
    assert.equal(res.status, 200);
    assert.equal(res.body, 'true');
    assert.ok(Date.now() - t0 < 3000, `GET took ${Date.now() - t0} ms`);
    await write('PUT', '/slow/after', 1, slowServer);
    assert.deepEqual(await good.take(1), [put('/after', 1)]);
    // The slow client's connection was closed by the server: reading now drains what the kernel buffered
    // and then hits the end, far short of everything that was written.
    slow.socket.resume();
    const how = await within(slow.ended, 10000, 'still open');
    assert.notEqual(how, 'still open', 'the server closed the slow stream');
    assert.ok(slow.bytes() < eventBytes, `slow client got ${slow.bytes()} of ${eventBytes} bytes`);
  } finally {
    good.close();
    slow.socket.destroy();
  }
  const { code } = await slowServer.stop();
  assert.equal(code, 0);
});

test('SIGTERM ends open streams: clients see the connection end, the server exits 0', async (t) => {
  const dying = await startServer({ t });
  await write('PUT', '/bye', { x: 1 }, dying);
  const client = await openStream(dying.u('/bye.json'));
  const raw = await rawStream(dying.port, '/bye.json');
  assert.match(raw.text(), /event: put\ndata: \{"path":"\/","data":\{"x":1\}\}\n\n/);
  try {
    const t0 = Date.now();
    const { code, signal } = await dying.stop();
    assert.equal(code, 0, `exit code ${code} signal ${signal}; log:\n${dying.log}`);
    assert.ok(Date.now() - t0 < 5000, 'open streams do not hold up shutdown');
    assert.match(dying.log, /stopped cleanly/);
    const how = await within(raw.ended, 3000, 'still open');
    assert.notEqual(how, 'still open', 'the raw stream saw the connection end');
    await client.waitUntil(() => client.errors.length > 0, { what: 'the EventSource to report the end' });
    assert.notEqual(client.es.readyState, 1, 'EventSource no longer OPEN');
  } finally {
    client.close();
    raw.socket.destroy();
  }
});

test('keep-alive events every ~30 s (stream opened when this file started)', async () => {
  const due = keepAliveOpenedAt + 32000;
  if (Date.now() < due) await sleep(due - Date.now());
  await keepAliveClient.waitUntil(() => keepAliveClient.events.some((e) => e.event === 'keep-alive'), {
    timeoutMs: 5000,
    what: 'a keep-alive event',
  });
  const elapsed = Date.now() - keepAliveOpenedAt;
  const kinds = keepAliveClient.events.map((e) => e.event);
  assert.equal(kinds[0], 'put');
  assert.ok(kinds.slice(1).every((k) => k === 'keep-alive'), kinds.join(','));
  const keepAlives = kinds.length - 1;
  assert.ok(keepAlives <= Math.floor(elapsed / 25), `${keepAlives} keep-alives in ${elapsed} ms: about one per 30 s`);
  for (const e of keepAliveClient.events.slice(1)) assert.equal(e.raw, 'null');
  const text = keepAliveRaw.text();
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  assert.ok(
    body.startsWith('event: put\ndata: {"path":"/","data":{"here":true}}\n\nevent: keep-alive\ndata: null\n\n'),
    JSON.stringify(body),
  );
});
