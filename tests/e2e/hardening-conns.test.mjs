// Resources a client holds without authenticating, against a production-configured server (no --dev): open
// connections are capped per client address and server-wide across every door (HTTP, WebSocket, STOMP over TCP),
// a slot comes back when its connection ends (also after an upgrade to WebSocket); long-poll sessions are capped
// per address; running out of file descriptors is logged once and serving goes on; a STOMP client flooding SENDs
// without reading its receipts is paused (its own TCP backpressure), so the server's memory stays bounded and the
// other clients of the database are answered in time, and every acknowledged write is stored.
//
// 127.0.0.1 and ::1 are exempt from the per-address cap by default (a reverse proxy on the same host presents every
// client as loopback); the tests play the foreign client from 127.0.0.2, which Linux routes over loopback too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import WebSocket from 'ws';
import { startServer, runBackside, makeTempDir, curl, parseRawResponse, sleep, waitFor, within } from './lib/server.mjs';

const FOREIGN = '127.0.0.2';

async function productionServer(t, args = []) {
  const server = await startServer({ t, dev: false, args });
  const token = fs.readFileSync(path.join(server.dataDir, 'admin-token'), 'utf8').trim();
  return { server, token };
}

/** A raw TCP connection from `localAddress`: {socket, data (latin1 so far), closed, done (resolves on close)}. */
function openRaw(port, { localAddress = '127.0.0.1', write } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress });
    const state = { socket, data: '', closed: false };
    state.done = new Promise((done) => {
      socket.on('close', () => {
        state.closed = true;
        done(state);
      });
    });
    socket.on('data', (chunk) => (state.data += chunk.toString('latin1')));
    socket.once('connect', () => {
      socket.removeListener('error', reject);
      socket.on('error', () => {});
      if (write) socket.write(write);
      resolve(state);
    });
    socket.once('error', reject);
  });
}

/** One HTTP GET from `localAddress` on a connection of its own: {status, headers, body}, or {error}. */
function getFrom(server, target, { localAddress = '127.0.0.1', headers = {} } = {}) {
  return new Promise((resolve) => {
    const request = http.get(
      { host: '127.0.0.1', port: server.port, path: target, localAddress, agent: false, headers },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode, headers: response.headers, body }));
      },
    );
    request.on('error', (error) => resolve({ error }));
  });
}

