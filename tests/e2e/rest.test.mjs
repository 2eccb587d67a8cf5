// REST API end to end (§5): a real backside process driven by the real curl binary.
//
// Requests are described with GET/PUT/POST/PATCH/DELETE(...) and executed by `run(steps)`: one curl process
// performs the steps strictly in order (starting a process costs tens of ms here), then every step's expectation
// is checked: a plain value means "200, JSON content type, CORS header, body equals this value"; a function gets
// the response. Tests use disjoint paths and run concurrently.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';

import { startServer, curl, curlBatch, rawExchange, parseRawResponse, sleep } from './lib/server.mjs';
import { etagOf, pushIdTime, PUSH_CHARS } from './lib/firebase.mjs';

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

const JSON_TYPE = 'application/json; charset=utf-8';
const INVALID_JSON = "Invalid data; couldn't parse JSON object, array, or value.";
/** URL-encoded JSON, as the Firebase REST docs and SDK send query values. */
const J = (value) => encodeURIComponent(JSON.stringify(value));
/** URL-encoded raw text. */
const E = encodeURIComponent;

const text = (body) => (body === undefined || typeof body === 'string' ? body : JSON.stringify(body));
const request = (method, p, body, headers) => ({ url: server.u(p), method, headers, body: text(body) });
// A string body is sent as is (raw text); anything else is sent as its JSON.
const GET = (p, headers) => ({ url: server.u(p), headers });
const PUT = (p, body, headers) => request('PUT', p, body, headers);
const POST = (p, body, headers) => request('POST', p, body, headers);
const PATCH = (p, body, headers) => request('PATCH', p, body, headers);
const DELETE = (p, headers) => request('DELETE', p, undefined, headers);
/** PUT of a JSON value (also strings: seed(p, 'text') stores the string "text"). */
const SEED = (p, value) => request('PUT', p, JSON.stringify(value));

function show(res) {
  return `HTTP ${res.status} ${JSON.stringify(res.headers)} ${res.body.slice(0, 400)}`;
}

/** 200 (or `status`), JSON content type, CORS header, body parses to `expected`. */
function assertJson(res, expected, status = 200) {
  assert.equal(res.status, status, show(res));
  assert.equal(res.headers['content-type'], JSON_TYPE, show(res));
  assert.equal(res.headers['access-control-allow-origin'], '*', show(res));
  assert.notEqual(res.json, undefined, `body is not JSON: ${show(res)}`);
  assert.deepEqual(res.json, expected, show(res));
}

/** An error reply: `status`, JSON content type, body exactly {"error": <non-empty string>} (optionally `message`). */
function assertError(res, status, message) {
  assert.equal(res.status, status, show(res));
  assert.equal(res.headers['content-type'], JSON_TYPE, show(res));
  assert.equal(res.headers['access-control-allow-origin'], '*', show(res));
  assert.notEqual(res.json, undefined, `error body is not JSON: ${show(res)}`);
  assert.deepEqual(Object.keys(res.json), ['error'], show(res));
  assert.equal(typeof res.json.error, 'string', show(res));
  assert.ok(res.json.error.length > 0, show(res));
  if (message instanceof RegExp) assert.match(res.json.error, message, show(res));
  else if (message !== undefined) assert.equal(res.json.error, message, show(res));
}

// Expectations for run().
const status = (code, expected) => (res) => assertJson(res, expected, code);
const error = (code, message) => (res) => assertError(res, code, message);
const ok = (res) => assert.equal(res.status, 200, show(res));

/** Performs the steps ([request, expectation]) in order with one curl process, then checks them in order. */
async function run(steps) {
  const responses = await curlBatch(steps.map(([req]) => req));
  steps.forEach(([req, expect], i) => {
    const res = responses[i];
    try {
      if (typeof expect === 'function') expect(res);
      else assertJson(res, expect);
    } catch (e) {
      const body = req.body === undefined ? '' : ` body ${req.body.slice(0, 200)}`;
      e.message = `step ${i}: ${req.method ?? 'GET'} ${req.url.slice(server.url.length)}${body}\n${e.message}`;
      throw e;
    }
  });
  return responses;
}

/** One request (its own curl process). */
const send = async (req) => (await curlBatch([req]))[0];

/** The export-format value at `p` (to prove that rejected writes changed nothing). */
async function exportAt(p) {
  const res = await send(GET(`${p}.json?format=export`));
  assert.equal(res.status, 200, show(res));
  return res.json;
}

