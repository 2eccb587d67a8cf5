// The server-wide memory budget (max_buffered_bytes, docs/security.md) against a production-configured server
// (no --dev: rules and the admin token): clients that make the server buffer for them are refused or dropped once
// the budget is spent, everyone else is served, and the server stays up. Also the byte bound of STOMP transactions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import WebSocket from 'ws';
import { startServer, parseRawResponse, waitFor, within, curl } from './lib/server.mjs';

const BUDGET = 8 * 1024 * 1024;

async function productionServer(t, args = []) {
  const server = await startServer({ t, dev: false, args });
  const token = fs.readFileSync(path.join(server.dataDir, 'admin-token'), 'utf8').trim();
  return { server, token };
}

async function readAsAdmin(server, token, location) {
  const response = await fetch(`${server.url}/${location}.json`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200);
  return response.json();
}

async function putAsAdmin(server, token, location, value) {
  const response = await fetch(`${server.url}/${location}.json`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${token}` },
    body: JSON.stringify(value),
  });
  return response.status;
}

// A raw STOMP client over TCP that collects the frames it reads; pause() stops reading from the socket (the kernel
// buffers fill, then the server's queue for it grows), resume() reads again.
class RawStomp {
  constructor(port) {
    this.socket = net.connect(port, '127.0.0.1');
    this.buffer = Buffer.alloc(0);
    this.frames = [];
    this.closed = false;
    this.socket.on('data', (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      for (let nul = this.buffer.indexOf(0); nul >= 0; nul = this.buffer.indexOf(0)) {
        this.frames.push(this.buffer.subarray(0, nul).toString('utf8').replace(/^\n+/, ''));
        this.buffer = this.buffer.subarray(nul + 1);
      }
    });
    this.socket.on('close', () => {
      this.closed = true;
    });
    this.socket.on('error', () => {});
  }
  send(text) {
    this.socket.write(text + '\0');
  }
  async frame(predicate, message) {
    return waitFor(() => this.frames.find(predicate), { timeoutMs: 10000, message });
  }
  async connect(token) {
    this.send(`CONNECT\naccept-version:1.2\nhost:default\npasscode:${token}\n\n`);
    await this.frame((f) => f.startsWith('CONNECTED'), 'CONNECTED');
  }
  async subscribe(destination, id = 's1') {
    this.send(`SUBSCRIBE\nid:${id}\ndestination:${destination}\nreceipt:sub-${id}\n\n`);
    await this.frame((f) => f.startsWith('RECEIPT') && f.includes(`receipt-id:sub-${id}`), 'the SUBSCRIBE receipt');
  }
  pause() {
    this.socket.pause();
  }
  resume() {
    this.socket.resume();
  }
  destroy() {
    this.socket.destroy();
  }
}

test('slow readers are dropped once their queues take the budget; a reading client is served throughout', async (t) => {
  // The per-connection bound is far away: only the server-wide budget can drop anyone here.
  const { server, token } = await productionServer(t, [
    '--max-buffered-bytes', String(BUDGET), '--max-stream-queue-bytes', String(1 << 30),
  ]);
  const slow = [];
  for (let i = 0; i < 10; i++) {
    const client = new RawStomp(server.stompPort);
    await client.connect(token);
    await client.subscribe('/feed');
    client.pause();
    slow.push(client);
  }
  t.after(() => slow.forEach((client) => client.destroy()));
  const reader = new RawStomp(server.stompPort);
  t.after(() => reader.destroy());
  await reader.connect(token);
  await reader.subscribe('/feed');

  // 48 values of 512 KiB: 24 MiB to each subscriber, far more than the kernel's socket buffers of the slow ones
  // take, so their queues grow in the server until the budget is spent.
  const big = 'x'.repeat(512 * 1024);
  for (let i = 0; i < 48; i++) {
    assert.equal(await putAsAdmin(server, token, 'feed', `${i}:${big}`), 200);
  }
  assert.equal(await putAsAdmin(server, token, 'feed', 'last'), 200);
  await reader.frame((f) => f.startsWith('MESSAGE') && f.endsWith('"last"'), 'the last value at the reading client')
    .catch((error) => {
      throw new Error(`${error.message} (closed: ${reader.closed}, frames: ${reader.frames.length}); log:\n${server.log}`);
    });
  assert.ok(!reader.closed, 'the client that reads was not dropped');
  await waitFor(() => /memory budget \(max_buffered_bytes = 8388608\) (exhausted|full).*dropping/.test(server.log),
                { timeoutMs: 10000, message: `the budget's log line; log:\n${server.log}` });

  // Read what the slow ones were sent: the dropped ones end before the last value.
  for (const client of slow) client.resume();
  const outcomes = await Promise.all(slow.map((client) => within(
    waitFor(() => (client.closed ? 'dropped' : client.frames.some((f) => f.endsWith('"last"')) ? 'served' : null),
            { timeoutMs: 30000, intervalMs: 50, message: 'a slow reader to end or catch up' }),
    35000)));
  const dropped = outcomes.filter((outcome) => outcome === 'dropped').length;
  assert.ok(dropped >= 1, `some slow readers were dropped: ${outcomes.join(',')}`);
  for (const [i, client] of slow.entries()) {
    if (outcomes[i] === 'dropped') {
      assert.ok(!client.frames.some((f) => f.endsWith('"last"')), 'a dropped reader got nothing after its drop');
    }
  }

  // The budget is given back: a new client subscribes and gets the current value, and REST works.
  assert.ok(server.running, server.log);
  const fresh = new RawStomp(server.stompPort);
  t.after(() => fresh.destroy());
  await fresh.connect(token);
  await fresh.subscribe('/feed');
  await fresh.frame((f) => f.startsWith('MESSAGE') && f.endsWith('"last"'), 'the current value at a new client');
  assert.equal(await readAsAdmin(server, token, 'feed'), 'last');
});

