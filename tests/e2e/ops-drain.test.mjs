// Graceful shutdown on SIGTERM (docs/operations.md#shutdown), with real clients of every door connected: readiness
// fails first while the server still serves (the shutdown delay), then new connections are refused, each client is
// told in its protocol (Firebase WebSocket: close 1001, and the SDK reconnects by itself once the server is back;
// Firebase long poll: the held poll answered with the close command; STOMP: an ERROR frame, then the close; an event
// stream ends), a request still arriving is answered, and the process exits within its bound. Every write
// acknowledged before or during the drain is there after the restart, and the onDisconnect writes of the
// connections the drain closed ran.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import WebSocket from 'ws';
import { Client } from '@stomp/stompjs';
import { onDisconnect, ref, set } from 'firebase/database';

import { curl, freePort, makeTempDir, startServer, waitFor, within } from './lib/server.mjs';
import { RawClient, recordValues, sdkClient } from './lib/fbsdk.mjs';

// A raw TCP connection that sends `request`, records what comes back, and resolves `closed` with it all.
function rawConnection(port, request) {
  const socket = net.connect(port, '127.0.0.1');
  let data = '';
  const listeners = [];
  socket.on('data', (chunk) => {
    data += chunk.toString('latin1');
    for (const listener of [...listeners]) listener();
  });
  socket.on('error', () => {});
  const closed = new Promise((resolve) => socket.on('close', () => resolve(data)));
  socket.write(request);
  // Resolves once what was received matches `pattern`.
  const received = (pattern) =>
    new Promise((resolve) => {
      const check = () => {
        if (!pattern.test(data)) return;
        listeners.splice(listeners.indexOf(check), 1);
        resolve(data);
      };
      listeners.push(check);
      check();
    });
  return { socket, closed, received };
}

// Whether a new TCP connection to `port` is refused.
function refused(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error) => resolve(error.code === 'ECONNREFUSED'));
  });
}

async function stompOverWebSocket(port) {
  const seen = { error: null, closeCode: null };
  const client = new Client({
    webSocketFactory: () => new WebSocket(`ws://127.0.0.1:${port}/stomp`, ['v12.stomp']),
    connectHeaders: { host: 'default' },
    reconnectDelay: 0,
    heartbeatIncoming: 0,
    heartbeatOutgoing: 0,
  });
  const connected = new Promise((resolve) => {
    client.onConnect = resolve;
  });
  seen.closed = new Promise((resolve) => {
    client.onWebSocketClose = (event) => {
      seen.closeCode = event.code;
      resolve();
    };
  });
  client.onStompError = (frame) => {
    seen.error = frame;
  };
  client.activate();
  await within(connected, 5000);
  client.subscribe('/acked', () => {});
  return seen;
}

async function serverOnFixedPorts(t, extraArgs) {
  const port = await freePort();
  const stompPort = await freePort();
  const args = ['--port', String(port), '--stomp-port', String(stompPort), '--data-dir', makeTempDir(), '--dev',
                ...extraArgs];
  const server = await startServer({ t, args, exactArgs: true });
  return { server, port, stompPort };
}

