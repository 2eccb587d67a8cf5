// Replies never carry tree data past .read: a client that may write but not read /secret learns
// nothing of its value from an echo, an ETag, a failed precondition or a receipt, through REST (curl), the
// Firebase protocol (raw WebSocket) and STOMP (raw TCP). Production configuration: rules from a file, no --dev.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import WebSocket from 'ws';

import { startServer, curl, curlBatch, makeTempDir } from './lib/server.mjs';
import { stompExchange, frameHeaders } from './lib/raw-stomp.mjs';

const RULES = '{"rules": {"secret": {".read": false, ".write": true}, "open": {".read": true, ".write": true}}}';
const PIN = '4711-never-shown';

/** Sends Firebase protocol requests on one raw WebSocket; resolves to the replies' bodies by request number. */
function firebaseRequests(server, requests) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${server.port}/.ws?v=5&ns=default`);
    const replies = new Map();
    const all = [];
    socket.on('message', (data) => {
      const text = data.toString();
      all.push(text);
      if (/^\d+$/.test(text)) return; // a frame count
      const message = JSON.parse(text);
      if (message.t === 'c' && message.d.t === 'h') {
        for (const [r, a, b] of requests) socket.send(JSON.stringify({ t: 'd', d: { r, a, b } }));
        return;
      }
      if (message.t === 'd' && message.d.r !== undefined) replies.set(message.d.r, message.d.b);
      if (replies.size === requests.length) {
        socket.close();
        resolve({ replies, all: all.join('\n') });
      }
    });
    socket.on('error', reject);
  });
}

describe('write replies respect .read', () => {
  let server;
  let admin;
  const seed = () =>
    curl(server.u(`/secret.json?auth=${admin}`), { method: 'PUT', body: JSON.stringify({ pin: PIN, n: 7340 }) });

  before(async () => {
    const dir = makeTempDir();
    const rulesFile = path.join(dir, 'rules.json');
    fs.writeFileSync(rulesFile, RULES);
    server = await startServer({ dev: false, args: ['--rules', rulesFile] });
    admin = fs.readFileSync(path.join(server.dataDir, 'admin-token'), 'utf8').trim();
  });
  after(async () => {
    assert.equal((await server.stop()).code, 0);
  });

  test('REST: echoes, ETags and failed preconditions show nothing of /secret', async () => {
    assert.equal((await seed()).status, 200);
    const etag = { 'X-Firebase-ETag': 'true' };
    const replies = await curlBatch([
      { url: server.u('/.json'), method: 'PATCH', body: '{"secret/pin/.priority": 1}' },
      { url: server.u('/secret.json'), method: 'PATCH', body: '{"pin/.priority": 2}', headers: etag },
      { url: server.u('/secret/pin/.priority.json'), method: 'PUT', body: '3', headers: etag },
      { url: server.u('/secret/n.json'), method: 'PUT', body: '{".sv": {"increment": 1}}', headers: etag },
      { url: server.u('/secret.json'), method: 'POST', body: '"pushed"', headers: etag },
      { url: server.u('/secret/pin.json'), method: 'PUT', body: '"guess"', headers: { 'If-Match': 'wrong' } },
      { url: server.u('/secret/pin.json'), method: 'PUT', body: '"guess"', headers: { 'If-Match': 'null_etag' } },
      { url: server.u('/secret/n.json'), method: 'DELETE', headers: { 'If-Match': 'wrong' } },
      { url: server.u('/secret/other.json'), method: 'PUT', body: '{"x":1}', headers: etag },
    ]);
    for (const [i, reply] of replies.entries()) {
      const everything = reply.headerList.map(([k, v]) => `${k}: ${v}`).join('\n') + reply.body;
      assert.ok(!everything.includes(PIN), `request ${i} shows the pin: ${everything}`);
      assert.ok(!everything.includes('7341'), `request ${i} shows the incremented value: ${everything}`);
      assert.equal(reply.headers.etag, undefined, `request ${i} has an ETag: ${everything}`);
    }
    // The echo is what the client sent.
    assert.deepEqual(replies[0].json, { 'secret/pin/.priority': 1 });
    assert.deepEqual(replies[1].json, { 'pin/.priority': 2 });
    assert.equal(replies[2].json, 3);
    assert.deepEqual(replies[3].json, { '.sv': { increment: 1 } });
    assert.match(replies[4].json.name, /^[-\w]{20}$/);
    for (const i of [5, 6, 7]) {
      assert.equal(replies[i].status, 401, `a conditional write needs read access: ${replies[i].body}`);
      assert.match(replies[i].json.error, /conditional write .* needs read access to \/secret/);
    }
    assert.deepEqual(replies[8].json, { x: 1 });
    // The writes happened; the refused ones did not.
    const stored = await curl(server.u(`/secret.json?auth=${admin}&format=export`));
    assert.equal(stored.json.pin['.value'], PIN);
    assert.equal(stored.json.pin['.priority'], 3);
    assert.equal(stored.json.n, 7341);
  });

  test('REST: a client that may read still gets the resolved echo, its ETag and the current value on 412', async () => {
    const [put, stale, patch] = await curlBatch([
      { url: server.u('/open/v.json'), method: 'PUT', body: '{".sv": {"increment": 5}}', headers: { 'X-Firebase-ETag': 'true' } },
      { url: server.u('/open/v.json'), method: 'PUT', body: '1', headers: { 'If-Match': 'wrong' } },
      { url: server.u('/open.json'), method: 'PATCH', body: '{"v/.priority": 7}' },
    ]);
    assert.equal(put.json, 5);
    assert.ok(put.headers.etag && put.headers.etag !== 'null_etag', JSON.stringify(put.headers));
    assert.deepEqual(patch.json, { 'v/.priority': 7 }, 'a priority key echoes the priority, not the node');
    assert.equal(stale.status, 412);
    assert.equal(stale.json, 5);
    assert.equal(stale.headers.etag, put.headers.etag);
  });

  test('Firebase protocol: a transaction on an unreadable location is permission_denied, not datastale', async () => {
    assert.equal((await seed()).status, 200);
    const { replies, all } = await firebaseRequests(server, [
      [1, 'p', { p: '/secret/pin', d: 'guess', h: 'wrong' }],
      [2, 'p', { p: '/secret/pin', d: 'guess', h: '' }],
      [3, 'm', { p: '/', d: { 'secret/pin/.priority': 1 } }],
      [4, 'p', { p: '/secret/n', d: { '.sv': { increment: 1 } } }],
    ]);
    assert.equal(replies.get(1).s, 'permission_denied', JSON.stringify(replies.get(1)));
    assert.equal(replies.get(2).s, 'permission_denied');
    assert.equal(replies.get(3).s, 'ok');
    assert.equal(replies.get(4).s, 'ok');
    assert.ok(!all.includes(PIN), all);
    assert.ok(!all.includes('7341'), all);
  });

  test('STOMP: receipts carry no etag and no current value for an unreadable location', async () => {
    assert.equal((await seed()).status, 200);
    const send = (receipt, headers, body) =>
      `SEND\ndestination:/secret/pin\nreceipt:${receipt}\n${headers}content-type:application/json\n\n${body}\0`;
    const { frames } = await stompExchange(
      server.stompPort,
      'CONNECT\naccept-version:1.2\nhost:default\n\n\0' +
        send('r1', 'if-match:wrong\n', '"guess"') +
        send('r2', 'if-match:null_etag\n', '"guess"') +
        send('r3', '', '"overwritten"') +
        `SEND\ndestination:/secret\nreceipt:r4\nmethod:update\n\n{"pin/.priority": 1}\0` +
        `SEND\ndestination:/secret/n\nreceipt:r5\n\n{".sv": {"increment": 1}}\0`,
      { frames: 6 },
    );
    assert.match(frames[0], /^CONNECTED\n/);
    const receipts = frames.slice(1).map((frame) => Object.fromEntries(frameHeaders(frame)));
    assert.deepEqual(receipts.map((r) => r['receipt-id']), ['r1', 'r2', 'r3', 'r4', 'r5']);
    assert.deepEqual(receipts.map((r) => r.status), ['permission_denied', 'permission_denied', 'ok', 'ok', 'ok']);
    for (const r of receipts) assert.equal(r.etag, undefined, JSON.stringify(r));
    const wire = frames.join('\n');
    assert.ok(!wire.includes(PIN), wire);
    assert.ok(!wire.includes('7341'), wire);
  });
});