/** A WebSocket to the Firebase door from `localAddress`: {ws} once open, or {status} of a refused upgrade. */
function openWebSocket(server, { localAddress = '127.0.0.1' } = {}) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/.ws?ns=default&v=5`, { localAddress });
    ws.on('open', () => resolve({ ws }));
    ws.on('unexpected-response', (request, response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode, body }));
    });
    ws.on('error', (error) => resolve({ error }));
  });
}

/** Whether an idle raw connection is still open after `ms` (the server did not close it). */
async function stillOpen(state, ms = 300) {
  await sleep(ms);
  return !state.closed;
}

function countLines(log, pattern) {
  return log.split('\n').filter((line) => pattern.test(line)).length;
}

test('connections are capped per client address across every door; a slot comes back when its connection ends', async (t) => {
  const { server, token } = await productionServer(t, ['--max-connections-per-address', '3']);
  const held = [];
  t.after(() => held.forEach((s) => s.socket.destroy()));
  // Three connections from one address, through two doors, none of them authenticated.
  held.push(await openRaw(server.port, { localAddress: FOREIGN }));
  held.push(await openRaw(server.port, { localAddress: FOREIGN }));
  const stomp = await openRaw(server.stompPort, { localAddress: FOREIGN });
  held.push(stomp);
  for (const state of held) assert.ok(await stillOpen(state), 'the first three are served');

  // The fourth, on any door, is closed at once; HTTP says why first.
  const refused = await openRaw(server.port, { localAddress: FOREIGN });
  await within(refused.done, 3000);
  assert.ok(refused.closed, 'an HTTP connection over the cap is closed');
  const answer = parseRawResponse(refused.data);
  assert.equal(answer.status, 503, refused.data);
  assert.equal(answer.headers['retry-after'], '5');
  assert.match(JSON.parse(answer.body).error, /Too many connections open from your address/);
  const refusedWs = await openWebSocket(server, { localAddress: FOREIGN });
  assert.equal(refusedWs.status, 503, 'a WebSocket upgrade over the cap is refused');
  const refusedStomp = await openRaw(server.stompPort, {
    localAddress: FOREIGN,
    write: `CONNECT\naccept-version:1.2\nhost:default\npasscode:${token}\n\n\0`,
  });
  await within(refusedStomp.done, 3000);
  assert.ok(refusedStomp.closed, 'a STOMP connection over the cap is closed');
  assert.doesNotMatch(refusedStomp.data, /CONNECTED/);

  // Another address is not affected (127.0.0.1 is exempt by default, too).
  const admin = { Authorization: `Bearer ${token}` };
  assert.equal((await getFrom(server, '/.json', { headers: admin })).status, 200);

  // When one of the three ends, its slot is free again: here a WebSocket takes it, and keeps it after the upgrade.
  stomp.socket.destroy();
  const upgraded = await waitFor(
    async () => {
      const attempt = await openWebSocket(server, { localAddress: FOREIGN });
      return attempt.ws ? attempt : null;
    },
    { timeoutMs: 5000, intervalMs: 100, message: 'a WebSocket from the address once a slot is free' },
  );
  t.after(() => upgraded.ws.terminate());
  const overAgain = await getFrom(server, '/.json', { localAddress: FOREIGN, headers: admin });
  assert.equal(overAgain.status, 503, 'the WebSocket holds the third slot');
  upgraded.ws.terminate();
  const served = await waitFor(
    async () => {
      const attempt = await getFrom(server, '/.json', { localAddress: FOREIGN, headers: admin });
      return attempt.status === 200 ? attempt : null;
    },
    { timeoutMs: 5000, intervalMs: 100, message: 'an HTTP request from the address once the WebSocket closed' },
  );
  assert.equal(served.status, 200);
  assert.match(server.log, /refused a connection from 127\.0\.0\.2 on port \d+: 3 connections open from 127\.0\.0\.2 \(max_connections_per_address\)/);
});

test('the server-wide cap counts every address; refusals are logged rate-limited', async (t) => {
  const { server, token } = await productionServer(t, ['--max-connections', '4']);
  assert.match(server.log, /connections: at most 4 open/);
  const held = [];
  t.after(() => held.forEach((s) => s.socket.destroy()));
  for (let i = 0; i < 4; i++) held.push(await openRaw(server.port));  // loopback: exempt per address, not here
  for (const state of held) assert.ok(await stillOpen(state, 100));

  const refusals = await Promise.all(
    Array.from({ length: 30 }, async (_, i) => {
      const state = await openRaw(i % 2 ? server.stompPort : server.port, { localAddress: i % 3 ? FOREIGN : '127.0.0.1' });
      return within(state.done, 3000);
    }),
  );
  for (const state of refusals) assert.ok(state.closed, 'every connection over the server-wide cap is closed');
  const http503 = refusals.filter((s) => s.data.startsWith('HTTP/1.1 503'));
  assert.ok(http503.length > 0);
  for (const state of http503) assert.match(state.data, /Too many connections open on the server/);
  // 30 refusals within a second: one log line (the next would come 10 s later, with the count held back).
  assert.equal(countLines(server.log, /refused a connection/), 1, server.log);

  held.forEach((s) => s.socket.destroy());
  const after = await waitFor(
    async () => {
      const response = await curl(`${server.url}/.json`, { headers: { Authorization: `Bearer ${token}` } });
      return response.status === 200 ? response : null;
    },
    { timeoutMs: 5000, intervalMs: 100, message: 'service once the held connections are closed' },
  );
  assert.equal(after.status, 200);
});

test('connection_limit_exempt: "" caps loopback too; a bad address stops the start with a clear error', async (t) => {
  const { server } = await productionServer(t, ['--max-connections-per-address', '2', '--connection-limit-exempt', '']);
  const held = [await openRaw(server.port), await openRaw(server.stompPort)];
  t.after(() => held.forEach((s) => s.socket.destroy()));
  for (const state of held) assert.ok(await stillOpen(state, 100));
  const refused = await openRaw(server.port);
  await within(refused.done, 3000);
  assert.equal(parseRawResponse(refused.data).status, 503, refused.data);

  const bad = await runBackside(['serve', '--data-dir', makeTempDir(), '--connection-limit-exempt', '10.0.0.1,nope']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /Invalid value for connection_limit_exempt: "nope" is not an IP address/);
});

test('one address cannot take every long-poll session', async (t) => {
  const { server } = await productionServer(t, ['--max-connections-per-address', '3']);
  const start = (localAddress) =>
    getFrom(server, '/.lp?start=t&ser=1&cb=1&v=5&ns=default', { localAddress, headers: { Connection: 'close' } });
  const sessions = [];
  for (let i = 0; i < 3; i++) {
    const response = await start(FOREIGN);
    assert.equal(response.status, 200, response.body);
    const match = /pLPCommand\('start','([^']+)','([^']+)'\)/.exec(response.body);
    assert.ok(match, response.body);
    sessions.push({ id: match[1], pw: match[2] });
  }
  const refused = await start(FOREIGN);
  assert.equal(refused.status, 503);
  assert.match(refused.body, /Too many long-poll sessions from your address/);
  // Another address still gets one (loopback is exempt by default).
  assert.equal((await start('127.0.0.1')).status, 200);
  // When one of the address's sessions ends, it may start another.
  const { id, pw } = sessions[0];
  const left = await getFrom(server, `/.lp?disconn=t&id=${id}&pw=${pw}`, {
    localAddress: FOREIGN,
    headers: { Connection: 'close' },
  });
  assert.equal(left.status, 200);
  const again = await waitFor(
    async () => {
      const response = await start(FOREIGN);
      return response.status === 200 ? response : null;
    },
    { timeoutMs: 5000, intervalMs: 100, message: 'a long-poll session once one ended' },
  );
  assert.match(again.body, /pLPCommand\('start'/);
  assert.match(server.log, /long-poll connection from 127\.0\.0\.2 refused: 3 sessions open from that address/);
});

test('out of file descriptors: logged once per incident, existing connections served, then accepting again', async (t) => {
  // An explicit cap above what fits, so that accept itself fails (the default cap would refuse first).
  const { server, token } = await productionServer(t, ['--max-connections', '10000']);
  const open = fs.readdirSync(`/proc/${server.pid}/fd`).length;
  const limit = open + 24;
  execFileSync('prlimit', ['--pid', String(server.pid), `--nofile=${limit}:${limit}`]);
  const admin = `Authorization: Bearer ${token}\r\n`;
  // A connection made before the descriptors run out, used after.
  const early = await openRaw(server.port);
  const crowd = [];
  t.after(() => crowd.forEach((s) => s.socket.destroy()));
  for (let i = 0; i < 40; i++) crowd.push(await openRaw(i % 2 ? server.stompPort : server.port));
  await waitFor(() => /accept failed/.test(server.log), { timeoutMs: 5000, message: 'an accept failure' });
  await sleep(1500);  // 15 retries at 100 ms
  assert.equal(countLines(server.log, /accept failed/), 1, `one line for the incident, not one per retry:\n${server.log}`);
  assert.match(server.log, /accept failed on port \d+: Too many open files/);

  // The connections it has are served meanwhile.
  early.socket.write(`GET /.json HTTP/1.1\r\nHost: x\r\n${admin}\r\n`);
  await waitFor(() => early.data.includes('\r\n\r\n'), { timeoutMs: 5000, message: 'an answer on an open connection' });
  assert.equal(parseRawResponse(early.data).status, 200, early.data);

  // Descriptors come back: the server accepts again by itself and says so.
  crowd.forEach((s) => s.socket.destroy());
  await waitFor(() => /accepting connections on port \d+ again/.test(server.log), {
    timeoutMs: 5000,
    message: 'the recovery line',
  });
  const after = await curl(`${server.url}/.json`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(after.status, 200);
  assert.ok(server.running);
});

function rssKiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}

/** The RECEIPT frames in `data`: [{id, status}]. */
function receipts(data) {
  const list = [];
  for (const frame of data.split('\0')) {
    const text = frame.replace(/^\n+/, '');
    if (!text.startsWith('RECEIPT\n')) continue;
    const id = /\nreceipt-id:([^\n]*)/.exec(text)?.[1];
    const status = /\nstatus:([^\n]*)/.exec(text)?.[1];
    list.push({ id, status });
  }
  return list;
}

test('a STOMP client flooding SENDs without reading is paused: memory bounded, others answered, acknowledged writes stored', async (t) => {
  const { server, token } = await productionServer(t);
  const connect = `CONNECT\naccept-version:1.2\nhost:default\npasscode:${token}\n\n\0`;
  const flooder = await openRaw(server.stompPort, { write: connect });
  const other = await openRaw(server.stompPort, { write: connect });
  t.after(() => {
    flooder.socket.destroy();
    other.socket.destroy();
  });
  await waitFor(() => flooder.data.includes('CONNECTED') && other.data.includes('CONNECTED'), {
    message: 'both STOMP sessions connected',
  });
  flooder.socket.pause();  // from now on the flooder reads nothing: its receipts pile up on the server's side
  flooder.data = '';
  const baseline = rssKiB(server.pid);

  // 40,000 SENDs of 4 KiB (160 MB), over 100 locations, written as fast as the socket takes them.
  const count = 40000;
  const keys = 100;
  const pad = 'x'.repeat(4000);
  const frame = (i) =>
    `SEND\ndestination:/flood/k${i % keys}\ncontent-type:application/json\nreceipt:${i}\n\n{"i":${i},"pad":"${pad}"}\0`;
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssKiB(server.pid));
  }, 20);
  t.after(() => clearInterval(sampler));
  let flooding = true;
  const flood = (async () => {
    for (let i = 0; i < count; i += 250) {
      let batch = '';
      for (let j = i; j < Math.min(count, i + 250); j++) batch += frame(j);
      if (!flooder.socket.write(batch)) await new Promise((resolve) => flooder.socket.once('drain', resolve));
    }
    flooding = false;
  })();

  // Meanwhile another client of the same database writes and waits for each receipt.
  const latencies = [];
  let n = 0;
  while (flooding && n < 200) {
    const before = other.data.length;
    const started = Date.now();
    other.socket.write(`SEND\ndestination:/other/v\ncontent-type:application/json\nreceipt:o${n}\n\n${n}\0`);
    const id = `receipt-id:o${n}`;
    await waitFor(() => other.data.indexOf(id, before) >= 0, { timeoutMs: 20000, intervalMs: 5, message: id });
    latencies.push(Date.now() - started);
    n++;
    await sleep(50);
  }
  await within(flood, 120000);
  clearInterval(sampler);
  assert.equal(flooding, false, 'the flood was written in the end');
  assert.ok(latencies.length >= 3, `the other client was measured during the flood (${latencies.length} writes)`);
  // With the credit the other client waits behind at most 1000 of the flood's SENDs (about 0.3 s here); without the
  // count bound (only the 64 MiB one) it waited about 2 s.
  const slowest = Math.max(...latencies);
  assert.ok(slowest < 1500, `the other client's writes were answered in time while the flood went on: ${latencies}`);
  const grownMiB = (peak - baseline) / 1024;
  assert.ok(grownMiB < 100, `the server read the flood as it wrote it, not all at once: +${grownMiB.toFixed(0)} MiB`);

  // The flooder reads again: every SEND gets its receipt; every acknowledged write is there, the latest per location.
  flooder.socket.resume();
  await waitFor(() => receipts(flooder.data).length >= count || flooder.closed, {
    timeoutMs: 60000,
    intervalMs: 50,
    message: 'the flood\'s receipts',
  });
  const got = receipts(flooder.data);
  assert.equal(got.length, count, 'a receipt for every SEND');
  const latest = new Map();
  for (const { id, status } of got) {
    assert.equal(status, 'ok', `receipt ${id}`);
    const i = Number(id);
    const key = `k${i % keys}`;
    latest.set(key, Math.max(latest.get(key) ?? -1, i));
  }
  const stored = JSON.parse(
    (await curl(`${server.url}/flood.json`, { headers: { Authorization: `Bearer ${token}` } })).body,
  );
  for (const [key, i] of latest) assert.equal(stored[key]?.i, i, `/flood/${key} holds the last acknowledged write`);
  assert.equal(Object.keys(stored).length, keys);
});

