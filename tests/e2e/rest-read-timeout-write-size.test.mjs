// REST `timeout` (reads) and `writeSizeLimit` (writes), docs/rest.md: a real backside process driven with Node's
// fetch (bodies of over a megabyte do not fit curl's command line).
//
// How a read is made slow, honestly: a read of a large subtree takes longer than 1 ms to produce (its JSON alone is
// about 1.3 MB), and a read queued behind large writes waits for them to be applied and committed (a read sees
// every earlier write). Neither is staged; both are what the timeout is for.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, sleep } from './lib/server.mjs';

let server;

before(async () => {
  server = await startServer();
});

after(async () => {
  if (server) {
    const { code } = await server.stop();
    assert.equal(code, 0, `server exit code after SIGTERM; log:\n${server.log}`);
  }
});

const MiB = 1024 * 1024;
const WRITE_TOO_BIG = 'Data to write exceeds the maximum size that can be modified with a single request.';
const BAD_TIMEOUT = /^timeout must be a positive whole number followed by ms, s or min, at most 15min \(e\.g\. timeout=3s\), got "/;
const BAD_LIMIT = /^writeSizeLimit must be tiny, small, medium, large or unlimited, got "/;

/** `count` children of two values each; about 45 bytes of JSON per child. */
function bigObject(count, tag = 'user') {
  const out = {};
  for (let i = 0; i < count; i++) out[`k${String(i).padStart(6, '0')}`] = { name: `${tag} number ${i}`, n: i };
  return out;
}
// Over 1 MiB of JSON (export format equals plain JSON here: no priorities, no arrays): over the `tiny` bound.
const BIG = bigObject(30000);

const text = (body) => (body === undefined || typeof body === 'string' ? body : JSON.stringify(body));
const req = (method, p, body, headers) => ({ url: server.u(p), method, headers, body: text(body) });
const GET = (p, headers) => ({ url: server.u(p), headers });
const PUT = (p, body, headers) => req('PUT', p, body, headers);
const POST = (p, body, headers) => req('POST', p, body, headers);
const PATCH = (p, body, headers) => req('PATCH', p, body, headers);
const DELETE = (p, headers) => req('DELETE', p, undefined, headers);
const ETAG = { 'X-Firebase-ETag': 'true' };

function show(res) {
  return `HTTP ${res.status} ${res.body.slice(0, 300)}`;
}
const ok = (expected) => (res) => {
  assert.equal(res.status, 200, show(res));
  if (expected !== undefined) assert.deepEqual(res.json, expected, show(res));
};
const error = (status, message) => (res) => {
  assert.equal(res.status, status, show(res));
  assert.equal(res.headers['content-type'], 'application/json; charset=utf-8', show(res));
  assert.deepEqual(Object.keys(res.json ?? {}), ['error'], show(res));
  if (message instanceof RegExp) assert.match(res.json.error, message, show(res));
  else assert.equal(res.json.error, message, show(res));
};

/** One request; the response as {status, headers (lowercase names), body (text), json (or undefined)}. */
async function send({ url, method = 'GET', headers = {}, body }) {
  const res = await fetch(url, { method, headers, body });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: Object.fromEntries(res.headers), body: text, json };
}

/** The requests strictly in order; each response checked by its expectation as it comes. */
async function run(steps) {
  const responses = [];
  for (const [i, [request, expect]] of steps.entries()) {
    const res = await send(request);
    try {
      expect(res);
    } catch (e) {
      e.message = `step ${i}: ${request.method ?? 'GET'} ${request.url.slice(server.url.length)}\n${e.message}`;
      throw e;
    }
    responses.push(res);
  }
  return responses;
}

async function etagAt(p) {
  const [res] = await run([[GET(`${p}.json`, ETAG), ok()]]);
  return res.headers.etag;
}

