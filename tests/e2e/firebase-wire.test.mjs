// The Firebase wire protocol at the frame level, with a raw WebSocket: handshake, ping/pong,
// ordering of pushes and replies, tags, unlisten, get, auth, frame splitting both ways, and bad input (malformed
// frames, unknown actions, invalid paths, oversized messages) answered with a clear status or a clean close while
// the server and other clients carry on.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, curl, waitFor } from './lib/server.mjs';
import WebSocket from 'ws';

import { RawClient } from './lib/fbsdk.mjs';
import { firebaseHash } from './lib/firebase.mjs';

let server;
const NS = 'demo-wire';

before(async () => {
  server = await startServer();
});

after(async () => {
  if (server) {
    const { code } = await server.stop();
    assert.equal(code, 0, `server exit code after SIGTERM; log:\n${server.log}`);
  }
});

function client(options = {}) {
  return new RawClient(server, { ns: NS, ...options });
}

const rest = async (p, init = {}) => (await curl(server.u(`${p}.json?ns=${NS}`), init)).json;

/** A JWT with `alg: none`, as connectDatabaseEmulator's mockUserToken produces. */
function unsignedJwt(claims) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'none', type: 'JWT' })}.${b64(claims)}.`;
}

describe('firebase wire protocol', () => {
  test('handshake: control h with ts, v, h, s immediately after the upgrade; every frame is JSON, never a bare 0', async () => {
    const c = client();
    const before = Date.now();
    const h = await c.handshake;
    assert.equal(h.v, '5');
    assert.equal(typeof h.ts, 'number');
    assert.ok(h.ts >= before - 2000 && h.ts <= Date.now() + 2000);
    assert.equal(h.h, `127.0.0.1:${server.port}`);
    assert.match(h.s, /^[A-Za-z0-9]{32}$/);
    const other = client();
    assert.notEqual((await other.handshake).s, h.s, 'session ids differ');
    assert.deepEqual(c.messages[0], { t: 'c', d: { t: 'h', d: h } });
    await c.close();
    await other.close();
  });

  test('ping gets a pong; stats and keepalive frames are accepted', async () => {
    const c = client();
    await c.handshake;
    await c.send('0'); // keepalive: ignored
    await c.send({ t: 'c', d: { t: 'p', d: {} } });
    await c.waitFor((m) => m.t === 'c' && m.d.t === 'o');
    const { reply } = await c.request('s', { c: { 'sdk.node.12-19-0': 1 } });
    assert.deepEqual(reply, { s: 'ok', d: '' });
    for (const frame of c.frames) {
      assert.ok(frame.length > 6 || Number.isNaN(Number(frame)) || Number(frame) >= 2, `bad frame ${frame}`);
    }
    await c.close();
  });

  test('listen: data push before ok; writes push to listeners before their ok; tags; unlisten stops pushes', async () => {
    await rest('/w/list', { method: 'PUT', body: JSON.stringify({ a: { n: 1 }, b: { n: 2 }, c: { n: 3 } }) });
    const c = client();
    await c.handshake;
    const plain = await c.request('q', { p: '/w/list', h: '' });
    assert.deepEqual(plain.reply, { s: 'ok', d: {} });
    const initial = c.messages[plain.index - 1];
    assert.deepEqual(initial, { t: 'd', d: { a: 'd', b: { p: 'w/list', d: { a: { n: 1 }, b: { n: 2 }, c: { n: 3 } } } } });

    const q = { sp: 2, sin: true, l: 1, vf: 'l', i: 'n' };
    const tagged = await c.request('q', { p: '/w/list', q, t: 7, h: '' });
    assert.deepEqual(tagged.reply, { s: 'ok', d: {} });
    assert.deepEqual(c.messages[tagged.index - 1].d, { a: 'd', b: { p: 'w/list', d: { b: { n: 2 } }, t: 7 } });

    // The client's own write: every push it causes precedes its ok.
    const from = c.messages.length;
    const write = await c.request('p', { p: '/w/list/b/n', d: 10 });
    assert.deepEqual(write.reply, { s: 'ok', d: '' });
    const pushes = c.messages.slice(from, write.index).map((m) => m.d);
    assert.deepEqual(pushes.find((p) => p.b.t === undefined), { a: 'd', b: { p: 'w/list/b/n', d: 10 } });
    // The window (n >= 2, first 1) held b (2); now c (3) comes first: b leaves, c enters, in one tagged merge.
    assert.deepEqual(pushes.find((p) => p.b.t === 7), { a: 'm', b: { p: 'w/list', d: { b: null, c: { n: 3 } }, t: 7 } });

    // Hash: a listen with the hash of the current value gets no data push, just ok; a stale hash gets the data.
    const same = await c.request('q', { p: '/w/list/a', h: firebaseHash({ n: 1 }) });
    assert.deepEqual(same.reply, { s: 'ok', d: {} });
    assert.notEqual(c.messages[same.index - 1].d.b?.p, 'w/list/a');
    const stale = await c.request('q', { p: '/w/list/c', h: firebaseHash({ n: 99 }) });
    assert.deepEqual(c.messages[stale.index - 1].d, { a: 'd', b: { p: 'w/list/c', d: { n: 3 } } });

    // Unlisten both: no more pushes.
    assert.deepEqual((await c.request('n', { p: '/w/list' })).reply, { s: 'ok', d: '' });
    assert.deepEqual((await c.request('n', { p: '/w/list', q, t: 7 })).reply, { s: 'ok', d: '' });
    const quiet = c.messages.length;
    await rest('/w/list/c/n', { method: 'PUT', body: '0' });
    const ping = await c.request('g', { p: '/w/list/c/n', q: {} }); // ordered after the REST write
    assert.deepEqual(ping.reply, { s: 'ok', d: 0 });
    const leaked = c.messages.slice(quiet).filter((m) => m.d.r === undefined && (m.d.b.p === 'w/list' || m.d.b.t === 7));
    assert.deepEqual(leaked, []);
    await c.close();
  });

  test('get with and without a query; merges and datastale', async () => {
    const c = client();
    await c.handshake;
    await c.request('p', { p: '/w/g', d: { x: { '.value': 1, '.priority': 2 }, y: 2, z: 3 } });
    assert.deepEqual((await c.request('g', { p: '/w/g', q: {} })).reply, {
      s: 'ok', d: { x: { '.value': 1, '.priority': 2 }, y: 2, z: 3 },
    });
    assert.deepEqual((await c.request('g', { p: '/w/g', q: { i: '.value', sp: 2, sin: true } })).reply, {
      s: 'ok', d: { y: 2, z: 3 },
    });
    assert.deepEqual((await c.request('g', { p: '/w/missing', q: {} })).reply, { s: 'ok', d: null });
    assert.deepEqual((await c.request('m', { p: '/w/g', d: { y: null, 'x/.priority': 9, 'n/deep': true } })).reply, { s: 'ok', d: '' });
    assert.deepEqual(await (await curl(server.u(`/w/g.json?ns=${NS}&format=export`))).json, {
      x: { '.value': 1, '.priority': 9 }, z: 3, n: { deep: true },
    });
    const stale = await c.request('p', { p: '/w/g/z', d: 4, h: firebaseHash(2) });
    assert.deepEqual(stale.reply, { s: 'datastale', d: 'Transaction hash does not match' });
    assert.equal(await rest('/w/g/z'), 3);
    const fresh = await c.request('p', { p: '/w/g/z', d: 4, h: firebaseHash(3) });
    assert.deepEqual(fresh.reply, { s: 'ok', d: '' });
    assert.equal(await rest('/w/g/z'), 4);
    // A transaction on an absent location uses the empty hash.
    assert.deepEqual((await c.request('p', { p: '/w/g/new', d: 1, h: '' })).reply, { s: 'ok', d: '' });
    await c.close();
  });

  test('auth, gauth and unauth are answered', async () => {
    const c = client();
    await c.handshake;
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const token = unsignedJwt({ iss: 'x', aud: 'demo', iat: 1, exp, sub: 'alice', user_id: 'alice', firebase: { sign_in_provider: 'custom' } });
    const auth = await c.request('auth', { cred: token });
    assert.equal(auth.reply.s, 'ok');
    assert.equal(auth.reply.d.auth.uid, 'alice');
    assert.equal(auth.reply.d.auth.provider, 'custom');
    assert.equal(auth.reply.d.expires, exp);
    assert.deepEqual((await c.request('auth', { cred: 'garbage' })).reply, { s: 'invalid_token', d: 'Could not parse auth token.' });
    const owner = await c.request('gauth', { cred: 'owner' });
    assert.equal(owner.reply.s, 'ok');
    assert.equal(owner.reply.d.admin, true);
    assert.deepEqual((await c.request('unauth', {})).reply, { s: 'ok', d: '' });
    await c.close();
  });

  test('messages larger than one frame are split both ways', async () => {
    const c = client();
    await c.handshake;
    const value = 'é€'.repeat(40000); // 200 KB of UTF-8, 80000 UTF-16 units
    const message = JSON.stringify({ t: 'd', d: { r: 1, a: 'p', b: { p: '/w/big', d: value } } });
    c.nextR = 2;
    const pieces = [];
    for (let i = 0; i < message.length; i += 16384) pieces.push(message.slice(i, i + 16384));
    await c.send(String(pieces.length));
    for (const piece of pieces) await c.send(piece);
    await c.waitFor((m) => m.d?.r === 1 && m.d.b.s === 'ok');
    assert.equal(await rest('/w/big'), value);
    const framesBefore = c.frames.length;
    const got = await c.request('g', { p: '/w/big', q: {} });
    assert.equal(got.reply.d, value);
    const frames = c.frames.slice(framesBefore);
    const count = Number(frames[0]);
    assert.ok(count >= 2, `expected a count frame, got ${frames[0].slice(0, 20)}`);
    assert.equal(frames.length, count + 1);
    for (const f of frames.slice(1)) assert.ok(Buffer.byteLength(f) <= 16384, `frame of ${Buffer.byteLength(f)} bytes`);
    await c.close();
  });

  test('bad input: clear statuses for bad requests; clean closes for bad frames; others unaffected', async () => {
    const bystander = client();
    await bystander.handshake;
    await bystander.request('q', { p: '/w/bystander', h: '' });

    const c = client();
    await c.handshake;
    const unknown = await c.request('zz', { p: '/x' });
    assert.equal(unknown.reply.s, 'invalid_request');
    assert.match(unknown.reply.d, /Unknown action "zz"/);
    const badPath = await c.request('p', { p: '/a/b[c]', d: 1 });
    assert.equal(badPath.reply.s, 'invalid_request');
    assert.match(badPath.reply.d, /b\[c\]/);
    assert.equal((await c.request('q', { p: 42 })).reply.s, 'invalid_request');
    assert.equal((await c.request('m', { p: '/x', d: 5 })).reply.s, 'invalid_request');
    assert.equal((await c.request('p', { p: '/x', d: { 'bad.key': 1 } })).reply.s, 'invalid_request');
    assert.equal((await c.request('p', { p: '/x', d: { '.sv': 'nonsense' } })).reply.s, 'invalid_request');
    assert.equal((await c.request('q', { p: '/x', q: { l: -1, vf: 'l' }, t: 1 })).reply.s, 'invalid_request');
    assert.equal((await c.request('o', { p: '/x', d: { 'a$': 1 } })).reply.s, 'invalid_request');
    assert.equal((await c.request('m', { p: '/x', d: { a: 1, 'a/b': 2 } })).reply.s, 'invalid_request');
    // Still working after all that.
    assert.deepEqual((await c.request('p', { p: '/w/after', d: 'fine' })).reply, { s: 'ok', d: '' });
    // Nothing was half-written.
    assert.equal(await rest('/x'), null);

    // Malformed JSON: an error control message, then a close with 1002.
    const bad = client();
    await bad.handshake;
    await bad.send('{"t":"d","d":{"r":1,');
    const closed = await bad.closed;
    assert.equal(closed.code, 1002);
    assert.match(closed.reason, /Malformed/);
    assert.ok(bad.messages.some((m) => m.t === 'c' && m.d.t === 'e'));

    // A message over the limit (16 MB): closed with 1009 (too big).
    const huge = client();
    await huge.handshake;
    const piece = 'x'.repeat(1 << 20);
    await huge.send('20');
    for (let i = 0; i < 20; i++) huge.ws.readyState === 1 && huge.ws.send(piece);
    assert.equal((await huge.closed).code, 1009);

    // One WebSocket frame over the limit: the WebSocket layer sends a 1009 close and drops the connection; the
    // client, still sending, may see the reset (1006) before that close frame.
    const frame = client();
    await frame.handshake;
    await frame.send('{"t":"d","d":{"r":1,"a":"p","b":{"p":"/x","d":"' + 'y'.repeat(17 << 20) + '"}}}');
    assert.ok([1009, 1006].includes((await frame.closed).code));
    await waitFor(() => /a message exceeded the limit of 16777216 bytes/.test(server.log), { message: 'the log line' });

    // Not a WebSocket upgrade, and an unknown WebSocket path.
    assert.equal((await curl(server.u('/.ws?v=5'))).status, 400);
    const status = await new Promise((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/nowhere`);
      ws.on('unexpected-response', (req, res) => resolve(res.statusCode));
      ws.on('open', () => resolve('opened'));
      ws.on('error', () => {});
    });
    assert.equal(status, 404);

    // The bystander is unaffected and sees new writes.
    const from = bystander.messages.length;
    await rest('/w/bystander', { method: 'PUT', body: '"still here"' });
    await bystander.waitFor((m) => m.d?.b?.p === 'w/bystander' && m.d.b.d === 'still here', { from });
    await bystander.close();
    await c.close();
  });

  test('a flood of requests is paced (reading pauses while 100 are unanswered); every reply comes, in order', async () => {
    // A low bound, so that the flood outruns the answers whatever the disk's speed (with the default 1000 a fast
    // disk answers the flood as it arrives and reading never needs to pause).
    const flooded = await startServer({ args: ['--log-level', 'debug', '--max-pending-requests', '100'] });
    try {
      const flooder = new RawClient(flooded, { ns: 'flood' });
      await flooder.handshake;
      const count = 20000;
      const payload = 'x'.repeat(200);
      for (let r = 1; r <= count; r++) {
        flooder.ws.send(JSON.stringify({ t: 'd', d: { r, a: 'p', b: { p: `/flood/k${r % 500}`, d: { r, payload } } } }));
      }
      // Another client is served meanwhile.
      const other = new RawClient(flooded, { ns: 'flood' });
      assert.equal((await other.request('p', { p: '/other', d: 1 })).reply.s, 'ok');
      await flooder.waitFor((m) => m.t === 'd' && m.d.r === count, { timeoutMs: 120000 });
      const replies = flooder.messages.filter((m) => m.t === 'd' && m.d.r !== undefined);
      assert.equal(replies.length, count);
      replies.forEach((m, i) => {
        assert.equal(m.d.r, i + 1);
        assert.equal(m.d.b.s, 'ok');
      });
      assert.match(flooded.log, /requests unanswered, reading paused/);
      const last = await curl(flooded.u('/flood/k0.json?ns=flood'));
      assert.equal(last.json.r, 20000);
      flooder.close();
      other.close();
    } finally {
      await flooded.stop();
    }
  });

  test('unknown namespace names are refused with a shutdown message', async () => {
    const c = new RawClient(server, { ns: 'bad name!' });
    const message = await c.waitFor((m) => m.t === 'c' && m.d.t === 's');
    assert.match(message.d.d, /bad name!/);
    assert.equal((await c.closed).code, 1008);
  });
});