test('SIGTERM: not ready first, then every client told in its protocol, answers in flight written, exit in bound',
     async (t) => {
  const DELAY_MS = 2000;
  const TIMEOUT_MS = 6000;
  const { server, port, stompPort } = await serverOnFixedPorts(t, [
    '--shutdown-delay-seconds', String(DELAY_MS / 1000), '--drain-timeout-seconds', String(TIMEOUT_MS / 1000),
  ]);
  const acked = new Map(); // path -> value of every write acknowledged to its client
  for (let i = 0; i < 5; i++) {
    assert.equal((await curl(server.u(`/acked/rest${i}.json`), { method: 'PUT', body: String(i) })).status, 200);
    acked.set(`/acked/rest${i}`, i);
  }

  // The clients: the Firebase SDK (with an onDisconnect write), a raw Firebase WebSocket, STOMP over TCP and over
  // WebSocket (subscribed), an event stream, and a PUT whose body has only half arrived.
  const sdk = sdkClient(server, { ns: 'default', t });
  const connected = recordValues(ref(sdk.db, '.info/connected'));
  await connected.next((v) => v === true, { what: 'the SDK connected' });
  await onDisconnect(ref(sdk.db, 'presence/sdk')).set('offline');
  await set(ref(sdk.db, 'presence/sdk'), 'online');
  await set(ref(sdk.db, 'acked/sdk'), 'yes');
  acked.set('/acked/sdk', 'yes');
  const raw = new RawClient(server, { ns: 'default' });
  await raw.handshake;
  const stompTcp = rawConnection(stompPort, 'CONNECT\naccept-version:1.2\nhost:default\nheart-beat:0,0\n\n\0' +
                                            'SUBSCRIBE\nid:s\ndestination:/acked\n\n\0');
  await within(stompTcp.received(/^CONNECTED\n/), 5000);
  const stompWs = await stompOverWebSocket(port);
  const stream = rawConnection(port, 'GET /acked.json HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
  await within(stream.received(/event: put\n/), 5000);
  // A Firebase long-poll session (the SDK's transport without WebSockets) with an onDisconnect write and a held poll.
  const lp = (query) => fetch(`${server.url}/.lp?${query}`).then(async (r) => ({ status: r.status, body: await r.text() }));
  const lpStart = await lp('start=t&ser=1&cb=1&v=5&ns=default');
  const [, lpId, lpPassword] = lpStart.body.match(/pLPCommand\('start','(\w+)','(\w+)'\)/);
  const onDisconnectMessage = JSON.stringify({ t: 'd', d: { r: 1, a: 'o', b: { p: '/presence/lp', d: 'offline' } } });
  const segment = Buffer.from(onDisconnectMessage).toString('base64').replaceAll('+', '-').replaceAll('/', '_')
    .replaceAll('=', '.');
  const lpReply = await lp(`id=${lpId}&pw=${lpPassword}&ser=2&ns=default&seg0=0&ts0=1&d0=${segment}`);
  assert.match(lpReply.body, /"r":1,"b":\{"s":"ok"/);
  const heldPoll = lp(`id=${lpId}&pw=${lpPassword}&ser=3&ns=default`);
  const slowBody = '"arrives during the drain"';
  const slow = rawConnection(port, `PUT /acked/slow.json HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
                                   `Content-Length: ${slowBody.length}\r\n\r\n${slowBody.slice(0, 5)}`);
  // The head has arrived once the server counts... there is no answer to wait for: give it a moment to be read.
  await new Promise((resolve) => setTimeout(resolve, 200));

  const connectedAt = connected.values.lastIndexOf(true);
  const signalled = Date.now();
  server.child.kill('SIGTERM');

  // The shutdown delay: /readyz fails on a new connection, while the server still serves.
  const notReady = await curl(server.u('/readyz'));
  assert.equal(notReady.status, 503);
  assert.equal(notReady.body, '[-]shutdown failed: the server is shutting down\n[+]store default ok\nreadyz check failed\n');
  assert.equal((await curl(server.u('/livez'))).status, 200);
  assert.equal((await curl(server.u('/acked/during-delay.json'), { method: 'PUT', body: '"served"' })).status, 200);
  acked.set('/acked/during-delay', 'served');
  assert.ok(Date.now() - signalled < DELAY_MS, 'these requests fell within the shutdown delay');
  assert.equal(await refused(port), false);

  // The drain: new connections are refused on both ports while the process still runs (the slow request holds it).
  await waitFor(async () => await refused(port), { timeoutMs: DELAY_MS + 2000, message: 'new connections refused' });
  assert.ok(Date.now() - signalled >= DELAY_MS - 100, 'refused only after the shutdown delay');
  assert.equal(await refused(stompPort), true);
  assert.ok(server.running);

  // Each client is told in its protocol.
  assert.equal((await within(raw.closed, 5000)).code, 1001);
  const tcpFrames = await within(stompTcp.closed, 5000);
  assert.match(tcpFrames, /\0\n*ERROR\nmessage:server shutting down\n/, JSON.stringify(tcpFrames));
  assert.ok(tcpFrames.endsWith('\0') || tcpFrames.endsWith('\0\n'), 'the ERROR is the last frame');
  await within(stompWs.closed, 5000);
  assert.equal(stompWs.closeCode, 1001);
  assert.equal(stompWs.error?.headers.message, 'server shutting down');
  const streamed = await within(stream.closed, 5000);
  assert.notEqual(streamed, 'timeout', 'the event stream ended');
  await waitFor(() => connected.values.lastIndexOf(false) > connectedAt, { message: 'the SDK saw the disconnect' });
  const lastPoll = await within(heldPoll, 5000);
  assert.match(lastPoll.body, /pLPCommand\('close',\d+\);$/, 'the held long poll is answered with the close command');

  // The request whose body was still arriving is answered, and its connection closed after it.
  assert.ok(server.running);
  slow.socket.write(slowBody.slice(5));
  const answer = await within(slow.closed, 5000);
  assert.match(answer, /^HTTP\/1\.1 200 OK\r\n/, answer);
  assert.match(answer, /\r\nConnection: close\r\n/i);
  acked.set('/acked/slow', 'arrives during the drain');

  // The process exits on its own, cleanly, within the delay plus the drain timeout.
  const exit = await within(server.exit, DELAY_MS + TIMEOUT_MS + 2000);
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.ok(Date.now() - signalled < DELAY_MS + TIMEOUT_MS, `exited after ${Date.now() - signalled} ms`);
  assert.match(server.log, /drained in \d+ ms: every connection closed/);

  // Back on the same ports: the SDK (told nothing that stops it) reconnects by itself, and every acknowledged write
  // is there, with the onDisconnect write of the connection the drain closed.
  await server.restart();
  const falseAt = connected.values.lastIndexOf(false);
  await waitFor(() => connected.values.lastIndexOf(true) > falseAt, { timeoutMs: 15000, message: 'the SDK reconnected' });
  for (const [path, value] of acked) {
    assert.deepEqual((await curl(server.u(`${path}.json`))).json, value, path);
  }
  assert.equal((await curl(server.u('/presence/sdk.json'))).json, 'offline');
  assert.equal((await curl(server.u('/presence/lp.json'))).json, 'offline');
});

test('the drain ends at its timeout even when a client never finishes', async (t) => {
  const { server, port } = await serverOnFixedPorts(t, ['--drain-timeout-seconds', '2']);
  assert.equal((await curl(server.u('/kept.json'), { method: 'PUT', body: '1' })).status, 200);
  // A PUT whose body never completes, and a WebSocket that never answers the server's close frame.
  const stuck = rawConnection(port, 'PUT /never.json HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"a":');
  const deaf = rawConnection(port, 'GET /.ws?v=5&ns=default HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n' +
    'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  await within(deaf.received(/^HTTP\/1\.1 101 /), 5000);
  await new Promise((resolve) => setTimeout(resolve, 200));

  const signalled = Date.now();
  server.child.kill('SIGTERM');
  const exit = await within(server.exit, 6000);
  const took = Date.now() - signalled;
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.ok(took >= 1900 && took < 5000, `exited after ${took} ms`);
  assert.match(server.log, /drain timeout \(2000 ms\) reached: [0-9]+ connections still open are dropped/);
  stuck.socket.destroy();
  deaf.socket.destroy();
  await server.restart();
  assert.equal((await curl(server.u('/kept.json'))).json, 1);
});

test('a second signal during the shutdown exits at once, losing nothing acknowledged', async (t) => {
  const { server } = await serverOnFixedPorts(t, ['--shutdown-delay-seconds', '30']);
  assert.equal((await curl(server.u('/kept.json'), { method: 'PUT', body: '"before"' })).status, 200);
  server.child.kill('SIGTERM');
  await waitFor(async () => (await curl(server.u('/readyz'))).status === 503, { message: 'draining' });
  assert.equal((await curl(server.u('/during.json'), { method: 'PUT', body: '"during"' })).status, 200);
  const signalled = Date.now();
  server.child.kill('SIGTERM');
  const exit = await within(server.exit, 3000);
  assert.deepEqual(exit, { code: 1, signal: null });
  assert.ok(Date.now() - signalled < 1000);
  assert.match(server.log, /received SIGTERM during the shutdown: exiting now/);
  await server.restart();
  assert.deepEqual((await curl(server.u('/.json'))).json, { kept: 'before', during: 'during' });
});