describe('REST API through curl', { concurrency: 6 }, () => {
  // -------------------------------------------------------------------------------------------------------------
  // Methods

  test('GET of an absent location is 200 null with JSON and CORS headers', async () => {
    const [absent] = await run([
      [GET('/absent/nothing/here.json'), null],
      [GET('/.json?ns=emptyns'), null],
    ]);
    assert.equal(absent.body, 'null');
    assert.equal(absent.headers['cache-control'], 'no-cache');
  });

  test('PUT sets (replacing) and returns the written value; GET reads whole subtrees and nested paths', async () => {
    const value = { name: 'Alice', age: 31, admin: false, score: 1.5, tags: { a: true }, nested: { deep: { x: 'y' } } };
    await run([
      [PUT('/m/put/alice.json', value), value],
      [GET('/m/put/alice.json'), value],
      [GET('/m/put/alice/nested/deep/x.json'), 'y'],
      [GET('/m/put/alice/age.json'), 31],
      [GET('/m/put/alice/admin.json'), false],
      [GET('/m/put.json'), { alice: value }],
      // PUT replaces the whole location: old children disappear.
      [PUT('/m/put/alice.json', { city: 'Oslo' }), { city: 'Oslo' }],
      [GET('/m/put/alice.json'), { city: 'Oslo' }],
      [PUT('/m/put/prim.json', '"text"'), 'text'],
      [GET('/m/put/prim.json'), 'text'],
      [PUT('/m/put/prim.json', '42'), 42],
      [PUT('/m/put/b.json', 'true'), true],
      [GET('/m/put.json'), { alice: { city: 'Oslo' }, prim: 42, b: true }],
      // A primitive replaces an object and the other way round.
      [PUT('/m/put/alice.json', '"gone"'), 'gone'],
      [GET('/m/put/alice/city.json'), null],
      [PUT('/m/put/alice/city.json', '"Bergen"'), 'Bergen'],
      [GET('/m/put/alice.json'), { city: 'Bergen' }],
    ]);
  });

  test('numbers are emitted in shortest round-trip form, integral values without .0', async () => {
    const [, got] = await run([
      [PUT('/m/num.json', '{"i":10.0,"f":0.1,"n":-3,"e":1e21,"s":1.5e-7,"x":123456789012}'), ok],
      [GET('/m/num.json'), { i: 10, f: 0.1, n: -3, e: 1e21, s: 1.5e-7, x: 123456789012 }],
    ]);
    for (const fragment of ['"i":10,', '"f":0.1', '"n":-3', '"e":1e+21', '"s":1.5e-7', '"x":123456789012']) {
      assert.ok(got.body.includes(fragment), `expected ${fragment} in ${got.body}`);
    }
    assert.ok(!got.body.includes('10.0'), got.body);
  });

  test('PUT of null, {} and objects of only nulls delete, pruning empty parents', async () => {
    await run([
      [SEED('/m/del.json', { a: { b: { c: 1 } }, keep: 1 }), ok],
      [PUT('/m/del/a/b/c.json', 'null'), null],
      [GET('/m/del.json'), { keep: 1 }],
      [SEED('/m/del/x.json', { y: 1 }), ok],
      [PUT('/m/del/x.json', '{}'), null],
      [GET('/m/del.json'), { keep: 1 }],
      [SEED('/m/del/x.json', { y: 1 }), ok],
      [PUT('/m/del/x.json', '{"y":null,"z":{}}'), null],
      [GET('/m/del.json'), { keep: 1 }],
      // Nulls inside objects are dropped, the rest is kept.
      [PUT('/m/del/w.json', '{"a":null,"b":2,"c":{"d":null}}'), { b: 2 }],
      [GET('/m/del/w.json'), { b: 2 }],
      [GET('/m/del.json'), { keep: 1, w: { b: 2 } }],
    ]);
  });

  test('DELETE removes the location and returns null; deleting the last child removes empty parents', async () => {
    const [, del] = await run([
      [SEED('/m/delete.json', { a: { only: 1 }, b: 2 }), ok],
      [DELETE('/m/delete/a/only.json'), null],
      [GET('/m/delete.json'), { b: 2 }],
      [GET('/m/delete/a.json'), null],
      [DELETE('/m/delete.json'), null],
      [GET('/m/delete.json'), null],
      [DELETE('/m/delete/never.json'), null],
    ]);
    assert.equal(del.body, 'null');
  });

  test('POST pushes a child under a new 20-char push ID, in creation order', async () => {
    const t0 = Date.now();
    const pushes = Array.from({ length: 8 }, (_, i) => [POST('/m/push.json', { i }), ok]);
    const responses = await run(pushes);
    const t1 = Date.now();
    const names = responses.map((res) => {
      assert.equal(res.headers['content-type'], JSON_TYPE);
      assert.deepEqual(Object.keys(res.json), ['name'], show(res));
      return res.json.name;
    });
    for (const name of names) {
      assert.equal(name.length, 20, name);
      for (const c of name) assert.ok(PUSH_CHARS.includes(c), `bad push ID char ${c} in ${name}`);
      const t = pushIdTime(name);
      assert.ok(t >= t0 - 1000 && t <= t1 + 1000, `push ID ${name} encodes ${t}, not in [${t0}, ${t1}]`);
    }
    assert.equal(new Set(names).size, names.length, 'push IDs are unique');
    const sorted = [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    assert.deepEqual(sorted, names, 'push IDs sort (ASCII) in creation order');
    const [, prim] = await run([
      [GET('/m/push.json'), Object.fromEntries(names.map((n, i) => [n, { i }]))],
      [POST('/m/push2.json', '"hello"'), ok],
      [GET(`/m/push.json?orderBy=${J('$key')}&limitToFirst=2`), { [names[0]]: { i: 0 }, [names[1]]: { i: 1 } }],
      [GET(`/m/push.json?orderBy=${J('$key')}&limitToLast=1`), { [names[7]]: { i: 7 } }],
    ]);
    await run([[GET(`/m/push2/${prim.json.name}.json`), 'hello']]);
  });

  test('PATCH merges children, multi-segment keys are paths, null deletes; the reply is the body', async () => {
    const body = { age: 32, 'address/city': 'Oslo', gone: null, 'new/deep/key': true };
    const [, reply] = await run([
      [SEED('/m/patch/alice.json', { name: 'Alice', age: 31, address: { city: 'Bergen', zip: '5003' }, gone: 1 }), ok],
      [PATCH('/m/patch/alice.json', body), ok],
      [
        GET('/m/patch/alice.json'),
        { name: 'Alice', age: 32, address: { city: 'Oslo', zip: '5003' }, new: { deep: { key: true } } },
      ],
    ]);
    // Reference §5.1: the success body of a PATCH is the request body (resolved), nulls included.
    assertJson(reply, body);
  });

  test('PATCH creates absent locations, replaces (not deep-merges) child values, works at the root', async () => {
    await run([
      [PATCH('/m/patch2/bob.json', { a: 1 }), { a: 1 }],
      [GET('/m/patch2/bob.json'), { a: 1 }],
      [SEED('/m/patch2/carol.json', { address: { city: 'Oslo', zip: 1 }, x: 1 }), ok],
      [PATCH('/m/patch2/carol.json', { address: { country: 'NO' } }), { address: { country: 'NO' } }],
      [GET('/m/patch2/carol.json'), { address: { country: 'NO' }, x: 1 }],
      [PATCH('/.json', { 'm/patch2/root/x': 1 }), { 'm/patch2/root/x': 1 }],
      [GET('/m/patch2/root.json'), { x: 1 }],
      // A PATCH that deletes every child removes the location.
      [PATCH('/m/patch2/bob.json', { a: null }), ok],
      [GET('/m/patch2/bob.json'), null],
    ]);
  });

  test('percent-encoded path segments: unicode, spaces, plus, emoji, quotes', async () => {
    const keys = ['héllo wörld', 'a+b', '日本語', 'smile 😀', "quote'and\"dq", 'percent%sign', 'sym ~!@*()&=,;'];
    await run([
      ...keys.map((key, i) => [PUT(`/m/enc/${E(key)}.json`, { i }), { i }]),
      [GET('/m/enc.json'), Object.fromEntries(keys.map((k, i) => [k, { i }]))],
      ...keys.map((key, i) => [GET(`/m/enc/${E(key)}/i.json`), i]),
      // Keys written in a body are addressable through their encoded form.
      [SEED('/m/enc2.json', { 'ключ с пробелом': 'v' }), ok],
      [GET(`/m/enc2/${E('ключ с пробелом')}.json`), 'v'],
      // "+" in a path is a literal plus, not a space.
      [GET('/m/enc/a+b.json'), { i: 1 }],
      [GET('/m/enc/a%2Bb.json'), { i: 1 }],
    ]);
  });

  test('plain format renders array-like objects as arrays (SDK val() rule); export keeps objects', async () => {
    const [, plain] = await run([
      [PUT('/m/arr/a.json', [1, 2, 3]), [1, 2, 3]],
      [GET('/m/arr/a.json'), [1, 2, 3]],
      [GET('/m/arr/a.json?format=export'), { 0: 1, 1: 2, 2: 3 }],
      // Nulls in arrays are dropped from storage; missing indices render as null.
      [PUT('/m/arr/b.json', '[1,null,3]'), [1, null, 3]],
      [GET('/m/arr/b.json?format=export'), { 0: 1, 2: 3 }],
      [GET('/m/arr/b.json'), [1, null, 3]],
      // maxKey < 2 * count → array with holes.
      [SEED('/m/arr/c.json', { 0: 'a', 1: 'b', 3: 'd' }), ok],
      [GET('/m/arr/c.json'), ['a', 'b', null, 'd']],
      [SEED('/m/arr/c2.json', { 1: 'x' }), ok],
      [GET('/m/arr/c2.json'), [null, 'x']],
      // maxKey >= 2 * count → object.
      [SEED('/m/arr/d.json', { 0: 'a', 5: 'b' }), ok],
      [GET('/m/arr/d.json'), { 0: 'a', 5: 'b' }],
      // Non-canonical integer keys → object.
      [SEED('/m/arr/e.json', { '01': 'a', 1: 'b' }), ok],
      [GET('/m/arr/e.json'), { '01': 'a', 1: 'b' }],
      [SEED('/m/arr/f.json', { 0: 'a', '-1': 'b' }), ok],
      [GET('/m/arr/f.json'), { 0: 'a', '-1': 'b' }],
      // Removing an element leaves a hole.
      [DELETE('/m/arr/a/1.json'), null],
      [GET('/m/arr/a.json'), [1, null, 3]],
      // Nested arrays.
      [PUT('/m/arr/g.json', { list: [[1, 2], { x: [true] }] }), { list: [[1, 2], { x: [true] }] }],
      [GET('/m/arr/g.json?format=export'), { list: { 0: { 0: 1, 1: 2 }, 1: { x: { 0: true } } } }],
      [GET('/m/arr/d.json'), (res) => assert.ok(res.body.startsWith('{'), res.body)],
    ]);
    assert.equal(plain.body, '[1,2,3]');
  });

  test('format=export includes .priority on objects and {".value",".priority"} for leaves', async () => {
    const value = {
      a: { '.value': 1, '.priority': 2 },
      b: { c: true, '.priority': 'p' },
      d: 5,
      e: { '.value': 'str', '.priority': 1.5 },
    };
    await run([
      [PUT('/m/exp.json', value), { a: 1, b: { c: true }, d: 5, e: 'str' }],
      [GET('/m/exp.json'), { a: 1, b: { c: true }, d: 5, e: 'str' }],
      [GET('/m/exp.json?format=export'), value],
      [GET('/m/exp/a.json?format=export'), { '.value': 1, '.priority': 2 }],
      [GET('/m/exp/b.json?format=export'), { c: true, '.priority': 'p' }],
      [GET('/m/exp/d.json?format=export'), 5],
      // A priority on the written location itself.
      [PUT('/m/exp2.json', { x: 1, '.priority': 9 }), { x: 1 }],
      [GET('/m/exp2.json?format=export'), { x: 1, '.priority': 9 }],
      // Replacing a value without giving a priority drops the old one.
      [SEED('/m/exp/a.json', 7), ok],
      [GET('/m/exp/a.json?format=export'), 7],
    ]);
  });

  test('print=pretty indents with two spaces, like JSON.stringify(v, null, 2)', async () => {
    const value = { a: 1, b: { c: [true, 'x'], d: { e: null, f: 'g' } }, h: 'i' };
    const stored = { a: 1, b: { c: [true, 'x'], d: { f: 'g' } }, h: 'i' };
    const [put, get, leaf, none, exp] = await run([
      [PUT('/m/pretty.json?print=pretty', value), stored],
      [GET('/m/pretty.json?print=pretty'), stored],
      [GET('/m/pretty/h.json?print=pretty'), 'i'],
      [GET('/m/pretty/none.json?print=pretty'), null],
      [GET('/m/pretty/b/c.json?print=pretty&format=export'), { 0: true, 1: 'x' }],
    ]);
    assert.equal(put.body, JSON.stringify(stored, null, 2));
    assert.equal(
      get.body,
      '{\n  "a": 1,\n  "b": {\n    "c": [\n      true,\n      "x"\n    ],\n    "d": {\n      "f": "g"\n    }\n  },\n  "h": "i"\n}',
    );
    assert.equal(leaf.body, '"i"');
    assert.equal(none.body, 'null');
    assert.equal(exp.body, '{\n  "0": true,\n  "1": "x"\n}');
  });

  test('print=silent: 204 with an empty body for every method, and the write still happens', async () => {
    const silent = (res) => {
      assert.equal(res.status, 204, show(res));
      assert.equal(res.bodyBuffer.length, 0, show(res));
    };
    const responses = await run([
      [PUT('/m/silent/a.json?print=silent', { x: 1 }), silent],
      [GET('/m/silent/a.json'), { x: 1 }],
      [PATCH('/m/silent/a.json?print=silent', { y: 2 }), silent],
      [GET('/m/silent/a.json'), { x: 1, y: 2 }],
      [POST('/m/silent/list.json?print=silent', { z: 3 }), silent],
      [GET('/m/silent/list.json'), ok],
      [GET('/m/silent/a.json?print=silent'), silent],
      [DELETE('/m/silent/a.json?print=silent'), silent],
      [GET('/m/silent/a.json'), null],
      // Errors are still reported.
      [PUT('/m/silent/b.json?print=silent', '{bad'), error(400, INVALID_JSON)],
    ]);
    assert.deepEqual(Object.values(responses[5].json), [{ z: 3 }]);
    assert.equal(Object.keys(responses[5].json)[0].length, 20);
  });

  test('shallow=true truncates children to true; primitives as is', async () => {
    await run([
      [SEED('/m/shallow.json', { a: 1, b: { c: { d: 2 } }, e: 'text', f: [1, 2] }), ok],
      [GET('/m/shallow.json?shallow=true'), { a: true, b: true, e: true, f: true }],
      [GET('/m/shallow/b.json?shallow=true'), { c: true }],
      [GET('/m/shallow/e.json?shallow=true'), 'text'],
      [GET('/m/shallow/a.json?shallow=true'), 1],
      [GET('/m/shallow/none.json?shallow=true'), null],
      [GET('/m/shallow.json?shallow=false'), { a: 1, b: { c: { d: 2 } }, e: 'text', f: [1, 2] }],
      [GET('/m/shallow.json?shallow=yes'), error(400, 'shallow must be true or false')],
    ]);
  });

  test('timeout and writeSizeLimit over curl: valid values read and write as usual, invalid ones are 400', async () => {
    // (Refusals by size and by time, which need bodies too large for curl's command line, are in
    // rest-read-timeout-write-size.test.mjs.)
    await run([
      [SEED('/m/tw.json', { a: 1, b: { c: 2 } }), ok],
      [GET('/m/tw.json?timeout=3s'), { a: 1, b: { c: 2 } }],
      [GET('/m/tw.json?timeout=500ms&shallow=true'), { a: true, b: true }],
      [GET('/m/tw.json?print=silent&timeout=1s'), (res) => assert.equal(res.status, 204, show(res))],
      [GET('/m/tw.json?timeout=3'), error(400, /^timeout must be .*got "3"$/)],
      [GET('/m/tw.json?timeout=16min'), error(400, /^timeout must be .*got "16min"$/)],
      [PUT('/m/tw/a.json?writeSizeLimit=tiny', 5), 5],
      [DELETE('/m/tw/b.json?writeSizeLimit=small'), null],
      [PATCH('/m/tw.json?writeSizeLimit=huge', { a: 9 }), error(400, 'writeSizeLimit must be tiny, small, medium, large or unlimited, got "huge"')],
      [GET('/m/tw.json'), { a: 5 }],
    ]);
  });

  test('shallow=true with a query: the query selects the children, then they are rendered shallow', async () => {
    // By "n": e (missing) < b (1) < c (2) < a (3) < d (5); "group" as the Emulator UI filters it.
    const data = {
      a: { n: 3, group: 'chest', deep: { x: 1 } },
      b: { n: 1, group: 'legs' },
      c: { n: 2, group: 'chest' },
      d: { n: 5, group: 'back' },
      e: { group: 'legs' },
    };
    const keys = (...k) => (k.length ? Object.fromEntries(k.map((key) => [key, true])) : null);
    const cases = [
      [`orderBy=${J('$key')}&limitToFirst=2`, keys('a', 'b')],
      [`orderBy=${J('$key')}&limitToLast=2`, keys('d', 'e')],
      [`orderBy=${J('$key')}&startAt=${J('b')}&endAt=${J('c')}`, keys('b', 'c')],
      [`orderBy=${J('$key')}`, keys('a', 'b', 'c', 'd', 'e')],
      [`orderBy=${J('n')}&limitToFirst=2`, keys('e', 'b')],
      [`orderBy=${J('n')}&startAt=2`, keys('c', 'a', 'd')],
      [`orderBy=${J('n')}&endAt=2`, keys('e', 'b', 'c')],
      [`orderBy=${J('n')}&startAt=2&endAt=3`, keys('c', 'a')],
      [`orderBy=${J('n')}&equalTo=5`, keys('d')],
      [`orderBy=${J('n')}&startAfter=1&limitToFirst=1`, keys('c')],
      [`orderBy=${J('group')}&equalTo=${J('chest')}`, keys('a', 'c')],
      [`orderBy=${J('n')}&equalTo=4`, keys()],
      // The Emulator UI's form: orderBy and bounds as text unless they are JSON.
      [`orderBy=group&equalTo=chest`, keys('a', 'c')],
      [`orderBy=n&startAt=2&limitToFirst=2`, keys('c', 'a')],
      [`orderBy=group&endAt=chest`, keys('a', 'c', 'd')],
    ];
    await run([
      [SEED('/m/sq.json', data), ok],
      ...cases.map(([params, expected]) => [GET(`/m/sq.json?shallow=true&${params}`), expected]),
      // Without orderBy: the default order, by priority, then key (the SDK's limitToFirst(n)).
      [SEED('/m/sp.json', { x: { '.value': 1, '.priority': 3 }, y: { '.value': 2, '.priority': 1 }, z: { w: 1, '.priority': 2 } }), ok],
      [GET('/m/sp.json?shallow=true&limitToFirst=2'), keys('y', 'z')],
      [GET('/m/sp.json?shallow=true&limitToLast=1'), keys('x')],
      [GET('/m/sp.json?shallow=true&startAt=2'), keys('z', 'x')],
      [GET('/m/sq.json?shallow=true&limitToFirst=50'), keys('a', 'b', 'c', 'd', 'e')],
      // A leaf or an absent location: null, as any query.
      [GET(`/m/sq/a/n.json?shallow=true&orderBy=${J('$key')}&limitToFirst=1`), null],
      [GET('/m/none.json?shallow=true&limitToFirst=1'), null],
      // Still refused: both limits, an object bound, an invalid child path, queries on .priority.
      [GET('/m/sq.json?shallow=true&limitToFirst=1&limitToLast=1'), error(400, 'limitToFirst and limitToLast cannot both be set')],
      [GET(`/m/sq.json?shallow=true&orderBy=n&startAt=${E('{"a":1}')}`), error(400, /^startAt must be a JSON primitive/)],
      [GET('/m/sq.json?shallow=true&orderBy=a.b'), error(400, /^orderBy is not a valid child path/)],
      [GET('/m/sq/.priority.json?shallow=true&limitToFirst=1'), error(400, 'Queries are not supported on .priority')],
      // Without shallow, queries stay Firebase's: orderBy needed, values JSON.
      [GET('/m/sq.json?limitToFirst=2'), error(400, 'orderBy must be defined when other query parameters are defined')],
      [GET('/m/sq.json?orderBy=group&equalTo=chest'), error(400, /^orderBy must be a valid JSON encoded path/)],
      [GET(`/m/sq.json?orderBy=${J('group')}&equalTo=chest`), error(400, /^equalTo must be a JSON primitive/)],
    ]);
  });

  // -------------------------------------------------------------------------------------------------------------
  // Queries

  test('orderBy a child path with every range and limit parameter', async () => {
    // Order by "n": e (missing) < g (true) < b (1) < c (3) < d (3) < a (5) < f ("str")
    const data = { a: { n: 5 }, b: { n: 1 }, c: { n: 3 }, d: { n: 3 }, e: { s: 'y' }, f: { n: 'str' }, g: { n: true } };
    const pick = (...keys) => (keys.length ? Object.fromEntries(keys.map((k) => [k, data[k]])) : null);
    const by = `orderBy=${J('n')}`;
    const cases = [
      ['', pick('a', 'b', 'c', 'd', 'e', 'f', 'g')],
      ['&limitToFirst=2', pick('e', 'g')],
      ['&limitToLast=2', pick('a', 'f')],
      ['&limitToFirst=100', pick('a', 'b', 'c', 'd', 'e', 'f', 'g')],
      ['&startAt=3', pick('c', 'd', 'a', 'f')],
      ['&endAt=3', pick('e', 'g', 'b', 'c', 'd')],
      ['&startAt=3&endAt=3', pick('c', 'd')],
      ['&equalTo=3', pick('c', 'd')],
      [`&startAt=${E('3,"d"')}`, pick('d', 'a', 'f')],
      [`&endAt=${E('3,"c"')}`, pick('e', 'g', 'b', 'c')],
      ['&startAfter=3', pick('a', 'f')],
      ['&endBefore=3', pick('e', 'g', 'b')],
      [`&startAfter=${E('3,"c"')}`, pick('d', 'a', 'f')],
      [`&endBefore=${E('3,"d"')}`, pick('e', 'g', 'b', 'c')],
      [`&equalTo=${J('str')}`, pick('f')],
      ['&equalTo=true', pick('g')],
      ['&equalTo=null', pick('e')],
      ['&startAt=3&limitToFirst=1', pick('c')],
      ['&endAt=3&limitToLast=2', pick('c', 'd')],
      ['&startAt=2&endAt=4', pick('c', 'd')],
      [`&startAt=1&endBefore=${J('str')}`, pick('b', 'c', 'd', 'a')],
      ['&startAt=6&endAt=9', pick()],
      ['&equalTo=4', pick()],
    ];
    await run([[SEED('/q/c.json', data), ok], ...cases.map(([params, expected]) => [GET(`/q/c.json?${by}${params}`), expected])]);
    await run([
      [SEED('/q/deep.json', { x: { meta: { rank: 2 } }, y: { meta: { rank: 1 } }, z: { meta: { rank: 3 } } }), ok],
      [
        GET(`/q/deep.json?orderBy=${J('meta/rank')}&limitToFirst=2`),
        { x: { meta: { rank: 2 } }, y: { meta: { rank: 1 } } },
      ],
      [GET(`/q/deep.json?orderBy=${J('meta/rank')}&startAt=3`), { z: { meta: { rank: 3 } } }],
    ]);
  });

  test('orderBy "$key" with ranges and limits (integer-like keys first, numerically)', async () => {
    const data = { 1: 'one', 2: 'two', 10: 'ten', a: 'A', ab: 'AB', b: 'B' };
    const pick = (...keys) => Object.fromEntries(keys.map((k) => [k, data[k]]));
    const by = `orderBy=${J('$key')}`;
    const cases = [
      ['&limitToFirst=3', pick('1', '2', '10')],
      ['&limitToLast=2', pick('ab', 'b')],
      [`&startAt=${J('2')}`, pick('2', '10', 'a', 'ab', 'b')],
      [`&endAt=${J('a')}`, pick('1', '2', '10', 'a')],
      [`&startAfter=${J('10')}`, pick('a', 'ab', 'b')],
      [`&endBefore=${J('a')}`, pick('1', '2', '10')],
      [`&equalTo=${J('ab')}`, pick('ab')],
      [`&startAt=${J('a')}&endAt=${J('ab')}`, pick('a', 'ab')],
      [`&startAt=${J('a')}&limitToFirst=1`, pick('a')],
      [`&endAt=${J('10')}&limitToLast=1`, pick('10')],
    ];
    await run([[SEED('/q/k.json', data), ok], ...cases.map(([params, expected]) => [GET(`/q/k.json?${by}${params}`), expected])]);
  });

  test('orderBy "$value": null < false < true < numbers < strings < objects; startAt=2,"k2" key form', async () => {
    const data = { a: 3, b: 'x', c: true, d: 1, e: { z: 1 }, f: false, g: 'w' };
    const pick = (...keys) => Object.fromEntries(keys.map((k) => [k, data[k]]));
    const by = `orderBy=${J('$value')}`;
    const cases = [
      ['&limitToFirst=2', pick('f', 'c')],
      ['&limitToLast=1', pick('e')],
      ['&limitToLast=3', pick('g', 'b', 'e')],
      ['&startAt=1', pick('d', 'a', 'g', 'b', 'e')],
      [`&endAt=${J('w')}`, pick('f', 'c', 'd', 'a', 'g')],
      ['&equalTo=true', pick('c')],
      [`&startAfter=1&endBefore=${J('x')}`, pick('a', 'g')],
      ['&startAt=false&endAt=true', pick('f', 'c')],
    ];
    await run([
      [SEED('/q/v.json', data), ok],
      ...cases.map(([params, expected]) => [GET(`/q/v.json?${by}${params}`), expected]),
      // The SDK's REST form with a key name: startAt=2,"k2".
      [SEED('/q/kf.json', { k0: 1, k1: 2, k2: 2, k3: 2, k4: 3 }), ok],
      [GET(`/q/kf.json?${by}&startAt=${E('2,"k2"')}`), { k2: 2, k3: 2, k4: 3 }],
      [GET(`/q/kf.json?${by}&endAt=${E('2,"k2"')}`), { k0: 1, k1: 2, k2: 2 }],
      [GET(`/q/kf.json?${by}&startAt=${E('2,"k2"')}&limitToFirst=2`), { k2: 2, k3: 2 }],
      [GET(`/q/kf.json?${by}&startAfter=${E('2,"k2"')}`), { k3: 2, k4: 3 }],
    ]);
  });

  test('orderBy "$priority": none < numbers < strings, ties by key; format=export keeps priorities', async () => {
    const by = `orderBy=${J('$priority')}`;
    const cases = [
      ['&limitToFirst=2', { d: 4, b: 2 }],
      ['&limitToLast=1', { c: 3 }],
      ['&startAt=5', { b: 2, e: 5, a: 1, c: 3 }],
      [`&startAt=${E('5,"c"')}`, { e: 5, a: 1, c: 3 }],
      ['&endAt=5', { d: 4, b: 2, e: 5 }],
      ['&equalTo=5', { b: 2, e: 5 }],
      [`&equalTo=${J('x')}`, { c: 3 }],
      ['&startAfter=5', { a: 1, c: 3 }],
      ['&endBefore=10', { d: 4, b: 2, e: 5 }],
      [
        '&equalTo=5&format=export',
        { b: { '.value': 2, '.priority': 5 }, e: { '.value': 5, '.priority': 5 } },
      ],
    ];
    const data = {
      a: { '.value': 1, '.priority': 10 },
      b: { '.value': 2, '.priority': 5 },
      c: { '.value': 3, '.priority': 'x' },
      d: 4,
      e: { '.value': 5, '.priority': 5 },
    };
    await run([[SEED('/q/p.json', data), ok], ...cases.map(([params, expected]) => [GET(`/q/p.json?${by}${params}`), expected])]);
  });

  test('queries on leaves and absent locations return null', async () => {
    await run([
      [SEED('/q/leaf.json', 5), ok],
      [GET(`/q/leaf.json?orderBy=${J('$key')}&limitToFirst=1`), null],
      [GET(`/q/absent.json?orderBy=${J('$value')}&startAt=1`), null],
    ]);
  });

  test('query errors: filter without orderBy, both limits, malformed values → 400', async () => {
    const bad = [
      '?limitToFirst=1',
      '?startAt=1',
      '?endAt=1',
      '?equalTo=1',
      '?startAfter=1',
      '?endBefore=1',
      '?limitToLast=1',
      `?orderBy=${J('$key')}&limitToFirst=1&limitToLast=1`,
      `?orderBy=${J('n')}&limitToFirst=2&limitToLast=2`,
      `?orderBy=${J('$value')}&limitToFirst=0`,
      `?orderBy=${J('$value')}&limitToFirst=-1`,
      `?orderBy=${J('$value')}&limitToLast=abc`,
      `?orderBy=${E('$key')}`, // not JSON
      `?orderBy=${J('$value')}&startAt=${E('{"a":1}')}`, // not a primitive
      `?orderBy=${J('$value')}&startAt=${E('nope')}`,
    ];
    await run([
      [SEED('/q/err.json', { a: 1, b: 2 }), ok],
      ...bad.map((params) => [GET(`/q/err.json${params}`), error(400)]),
      [GET('/q/err.json'), { a: 1, b: 2 }],
    ]);
  });

  test('README example: unencoded orderBy="$key" in the query string works', async () => {
    // README.md: curl 'http://127.0.0.1:9000/messages.json?orderBy="$key"&limitToLast=10'
    await run([
      [SEED('/q/readme.json', { m1: 'a', m2: 'b', m3: 'c' }), ok],
      [GET('/q/readme.json?orderBy="$key"&limitToLast=2'), { m2: 'b', m3: 'c' }],
      [GET('/q/readme.json?orderBy="$value"&startAt="b","m1"'), { m2: 'b', m3: 'c' }],
    ]);
  });

  // -------------------------------------------------------------------------------------------------------------
  // Method override, priority endpoint, server values

  test('X-HTTP-Method-Override header and x-http-method-override query parameter on POST', async () => {
    const [, , , , , , , , , , , , , pushed] = await run([
      [SEED('/o/t.json', { a: 1, b: 2 }), ok],
      [POST('/o/t.json', { c: 3 }, { 'X-HTTP-Method-Override': 'PUT' }), { c: 3 }],
      [GET('/o/t.json'), { c: 3 }],
      [POST('/o/t.json', { d: 4 }, { 'X-HTTP-Method-Override': 'PATCH' }), { d: 4 }],
      [GET('/o/t.json'), { c: 3, d: 4 }],
      [POST('/o/t/c.json', '', { 'X-HTTP-Method-Override': 'DELETE' }), null],
      [GET('/o/t.json'), { d: 4 }],
      [POST('/o/t.json?x-http-method-override=PUT', { e: 5 }), { e: 5 }],
      [GET('/o/t.json'), { e: 5 }],
      [POST('/o/t.json?x-http-method-override=PATCH', { f: 6 }), { f: 6 }],
      [GET('/o/t.json'), { e: 5, f: 6 }],
      [POST('/o/t/e.json?x-http-method-override=DELETE', ''), null],
      [GET('/o/t.json'), { f: 6 }],
      // Without an override POST still pushes.
      [POST('/o/t.json', 7), ok],
    ]);
    assert.equal(pushed.json.name.length, 20);
    await run([[GET('/o/t.json'), { f: 6, [pushed.json.name]: 7 }]]);
  });

  test('/.priority.json: GET returns the priority, PUT sets only the priority, DELETE removes it', async () => {
    await run([
      [SEED('/pr/a.json', 1), ok],
      [GET('/pr/a/.priority.json'), null],
      [PUT('/pr/a/.priority.json', 7), 7],
      [GET('/pr/a/.priority.json'), 7],
      [GET('/pr/a.json'), 1],
      [GET('/pr.json?format=export'), { a: { '.value': 1, '.priority': 7 } }],
      [PUT('/pr/a/.priority.json', '"high"'), 'high'],
      [GET('/pr/a/.priority.json'), 'high'],
      [GET('/pr/a.json?format=export'), { '.value': 1, '.priority': 'high' }],
      // On an object; writing a child keeps the object's priority.
      [SEED('/pr/o.json', { x: 1 }), ok],
      [PUT('/pr/o/.priority.json', 2.5), 2.5],
      [GET('/pr/o.json?format=export'), { x: 1, '.priority': 2.5 }],
      [SEED('/pr/o/y.json', 2), ok],
      [GET('/pr/o.json?format=export'), { x: 1, y: 2, '.priority': 2.5 }],
      // The priority of an absent node is ignored (empty nodes cannot carry one).
      [PUT('/pr/none/.priority.json', 3), (res) => assert.equal(res.status, 200, show(res))],
      [GET('/pr/none/.priority.json'), null],
      [GET('/pr/none.json'), null],
      // Removing the priority.
      [DELETE('/pr/a/.priority.json'), null],
      [GET('/pr/a/.priority.json'), null],
      [GET('/pr/a.json?format=export'), 1],
      // Invalid priorities are rejected and change nothing.
      [PUT('/pr/o/.priority.json', 'true'), error(400)],
      [PUT('/pr/o/.priority.json', '{"x":1}'), error(400)],
      [PUT('/pr/o/.priority.json', '[1]'), error(400)],
      [PUT('/pr/o/.priority.json', 'nope'), error(400, INVALID_JSON)],
      [GET('/pr.json?format=export'), { a: 1, o: { x: 1, y: 2, '.priority': 2.5 } }],
    ]);
  });

  test('server value {".sv":"timestamp"}: one server time per request, as value and as priority', async () => {
    const t0 = Date.now();
    const [res] = await run([
      [PUT('/sv/ts.json', { a: { '.sv': 'timestamp' }, b: { c: { '.sv': 'timestamp' } } }), ok],
    ]);
    const t1 = Date.now();
    const { a } = res.json;
    assert.ok(Number.isInteger(a), `timestamp ${a} is an integer`);
    assert.ok(a >= t0 - 2000 && a <= t1 + 2000, `timestamp ${a} not near [${t0}, ${t1}]`);
    assert.deepEqual(res.json, { a, b: { c: a } }, 'one "now" per request');
    const [, , exp, patched, pushed] = await run([
      [GET('/sv/ts.json'), { a, b: { c: a } }],
      [PUT('/sv/tsp.json', { '.value': 'x', '.priority': { '.sv': 'timestamp' } }), 'x'],
      [GET('/sv/tsp.json?format=export'), ok],
      [PATCH('/sv/ts.json', { d: { '.sv': 'timestamp' } }), ok],
      [POST('/sv/list.json', { '.sv': 'timestamp' }), ok],
    ]);
    assert.equal(exp.json['.value'], 'x');
    assert.ok(Number.isInteger(exp.json['.priority']) && exp.json['.priority'] >= a, show(exp));
    assert.ok(Number.isInteger(patched.json.d) && patched.json.d >= a, show(patched));
    const [stored, all] = await run([
      [GET(`/sv/list/${pushed.json.name}.json`), ok],
      [GET('/sv.json?format=export'), ok],
    ]);
    assert.ok(Number.isInteger(stored.json) && stored.json >= a, show(stored));
    // Stored resolved: the raw server value never shows up.
    assert.ok(!all.body.includes('.sv'), all.body);
  });

  test('server value {".sv":{"increment":n}}: adds to numbers, replaces non-numbers', async () => {
    const inc = (n) => ({ '.sv': { increment: n } });
    const [, , , , , , , , , , , , , , big] = await run([
      [PUT('/sv/inc/a.json', inc(5)), 5],
      [PUT('/sv/inc/a.json', inc(5)), 10],
      [PUT('/sv/inc/a.json', inc(-2.5)), 7.5],
      [GET('/sv/inc/a.json'), 7.5],
      [SEED('/sv/inc/s.json', 'text'), ok],
      [PUT('/sv/inc/s.json', inc(3)), 3],
      [SEED('/sv/inc/o.json', { x: 1 }), ok],
      [PUT('/sv/inc/o.json', inc(4)), 4],
      [SEED('/sv/inc/b.json', true), ok],
      [PUT('/sv/inc/b.json', inc(1)), 1],
      [PATCH('/sv/inc.json', { a: inc(0.5), 'n/m': inc(2) }), { a: 8, 'n/m': 2 }],
      [GET('/sv/inc.json'), { a: 8, s: 3, o: 4, b: 1, n: { m: 2 } }],
      // Integers stay exact.
      [SEED('/sv/inc/big.json', 9007199254740000), ok],
      [PUT('/sv/inc/big.json', inc(1)), 9007199254740001],
      [GET('/sv/inc/big.json'), 9007199254740001],
    ]);
    assert.equal(big.body, '9007199254740001');
  });

  test('concurrent increments from parallel curl processes end at the exact sum', async () => {
    const n = 40;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) => send(PUT('/sv/counter.json', { '.sv': { increment: i + 1 } }))),
    );
    const seen = results.map((res) => {
      assert.equal(res.status, 200, show(res));
      return res.json;
    });
    const sum = (n * (n + 1)) / 2;
    await run([[GET('/sv/counter.json'), sum]]);
    // Each reply is the value right after that increment: all different, the largest is the sum.
    assert.equal(new Set(seen).size, n, `replies ${seen}`);
    assert.equal(Math.max(...seen), sum);
  });

  test('unknown or malformed server values → 400 and nothing written', async () => {
    const bodies = [
      { '.sv': 'bogus' },
      { x: { '.sv': 'nope' } },
      { '.sv': { bogus: 1 } },
      { '.sv': { increment: 'x' } },
      { '.sv': { increment: null } },
      { '.sv': 5 },
    ];
    await run([
      [SEED('/sv/bad.json', { keep: 1 }), ok],
      ...bodies.flatMap((body) => [
        [PUT('/sv/bad.json', body), error(400)],
        [PATCH('/sv/bad.json', { keep: body }), error(400)],
        [POST('/sv/bad.json', body), error(400)],
      ]),
      [GET('/sv/bad.json?format=export'), { keep: 1 }],
    ]);
  });

  // -------------------------------------------------------------------------------------------------------------
  // ETags

  test('GET with X-Firebase-ETag: true returns the §3.3 hash as ETag; null_etag when absent', async () => {
    const complex = {
      9: 2.5,
      10: true,
      a: 'x',
      n: { deep: { s: 'é' } },
      b: { '.value': 1, '.priority': 5 },
      z: { k: -0.5, '.priority': 'p' },
    };
    const etag = 'X-Firebase-ETag';
    const [, ten, , cx, absent, plain] = await run([
      [SEED('/et/ten.json', 10), ok],
      [GET('/et/ten.json', { [etag]: 'true' }), 10],
      [SEED('/et/complex.json', complex), ok],
      [GET('/et/complex.json', { [etag]: 'true' }), ok],
      [GET('/et/absent.json', { [etag]: 'true' }), null],
      [GET('/et/ten.json'), 10],
    ]);
    assert.equal(ten.headers.etag, '+r5aI9HvKKagELki8SYKBk0q7D4=');
    assert.equal(cx.headers.etag, 'abK9f1mkIYPerXrbGXIpT239CHE=');
    assert.equal(absent.headers.etag, 'null_etag');
    assert.equal(plain.headers.etag, undefined, 'no ETag unless asked for');
  });

  test('PUT/DELETE with if-match: a match writes, a mismatch → 412 with the current value and ETag', async () => {
    const etag1 = etagOf({ v: 1 });
    const etag2 = etagOf({ v: 2 });
    const withEtag = (value, etag, code = 200) => (res) => {
      assertJson(res, value, code);
      assert.equal(res.headers.etag, etag, show(res));
    };
    await run([
      [SEED('/et/doc.json', { v: 1 }), ok],
      [GET('/et/doc.json', { 'X-Firebase-ETag': 'true' }), withEtag({ v: 1 }, etag1)],
      // Matching ETag: written; the reply carries the new value's ETag.
      [PUT('/et/doc.json', { v: 2 }, { 'if-match': etag1 }), withEtag({ v: 2 }, etag2)],
      [GET('/et/doc.json'), { v: 2 }],
      // Stale or made-up ETag: 412, body = current value, ETag = current ETag, nothing written.
      [PUT('/et/doc.json', { v: 3 }, { 'if-match': etag1 }), withEtag({ v: 2 }, etag2, 412)],
      [PUT('/et/doc.json', { v: 4 }, { 'if-match': 'not-an-etag' }), withEtag({ v: 2 }, etag2, 412)],
      [GET('/et/doc.json'), { v: 2 }],
      [DELETE('/et/doc.json', { 'if-match': etag1 }), withEtag({ v: 2 }, etag2, 412)],
      [GET('/et/doc.json'), { v: 2 }],
      [DELETE('/et/doc.json', { 'if-match': etag2 }), null],
      [GET('/et/doc.json'), null],
      // ETags cover priorities: same plain value, different priority → different ETag.
      [SEED('/et/prio.json', { '.value': 1, '.priority': 3 }), ok],
      [
        GET('/et/prio.json', { 'X-Firebase-ETag': 'true' }),
        withEtag(1, etagOf({ '.value': 1, '.priority': 3 })),
      ],
      [PUT('/et/prio.json', 2, { 'if-match': etagOf(1) }), withEtag(1, etagOf({ '.value': 1, '.priority': 3 }), 412)],
      [GET('/et/prio.json?format=export'), { '.value': 1, '.priority': 3 }],
    ]);
    assert.notEqual(etagOf({ '.value': 1, '.priority': 3 }), etagOf(1));
  });

  test('if-match: null_etag creates only if absent', async () => {
    const withEtag = (value, etag, code = 200) => (res) => {
      assertJson(res, value, code);
      assert.equal(res.headers.etag, etag, show(res));
    };
    await run([
      [PUT('/et/once.json', { owner: 'a' }, { 'if-match': 'null_etag' }), withEtag({ owner: 'a' }, etagOf({ owner: 'a' }))],
      [PUT('/et/once.json', { owner: 'b' }, { 'if-match': 'null_etag' }), withEtag({ owner: 'a' }, etagOf({ owner: 'a' }), 412)],
      [GET('/et/once.json'), { owner: 'a' }],
      // A wrong ETag on an absent location: 412 showing null and null_etag.
      [PUT('/et/never.json', 1, { 'if-match': etagOf(1) }), withEtag(null, 'null_etag', 412)],
      [GET('/et/never.json'), null],
    ]);
  });

  test('concurrent if-match: null_etag creates: exactly one wins', async () => {
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => send(PUT('/et/race.json', { winner: i }, { 'if-match': 'null_etag' }))),
    );
    const winners = results.filter((r) => r.status === 200);
    const losers = results.filter((r) => r.status === 412);
    assert.equal(winners.length, 1, results.map((r) => r.status).join(','));
    assert.equal(losers.length, 11, results.map((r) => r.status).join(','));
    const [stored] = await run([[GET('/et/race.json'), winners[0].json]]);
    for (const loser of losers) assert.deepEqual(loser.json, stored.json);
  });

  // -------------------------------------------------------------------------------------------------------------
  // HTTP surface: CORS, namespaces, 404, JSONP

  test('CORS: every response allows any origin; an OPTIONS preflight echoes the requested headers', async () => {
    const origin = { Origin: 'http://example.com' };
    const cors = (res) => assert.equal(res.headers['access-control-allow-origin'], '*', show(res));
    const [pre] = await run([
      [
        request('OPTIONS', '/cors/x.json', undefined, {
          ...origin,
          'Access-Control-Request-Method': 'PUT',
          'Access-Control-Request-Headers': 'x-firebase-etag,content-type,if-match',
        }),
        (res) => assert.ok(res.status === 200 || res.status === 204, show(res)),
      ],
      [GET('/cors/x.json'), null], // the preflight wrote nothing
      [PUT('/cors/x.json', 1, origin), cors],
      [GET('/cors/x.json', origin), cors],
      [PUT('/cors/x.json', '{', origin), cors],
      [GET('/cors/nojson', origin), cors],
    ]);
    assert.equal(pre.headers['access-control-allow-origin'], '*');
    const methods = pre.headers['access-control-allow-methods'].split(',').map((m) => m.trim());
    for (const m of ['GET', 'PUT', 'POST', 'PATCH', 'DELETE']) assert.ok(methods.includes(m), `${m} in ${methods}`);
    assert.equal(pre.headers['access-control-allow-headers'], 'x-firebase-etag,content-type,if-match');
  });

  test('namespaces (?ns=) are isolated databases; no ns = the default one', async () => {
    await run([
      [PUT('/nsx/v.json?ns=alpha', '"in alpha"'), 'in alpha'],
      [PUT('/nsx/v.json?ns=beta_2', '"in beta"'), 'in beta'],
      [PUT('/nsx/v.json', '"in default"'), 'in default'],
      [GET('/nsx/v.json?ns=alpha'), 'in alpha'],
      [GET('/nsx/v.json?ns=beta_2'), 'in beta'],
      [GET('/nsx/v.json'), 'in default'],
      [GET('/nsx/v.json?ns=default'), 'in default'],
      [GET('/nsx/v.json?ns=gamma'), null],
      [DELETE('/nsx.json?ns=alpha'), null],
      [GET('/nsx/v.json?ns=alpha'), null],
      [GET('/nsx/v.json?ns=beta_2'), 'in beta'],
      [GET('/nsx/v.json'), 'in default'],
      [GET('/.json?ns=beta_2'), { nsx: { v: 'in beta' } }],
    ]);
  });

  test('paths without .json → 404 JSON error, and nothing is written', async () => {
    await run([
      ...['/', '/foo', '/foo/bar', '/foo.txt', '/foo.jsonx', '/foo.json/bar'].map((p) => [GET(p), error(404)]),
      [PUT('/nojson/x', 1), error(404)],
      [POST('/nojson/x', 1), error(404)],
      [PATCH('/nojson/x', { a: 1 }), error(404)],
      [DELETE('/nojson'), error(404)],
      [GET('/nojson.json'), null],
    ]);
  });

  test('callback= wraps the reply in JSONP; download= sets Content-Disposition', async () => {
    const [, res, nul] = await run([
      [SEED('/jsonp.json', { a: 1 }), ok],
      [GET('/jsonp.json?callback=handle_it'), ok],
      [GET('/jsonp/none.json?callback=cb'), ok],
      [
        GET('/jsonp.json?download=data.json'),
        (dl) => {
          assertJson(dl, { a: 1 });
          assert.equal(dl.headers['content-disposition'], `attachment; filename="data.json"; filename*=UTF-8''data.json`);
        },
      ],
    ]);
    assert.equal(res.body, 'handle_it({"a":1});');
    assert.match(res.headers['content-type'], /^application\/javascript/);
    assert.equal(nul.body, 'cb(null);');
  });

  // -------------------------------------------------------------------------------------------------------------
  // Bad input: rejected, explained, and nothing changes

  test('invalid JSON bodies → 400 with the Firebase message; data unchanged', async () => {
    const bodies = ['{"a":', 'not json', "{'a':1}", '[1,2', '{"a":1}}', 'NaN', 'undefined', '{"a":01}', '"unterminated'];
    await run([
      [SEED('/bad/json.json', { keep: true }), ok],
      ...bodies.flatMap((body) => [
        [PUT('/bad/json.json', body), error(400, INVALID_JSON)],
        [POST('/bad/json.json', body), error(400, INVALID_JSON)],
        [PATCH('/bad/json.json', body), error(400, INVALID_JSON)],
      ]),
      [PUT('/bad/json.json', ''), error(400)], // missing body
      [GET('/bad/json.json?format=export'), { keep: true }],
    ]);
  });

  test('invalid keys in bodies (. $ # [ ] / control chars, empty) → 400 naming the key; data unchanged', async () => {
    const badKeys = ['a.b', 'a$b', 'a#b', 'a[b', 'a]b', 'a/b', 'a\u0001b', 'a\u001fb', 'a\u007fb', 'tab\there', ''];
    const keyError = (res) => {
      assertError(res, 400);
      assert.match(res.json.error, /key/i, show(res));
    };
    await run([
      [SEED('/bad/keys.json', { keep: 1 }), ok],
      ...badKeys.flatMap((key) => [
        [PUT('/bad/keys.json', { ok: 1, nested: { [key]: 1 } }), keyError],
        [POST('/bad/keys.json', { nested: { [key]: 1 } }), keyError],
        [PATCH('/bad/keys.json', { x: { [key]: 1 } }), keyError],
      ]),
      // In PATCH keys themselves ("/" is the path separator there).
      ...['a.b', 'a$b', 'a#b', 'a[b', 'a]b', 'a\u0001b'].map((key) => [PATCH('/bad/keys.json', { [key]: 1 }), keyError]),
      [GET('/bad/keys.json?format=export'), { keep: 1 }],
    ]);
  });

  test('invalid keys in URL paths → 400', async () => {
    const segments = ['a%24b', 'a%23b', 'a%5Bb', 'a%5Db', 'a%01b', 'a%7Fb', 'a.b'];
    await run([
      ...segments.flatMap((segment) => [
        [PUT(`/bad/url/${segment}.json`, 1), error(400)],
        [GET(`/bad/url/${segment}.json`), error(400)],
      ]),
      [GET('/bad/url.json'), null],
    ]);
  });

  test('keys up to 768 UTF-8 bytes are fine (in paths and bodies), longer ones → 400', async () => {
    const ascii768 = 'a'.repeat(768);
    const euro768 = '€'.repeat(256); // 3 bytes each
    const long = { [ascii768]: { [euro768]: 'v' } };
    await run([
      [PUT(`/lk/${ascii768}.json`, 1), 1],
      [GET(`/lk/${ascii768}.json`), 1],
      [PUT(`/lk/${E(euro768)}.json`, 2), 2],
      [PUT('/lk/body.json', long), long],
      [GET(`/lk/body/${ascii768}/${E(euro768)}.json`), 'v'],
      [PUT(`/lk/${'a'.repeat(769)}.json`, 1), error(400)],
      [PUT(`/lk/${E('€'.repeat(257))}.json`, 1), error(400)],
      [PUT('/lk/body.json', { ['b'.repeat(769)]: 1 }), error(400)],
      [PATCH('/lk.json', { [`x/${'c'.repeat(769)}`]: 1 }), error(400)],
      [GET('/lk.json'), { [ascii768]: 1, [euro768]: 2, body: long }],
    ]);
  });

  test('too deep (> 32 levels) in body, path, or path + body → 400; exactly 32 is fine', async () => {
    const nest = (depth, leaf = 1) => {
      let v = leaf;
      for (let i = 0; i < depth; i++) v = { [`l${depth - i}`]: v };
      return v;
    };
    const path32 = Array.from({ length: 32 }, (_, i) => `p${i}`).join('/');
    const path33 = Array.from({ length: 33 }, (_, i) => `p${i}`).join('/');
    await run([
      [SEED('/deep.json', { keep: 1 }), ok],
      // /deep/ok + 30 levels = a leaf at depth 32: allowed.
      [PUT('/deep/ok.json', nest(30)), nest(30)],
      [PUT('/deep/x.json', nest(31)), error(400)],
      [PUT('/.json', nest(33)), error(400)],
      [PATCH('/deep.json', { x: nest(31) }), error(400)],
      [PUT(`/${path32}.json`, 1), 1],
      [DELETE(`/${path32}.json`), null],
      [PUT(`/${path33}.json`, 1), error(400)],
      [PUT(`/${path32}.json`, { one: 'more' }), error(400)],
      [PATCH(`/${path32}.json`, { one: 1 }), error(400)],
      [PATCH('/deep.json', { [path32]: 1 }), error(400)],
      [GET('/deep/ok.json'), nest(30)],
      [DELETE('/deep/ok.json'), null],
      [GET('/deep.json?format=export'), { keep: 1 }],
      [GET('/p0.json'), null],
    ]);
  });

  test('invalid priorities → 400; data unchanged', async () => {
    await run([
      [SEED('/bad/prio.json', { keep: { '.value': 1, '.priority': 1 } }), ok],
      ...[
        { '.value': 1, '.priority': true },
        { '.value': 1, '.priority': { x: 1 } },
        { '.value': 1, '.priority': [1] },
        { a: 1, '.priority': false },
        { keep: { '.value': 2, '.priority': { nested: true } } },
      ].map((body) => [PUT('/bad/prio.json', body), error(400)]),
      [GET('/bad/prio.json?format=export'), { keep: { '.value': 1, '.priority': 1 } }],
    ]);
  });

  test('PATCH with a non-object body or with one key an ancestor of another → 400; data unchanged', async () => {
    const data = { a: { b: 1 }, c: 2 };
    await run([
      [SEED('/bad/patch.json', data), ok],
      ...['5', '"str"', 'true', 'null', '[1,2]', '[]'].map((body) => [PATCH('/bad/patch.json', body), error(400)]),
      ...[
        { a: 1, 'a/b': 2 },
        { 'a/b': 1, 'a/b/c': 2 },
        { c: 1, 'a/b': 2, 'a/b/d/e': 3 },
        { 'x/y': 1, x: { z: 1 } },
      ].map((body) => [PATCH('/bad/patch.json', body), error(400)]),
      [GET('/bad/patch.json?format=export'), data],
    ]);
  });

  test('a malformed HTTP request gets a 400 and the server keeps serving', async () => {
    await run([[SEED('/raw.json', { alive: true }), ok]]);
    for (const garbage of [
      'GARBAGE\r\n\r\n',
      'GET /raw.json HTTP/1.1\r\nHost: x\r\nthis line has no colon\r\n\r\n',
      'GET /raw.json HTTP/9.Q\r\n\r\n',
      'PUT /raw.json HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n{}',
    ]) {
      const { data, closed } = await rawExchange(server.port, garbage, { timeoutMs: 3000 });
      assert.ok(data.length > 0, `no reply to ${JSON.stringify(garbage)}`);
      const res = parseRawResponse(data);
      assert.equal(res.status, 400, `${JSON.stringify(garbage)} → ${data.slice(0, 300)}`);
      assert.ok(closed, 'the connection is closed after a malformed request');
      await run([[GET('/raw.json'), { alive: true }]]);
    }
    // A well-formed request over a raw socket works.
    const { data } = await rawExchange(server.port, 'GET /raw.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const res = parseRawResponse(data);
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { alive: true });
  });

  test('a connection that sends half a request and stalls does not block others', async () => {
    const socket = net.connect({ port: server.port, host: '127.0.0.1' });
    try {
      await new Promise((resolve, reject) => {
        socket.on('connect', resolve);
        socket.on('error', reject);
      });
      socket.write('PUT /stall.json HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"partial":');
      await sleep(100);
      await run([
        [PUT('/stall2.json', 1), 1],
        [GET('/stall.json'), null],
      ]);
    } finally {
      socket.destroy();
    }
  });

  test('a body over --max-body-bytes → 413 with a JSON error; the server keeps serving', async (t) => {
    const small = await startServer({ t, args: ['--max-body-bytes', '1000'] });
    const big = JSON.stringify({ blob: 'x'.repeat(2000) });
    const under = JSON.stringify({ blob: 'y'.repeat(900) });
    const tooLarge = (res) => {
      assert.equal(res.status, 413, show(res));
      assert.equal(res.headers['content-type'], JSON_TYPE, show(res));
      assert.deepEqual(Object.keys(res.json ?? {}), ['error'], show(res));
      assert.equal(typeof res.json.error, 'string');
      assert.ok(res.json.error.length > 0);
    };
    // Separate curl processes: the server may close the connection after a 413.
    tooLarge(await curl(small.u('/big.json'), { method: 'PUT', body: big }));
    assert.equal((await curl(small.u('/big.json'), { method: 'PUT', body: under })).status, 200);
    assert.deepEqual((await curl(small.u('/big.json'))).json, { blob: 'y'.repeat(900) });
    tooLarge(await curl(small.u('/big.json'), { method: 'POST', body: big }));
    tooLarge(await curl(small.u('/big.json'), { method: 'PATCH', body: big }));
    assert.deepEqual((await curl(small.u('/big.json'))).json, { blob: 'y'.repeat(900) });
    const { code } = await small.stop();
    assert.equal(code, 0);
  });
});