// Sends a request head announcing a body of `length` bytes and only the first bytes of it; resolves to the
// response if one comes within `ms` (the socket stays open either way; the caller destroys it).
function unfinishedBody(port, length, ms = 3000) {
  const socket = net.connect(port, '127.0.0.1');
  const chunks = [];
  socket.on('data', (chunk) => chunks.push(chunk));
  socket.on('error', () => {});
  socket.write(`PUT /upload.json HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
               `Content-Length: ${length}\r\n\r\n"abc`);
  const answered = new Promise((resolve) => {
    const check = () => {
      const text = Buffer.concat(chunks).toString('latin1');
      if (text.includes('\r\n\r\n') && text.includes('}')) resolve(parseRawResponse(text));
    };
    socket.on('data', check);
  });
  return { socket, response: within(answered, ms, null) };
}

test('unfinished request bodies past the budget get 503 unread, and the server stays up', async (t) => {
  const { server, token } = await productionServer(t, ['--max-buffered-bytes', String(BUDGET)]);
  // 2 MB each: four fit in the 8 MiB budget, the rest are refused before a byte of their bodies is read.
  const uploads = Array.from({ length: 12 }, () => unfinishedBody(server.port, 2_000_000));
  t.after(() => uploads.forEach((upload) => upload.socket.destroy()));
  const responses = await Promise.all(uploads.map((upload) => upload.response));
  const refused = responses.filter((response) => response && response.status === 503);
  assert.ok(refused.length >= 8, `at least 8 of 12 refused: ${responses.map((r) => r?.status).join(',')}`);
  for (const response of refused) {
    assert.match(JSON.parse(response.body).error, /no memory left for request bodies \(max_buffered_bytes\)/);
  }
  assert.equal(responses.filter((response) => response === null).length, 12 - refused.length,
               'the others wait for their bodies');
  assert.match(server.log, /memory budget .* exhausted.*answering 503 to a request body/);

  // The server goes on, and once the unfinished bodies are gone their share of the budget is free again.
  assert.ok(server.running, server.log);
  uploads.forEach((upload) => upload.socket.destroy());
  await waitFor(async () => (await putAsAdmin(server, token, 'after', { ok: true })) === 200,
                { timeoutMs: 5000, message: 'a write once the unfinished bodies are gone' });
  assert.deepEqual(await readAsAdmin(server, token, 'after'), { ok: true });
  assert.equal(await readAsAdmin(server, token, 'upload'), null, 'nothing of the unfinished bodies was stored');
  // A complete large body that fits is accepted again (the budget was given back).
  const body = JSON.stringify('y'.repeat(3_000_000));
  const ok = await curl(`${server.url}/large.json`, { method: 'PUT', body, headers: { Authorization: `Bearer ${token}` } });
  assert.equal(ok.status, 200, ok.body);
});

test('a STOMP transaction over the byte bound is refused with ERROR and nothing of it is stored', async (t) => {
  const { server, token } = await productionServer(t);
  const client = new RawStomp(server.stompPort);
  t.after(() => client.destroy());
  await client.connect(token);
  client.send('BEGIN\ntransaction:tx\nreceipt:begin\n\n');
  await client.frame((f) => f.startsWith('RECEIPT') && f.includes('receipt-id:begin'), 'the BEGIN receipt');
  const chunk = JSON.stringify('z'.repeat(4 * 1024 * 1024));  // 4 MiB + quotes: the fourth crosses 16 MiB
  for (let i = 0; i < 5; i++) {
    client.send(`SEND\ndestination:/tx/${i}\ntransaction:tx\ncontent-type:application/json\n` +
                `content-length:${Buffer.byteLength(chunk)}\n\n${chunk}`);
  }
  const error = await client.frame((f) => f.startsWith('ERROR'), 'the ERROR frame');
  assert.match(error, /would buffer more than 16777216 bytes of SEND bodies/);
  await waitFor(() => client.closed, { message: 'the connection to close after ERROR' });
  assert.equal(await readAsAdmin(server, token, 'tx'), null, 'nothing of the transaction was stored');

  // Within the bound a transaction still commits.
  const again = new RawStomp(server.stompPort);
  t.after(() => again.destroy());
  await again.connect(token);
  again.send('BEGIN\ntransaction:ok\n\n');
  again.send('SEND\ndestination:/tx/a\ntransaction:ok\n\n1');
  again.send('SEND\ndestination:/tx/b\ntransaction:ok\n\n2');
  again.send('COMMIT\ntransaction:ok\nreceipt:commit\n\n');
  const receipt = await again.frame((f) => f.startsWith('RECEIPT') && f.includes('receipt-id:commit'), 'COMMIT');
  assert.match(receipt, /status:ok/);
  assert.deepEqual(await readAsAdmin(server, token, 'tx'), { a: 1, b: 2 });
});

test('partial STOMP frames and WebSocket messages past the budget end their connections with the protocol error', async (t) => {
  const { server, token } = await productionServer(t, ['--max-buffered-bytes', String(BUDGET)]);
  // STOMP over TCP, before CONNECT even: a frame announcing 10 MB, of which 3 MiB arrive. Two or so fit.
  const partial = Buffer.concat([Buffer.from('SEND\ndestination:/p\ncontent-length:10000000\n\n'),
                                 Buffer.alloc(3 * 1024 * 1024, 'p')]);
  const stomps = [];
  for (let i = 0; i < 4; i++) {
    const client = new RawStomp(server.stompPort);
    client.socket.write(partial);
    stomps.push(client);
  }
  t.after(() => stomps.forEach((client) => client.destroy()));
  await waitFor(() => stomps.some((client) => client.closed), { timeoutMs: 10000, message: 'a STOMP connection to end' });
  const refused = stomps.filter((client) => client.frames.some((f) => f.startsWith('ERROR')));
  assert.ok(refused.length >= 1, 'at least one got ERROR');
  for (const client of refused) {
    assert.match(client.frames.find((f) => f.startsWith('ERROR')), /no memory left for incoming frames \(max_buffered_bytes\)/);
  }
  stomps.forEach((client) => client.destroy());

  // WebSocket (/stomp): a fragmented message whose first 3 MiB fragment is in, the rest never comes.
  const sockets = await Promise.all(Array.from({ length: 4 }, () => new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/stomp`, ['v12.stomp']);
    ws.on('open', () => resolve(ws));
    ws.on('error', reject);
  })));
  t.after(() => sockets.forEach((ws) => ws.terminate()));
  const closes = sockets.map((ws) => new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) }))));
  for (const ws of sockets) ws.send(Buffer.alloc(3 * 1024 * 1024, 'w'), { fin: false, binary: false });
  const first = await within(Promise.race(closes), 10000, null);
  assert.ok(first, 'a WebSocket was closed');
  assert.equal(first.code, 1008);
  assert.match(first.reason, /no memory left for incoming messages/);
  sockets.forEach((ws) => ws.terminate());

  // The server goes on: a normal STOMP client writes once the partial input is gone.
  assert.ok(server.running, server.log);
  await waitFor(async () => {
    const client = new RawStomp(server.stompPort);
    try {
      await client.connect(token);
      client.send('SEND\ndestination:/after\nreceipt:w\n\n"ok"');
      return (await client.frame((f) => f.startsWith('RECEIPT'), 'the RECEIPT')).includes('status:ok');
    } finally {
      client.destroy();
    }
  }, { timeoutMs: 10000, message: 'a STOMP write after the partial input is gone' });
  assert.equal(await readAsAdmin(server, token, 'after'), 'ok');
  assert.equal(await readAsAdmin(server, token, 'p'), null);
});

test('stored on-disconnect writes are bounded in bytes: past 16 MiB they are refused and not run', async (t) => {
  const { server, token } = await productionServer(t);
  const client = new RawStomp(server.stompPort);
  t.after(() => client.destroy());
  await client.connect(token);
  const chunk = JSON.stringify('d'.repeat(4 * 1024 * 1024));  // the fourth crosses 16 MiB
  for (let i = 0; i < 4; i++) {
    client.send(`SEND\ndestination:/gone/${i}\non-disconnect:set\nreceipt:od-${i}\n` +
                `content-length:${Buffer.byteLength(chunk)}\n\n${chunk}`);
  }
  const receipts = [];
  for (let i = 0; i < 4; i++) {
    receipts.push(await client.frame((f) => f.startsWith('RECEIPT') && f.includes(`receipt-id:od-${i}\n`), `od-${i}`));
  }
  for (const receipt of receipts.slice(0, 3)) assert.match(receipt, /status:ok/);
  assert.match(receipts[3], /status:too_large/);
  assert.match(receipts[3], /would hold more than 16777216 bytes/);
  client.destroy();
  // The three stored ones run at the disconnect; the refused one does not.
  const stored = await waitFor(async () => {
    const value = await readAsAdmin(server, token, 'gone');
    return value && Object.keys(value).length === 3 ? value : null;
  }, { timeoutMs: 10000, message: 'the stored on-disconnect writes to run' });
  assert.deepEqual(Object.keys(stored).sort(), ['0', '1', '2']);
});

test('unfinished request heads and Firebase multi-frame messages are charged: past the budget they are refused', async (t) => {
  const SMALL = 1024 * 1024;
  const { server, token } = await productionServer(t, ['--max-buffered-bytes', String(SMALL)]);
  // HTTP: 40 connections each holding 60 KiB of a head that never ends (2.4 MB of heads against a 1 MiB budget).
  const heads = Array.from({ length: 40 }, () => {
    const socket = net.connect(server.port, '127.0.0.1');
    const client = { socket, data: '', closed: false };
    socket.on('data', (chunk) => { client.data += chunk.toString('latin1'); });
    socket.on('close', () => { client.closed = true; });
    socket.on('error', () => {});
    socket.write(`GET /.json HTTP/1.1\r\nHost: x\r\nX-Pad: ${'h'.repeat(60 * 1024)}`);
    return client;
  });
  t.after(() => heads.forEach((client) => client.socket.destroy()));
  await waitFor(() => heads.filter((client) => client.data.length > 0).length >= 10,
    { timeoutMs: 10000, message: 'heads past the budget to be answered' });
  // Refused for the head, or, when the heads took it all, for the answer itself: either way only because the heads
  // are charged (uncharged, 40 heads fit in any budget and nothing is answered).
  for (const client of heads.filter((c) => c.data.length > 0)) {
    const response = parseRawResponse(client.data);
    assert.equal(response.status, 503, client.data);
    assert.match(response.body, /no memory left for (request headers|responses) \(max_buffered_bytes\)/);
  }
  heads.forEach((client) => client.socket.destroy());
  await waitFor(async () => (await fetch(`${server.url}/.json`, { headers: { Authorization: `Bearer ${token}` } })).status === 200,
    { timeoutMs: 10000, message: 'requests to be served once the heads are gone' });

  // Firebase protocol: a message announced in 100 frames, of which 48 (768 KiB) arrive, on two connections.
  const sockets = await Promise.all(Array.from({ length: 2 }, () => new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/.ws?v=5&ns=default`);
    ws.on('open', () => resolve(ws));
    ws.on('error', reject);
  })));
  t.after(() => sockets.forEach((ws) => ws.terminate()));
  const closes = sockets.map((ws) => new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) }))));
  for (const ws of sockets) {
    ws.send('100');
    for (let i = 0; i < 48; i++) ws.send('f'.repeat(16384));
  }
  const first = await within(Promise.race(closes), 10000, null);
  assert.ok(first, 'a Firebase connection was closed');
  assert.equal(first.code, 1008);
  assert.match(first.reason, /no memory left for incoming messages/);
  sockets.forEach((ws) => ws.terminate());
  assert.ok(server.running, server.log);
});