test('no door holds a silent connection: HTTP request and keep-alive deadlines, a WebSocket without a message', async (t) => {
  const { server, token } = await productionServer(t, [
    '--request-timeout-seconds', '2',
    '--websocket-idle-seconds', '2',
  ]);
  const started = Date.now();
  // Nothing sent at all.
  const silent = await openRaw(server.port, { localAddress: FOREIGN });
  // A request head trickled one byte at a time (each byte well within any per-read timeout).
  const trickle = await openRaw(server.port, { localAddress: FOREIGN, write: 'GET /.json HTTP/1.1\r\nHost: x\r\n' });
  const trickler = setInterval(() => trickle.socket.write('X'), 200);
  t.after(() => clearInterval(trickler));
  // A keep-alive connection after its answer.
  const kept = await openRaw(server.port, {
    localAddress: FOREIGN,
    write: `GET /.json HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`,
  });
  // A Firebase WebSocket whose client answers pings (ws does) but never sends a message.
  const quiet = await openWebSocket(server, { localAddress: FOREIGN });
  assert.ok(quiet.ws, 'the WebSocket opened');
  const quietClosed = new Promise((resolve) => quiet.ws.on('close', (code) => resolve({ code, at: Date.now() })));
  // A STOMP-over-WebSocket client that connected (a message) and then stays silent but answers pings.
  const stomp = new WebSocket(`ws://127.0.0.1:${server.port}/stomp`, ['v12.stomp'], { localAddress: FOREIGN });
  let stompClosed = false;
  stomp.on('close', () => (stompClosed = true));
  stomp.on('error', () => {});
  await new Promise((resolve) => stomp.on('open', resolve));
  stomp.send(`CONNECT\naccept-version:1.2\nhost:default\nheart-beat:0,0\npasscode:${token}\n\n\0`);
  t.after(() => stomp.terminate());

  for (const [name, state] of [['silent', silent], ['trickling', trickle], ['keep-alive', kept]]) {
    await within(state.done, 8000);
    assert.ok(state.closed, `the ${name} HTTP connection was closed`);
  }
  assert.ok(Date.now() - started >= 1500, 'not before the deadline');
  assert.match(kept.data, /^HTTP\/1\.1 200/, 'the kept connection got its answer first');
  clearInterval(trickler);
  const closed = await within(quietClosed, 8000);
  assert.notEqual(closed, 'timeout', 'the WebSocket without a message was closed');
  assert.equal(closed.code, 1008);
  await sleep(Math.max(0, started + 5000 - Date.now()));
  assert.equal(stompClosed, false, 'a WebSocket that sent a message and answers pings stays open');
});