describe('timeout on reads', { concurrency: 1 }, () => {
  test('valid timeouts read as usual, up to 15min in any unit', async () => {
    await run([
      [PUT('/t/small.json', { a: 1, b: 'two' }), ok()],
      ...['500ms', '1s', '3s', '3min', '15min', '900s', '900000ms'].map((t) => [GET(`/t/small.json?timeout=${t}`), ok({ a: 1, b: 'two' })]),
      // With the other read parameters.
      [GET('/t/small.json?timeout=1s&shallow=true'), ok({ a: true, b: true })],
      [GET(`/t/small.json?timeout=1s&orderBy=${encodeURIComponent('"$key"')}&limitToLast=1`), ok({ b: 'two' })],
      [GET('/t/small/a.json?timeout=1s&print=pretty'), ok(1)],
    ]);
    const [silent] = await run([[GET('/t/small.json?timeout=1s&print=silent'), (res) => assert.equal(res.status, 204, show(res))]]);
    assert.equal(silent.body, '');
  });

  test('invalid timeouts → 400 naming the value, nothing read; on writes too, which then change nothing', async () => {
    const invalid = ['0ms', '0s', '-1s', '16min', '901s', '900001ms', '3', 'ms', 'abc', '1.5s', '3%20s', '3S', '3m', '3h', ''];
    await run([
      [PUT('/t/inv.json', { v: 1 }), ok()],
      ...invalid.map((t) => [GET(`/t/inv.json?timeout=${t}`), error(400, BAD_TIMEOUT)]),
    ]);
    const [named] = await run([[GET('/t/inv.json?timeout=16min'), error(400, BAD_TIMEOUT)]]);
    assert.equal(named.json.error, 'timeout must be a positive whole number followed by ms, s or min, at most 15min (e.g. timeout=3s), got "16min"');
    await run([
      [PUT('/t/inv.json?timeout=soon', { v: 2 }), error(400, BAD_TIMEOUT)],
      [DELETE('/t/inv.json?timeout=0s'), error(400, BAD_TIMEOUT)],
      [PATCH('/t/inv.json?timeout=1', { w: 3 }), error(400, BAD_TIMEOUT)],
      [GET('/t/inv.json'), ok({ v: 1 })],
      // A valid timeout on a write is accepted and has nothing to bound once the write is applied.
      [PUT('/t/inv/v.json?timeout=1s', 2), ok(2)],
      [GET('/t/inv.json'), ok({ v: 2 })],
    ]);
  });

  test('a read that takes longer than its timeout gets 400 instead of its value', async () => {
    await run([[PUT('/t/big.json', BIG), ok()]]);
    // Its JSON takes well over a millisecond to produce; the same read with room to spare answers the value.
    const [late, inTime, small] = await run([
      [GET('/t/big.json?timeout=1ms'), error(400, 'The read did not finish within timeout=1ms')],
      [GET('/t/big.json?timeout=15min'), ok()],
      [GET('/t/big/k000007.json?timeout=1s'), ok({ name: 'user number 7', n: 7 })],
    ]);
    assert.equal(Object.keys(inTime.json).length, 30000);
    assert.ok(late.body.length < 200 && small.body.length < 200);
    // With the ETag asked for (a hash of the whole subtree), and on the connection that answered late (reused).
    await run([
      [GET('/t/big.json?timeout=1ms', ETAG), error(400, 'The read did not finish within timeout=1ms')],
      [GET('/t/big/k000001/n.json?timeout=1s'), ok(1)],
    ]);
  });

  test('a read waiting behind large writes is answered at its timeout, not when the writes are done', async (t) => {
    await run([[PUT('/t/waiting.json', { a: 1 }), ok()]]);
    // Three large writes queued on the database's writer (about 2 MB each: half a second or more here, together);
    // the read comes after them and would wait until all three are applied and committed.
    const bodies = [0, 1, 2].map((i) => JSON.stringify(bigObject(40000, `w${i}`)));
    const writes = bodies.map((body, i) =>
      fetch(server.u(`/t/queue/w${i}.json?print=silent`), { method: 'PUT', body }).then((res) => ({ res, at: Date.now() })),
    );
    await sleep(150); // their bodies are in and parsed: they are queued ahead of the read
    const sent = Date.now();
    const read = await fetch(server.u('/t/waiting.json?timeout=100ms'));
    const body = await read.json();
    const answered = Date.now() - sent;
    const done = await Promise.all(writes);
    for (const { res } of done) assert.equal(res.status, 204);
    const writesEnded = Math.max(...done.map(({ at }) => at)) - sent;
    const timing = `read answered after ${answered} ms with ${read.status}, the writes ended after ${writesEnded} ms`;
    t.diagnostic(timing);
    // Never later than its timeout (and some slack for a busy machine), whatever is queued ahead of it.
    assert.ok(answered < 100 + 250, timing);
    // The writes outlasted the timeout (on a machine fast enough to finish them sooner there is nothing to wait for):
    // the read is answered with the timeout's error, before they end.
    if (writesEnded > 100 + 250) {
      assert.equal(read.status, 400, timing);
      assert.deepEqual(body, { error: 'The read did not finish within timeout=100ms' });
    }
    // The writes all happened; the read with time enough answers.
    await run([
      [GET('/t/queue/w2/k000002.json'), ok({ name: 'w2 number 2', n: 2 })],
      [GET('/t/waiting.json?timeout=100ms'), ok({ a: 1 })],
      [DELETE('/t/queue.json'), ok(null)],
    ]);
  });

  test('streams: the timeout bounds the time until the stream opens, not the open stream', async () => {
    const stream = (p) => fetch(server.u(p), { headers: { Accept: 'text/event-stream' } });
    // Invalid: 400 before any stream.
    const invalid = await stream('/t/small.json?timeout=3');
    assert.equal(invalid.status, 400);
    assert.match((await invalid.json()).error, BAD_TIMEOUT);
    // The large subtree's first put takes longer than 1 ms to produce.
    const late = await stream('/t/big.json?timeout=1ms');
    assert.equal(late.status, 400);
    assert.deepEqual(await late.json(), { error: 'The read did not finish within timeout=1ms' });
    // In time: the stream opens, and stays open past its timeout, delivering changes.
    const controller = new AbortController();
    const open = await fetch(server.u('/t/live.json?timeout=300ms'), {
      headers: { Accept: 'text/event-stream' },
      signal: controller.signal,
    });
    assert.equal(open.status, 200);
    assert.equal(open.headers.get('content-type'), 'text/event-stream');
    const reader = open.body.getReader();
    const decoder = new TextDecoder();
    let received = '';
    const readUntil = async (needle) => {
      while (!received.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${needle}; got ${received}`);
        received += decoder.decode(value, { stream: true });
      }
    };
    await readUntil('event: put\ndata: {"path":"/","data":null}');
    await sleep(600);
    await run([[PUT('/t/live.json', { after: 'the timeout' }), ok()]]);
    await readUntil('data: {"path":"/","data":{"after":"the timeout"}}');
    controller.abort();
  });
});

describe('writeSizeLimit on writes', { concurrency: 1 }, () => {
  test('the test data is over the tiny bound and under the small one', () => {
    const size = JSON.stringify(BIG).length;
    assert.ok(size > 1.1 * MiB && size < 2 * MiB, `${size} bytes`);
  });

  test('tiny refuses a DELETE of a large subtree and changes nothing; small, unlimited and the default allow it', async () => {
    await run([[PUT('/w/big.json?print=silent', BIG), (res) => assert.equal(res.status, 204)]]);
    const before = await etagAt('/w/big');
    await run([
      [DELETE('/w/big.json?writeSizeLimit=tiny'), error(400, WRITE_TOO_BIG)],
      [DELETE('/w/big.json?writeSizeLimit=tiny&print=silent'), error(400, WRITE_TOO_BIG)],
      [POST('/w/big.json?writeSizeLimit=tiny', undefined, { 'X-HTTP-Method-Override': 'DELETE' }), error(400, WRITE_TOO_BIG)],
      // Replacing it with something small weighs what it replaces; so does a PATCH that removes it.
      [PUT('/w/big.json?writeSizeLimit=tiny', { small: 1 }), error(400, WRITE_TOO_BIG)],
      [PATCH('/w.json?writeSizeLimit=tiny', { big: null, other: 1 }), error(400, WRITE_TOO_BIG)],
      [PUT('/w.json?writeSizeLimit=tiny', null), error(400, WRITE_TOO_BIG)],
    ]);
    assert.equal(await etagAt('/w/big'), before, 'the refused writes changed nothing');
    await run([[GET('/w/other.json'), ok(null)]]);

    // Small writes below it, and new locations, are within tiny.
    await run([
      [PUT('/w/big/k000001.json?writeSizeLimit=tiny', { name: 'replaced', n: -1 }), ok({ name: 'replaced', n: -1 })],
      [PATCH('/w/big.json?writeSizeLimit=tiny', { 'k000002/n': -2, k000003: null }), ok({ 'k000002/n': -2, k000003: null })],
      [POST('/w/list.json?writeSizeLimit=tiny', { a: 1 }), ok()],
      [PUT('/w/big/k000004/n.json?writeSizeLimit=medium', 4), ok(4)],
      [PUT('/w/big/k000004/n.json?writeSizeLimit=large', 5), ok(5)],
    ]);

    await run([
      [DELETE('/w/big.json?writeSizeLimit=small'), ok(null)],
      [GET('/w/big.json?shallow=true'), ok(null)],
      [PUT('/w/big.json?print=silent', BIG), (res) => assert.equal(res.status, 204)],
      [DELETE('/w/big.json?writeSizeLimit=unlimited'), ok(null)],
      [GET('/w/big.json?shallow=true'), ok(null)],
      [PUT('/w/big.json?print=silent', BIG), (res) => assert.equal(res.status, 204)],
      [DELETE('/w/big.json'), ok(null)], // the default is unlimited
      [GET('/w/big.json?shallow=true'), ok(null)],
    ]);
  });

  test('a body over the bound is refused before anything is written', async () => {
    const body = JSON.stringify(bigObject(30000, 'sent'));
    await run([
      [PUT('/w/sent.json?writeSizeLimit=tiny', body), error(400, WRITE_TOO_BIG)],
      [POST('/w/sent.json?writeSizeLimit=tiny', body), error(400, WRITE_TOO_BIG)],
      [PATCH('/w/sent.json?writeSizeLimit=tiny', body), error(400, WRITE_TOO_BIG)],
      [GET('/w/sent.json'), ok(null)],
      [PUT('/w/sent.json?writeSizeLimit=small&print=silent', body), (res) => assert.equal(res.status, 204)],
      [GET('/w/sent/k000009.json'), ok({ name: 'sent number 9', n: 9 })],
    ]);
  });

  test('invalid writeSizeLimit values → 400 naming the value; nothing written; checked on reads too', async () => {
    await run([
      [PUT('/w/inv.json', { keep: true }), ok()],
      ...['huge', 'Tiny', 'TINY', '', '1s', 'none'].map((v) => [DELETE(`/w/inv.json?writeSizeLimit=${v}`), error(400, BAD_LIMIT)]),
      [PUT('/w/inv.json?writeSizeLimit=big', { keep: false }), error(400, 'writeSizeLimit must be tiny, small, medium, large or unlimited, got "big"')],
      [GET('/w/inv.json'), ok({ keep: true })],
      [GET('/w/inv.json?writeSizeLimit=nope'), error(400, BAD_LIMIT)],
      [GET('/w/inv.json?writeSizeLimit=tiny'), ok({ keep: true })],
    ]);
  });
});
