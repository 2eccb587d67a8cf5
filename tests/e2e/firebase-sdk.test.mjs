// The unmodified Firebase JS SDK (firebase@12.19.0, modular API) against backside over WebSocket /.ws
//: writes, reads, listeners, queries, transactions, server values, REST interplay, several
// databases, multi-megabyte values, and firebase-admin.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  ref, set, get, update, push, remove, setPriority, setWithPriority, onValue, off, query, child,
  orderByChild, orderByKey, orderByValue, orderByPriority, startAt, startAfter, endAt, endBefore, equalTo,
  limitToFirst, limitToLast, onChildAdded, onChildChanged, onChildRemoved, onChildMoved, runTransaction,
  serverTimestamp, increment,
} from 'firebase/database';

import { startServer, curl } from './lib/server.mjs';
import { sdkClient, recordValues, equals } from './lib/fbsdk.mjs';

const NS = 'demo-sdk';
let server;
let a; // client A
let b; // client B

before(async () => {
  server = await startServer();
  a = sdkClient(server, { ns: NS });
  b = sdkClient(server, { ns: NS });
});

after(async () => {
  await a?.close();
  await b?.close();
  if (server) {
    const { code } = await server.stop();
    assert.equal(code, 0, `server exit code after SIGTERM; log:\n${server.log}`);
  }
});

const rest = async (p, { ns = NS, method = 'GET', body, exportFormat = false } = {}) => {
  const sep = p.includes('?') ? '&' : '?';
  const res = await curl(server.u(`${p}.json${sep}ns=${ns}${exportFormat ? '&format=export' : ''}`), {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.equal(res.status, 200, res.body);
  return res.json;
};

/** A fresh client that has never seen `p`: its get() must go to the server. */
async function freshGet(refPath, q) {
  const c = sdkClient(server, { ns: NS });
  try {
    const r = ref(c.db, refPath);
    return (await get(q ? q(r) : r)).exportVal();
  } finally {
    await c.close();
  }
}

describe('firebase SDK over /.ws', () => {
  test('set, setWithPriority, setPriority and remove are stored and seen by another client', async () => {
    const seen = recordValues(ref(b.db, 'basic'));
    await set(ref(a.db, 'basic/obj'), { name: 'Alice', age: 31, tags: ['x', 'y'] });
    await setWithPriority(ref(a.db, 'basic/leaf'), 'hello', 5);
    await setWithPriority(ref(a.db, 'basic/prioobj'), { k: 1 }, 'p');
    await setPriority(ref(a.db, 'basic/obj'), 2.5);
    const expected = {
      obj: { '.priority': 2.5, name: 'Alice', age: 31, tags: { 0: 'x', 1: 'y' } },
      leaf: { '.value': 'hello', '.priority': 5 },
      prioobj: { '.priority': 'p', k: 1 },
    };
    assert.deepEqual(await rest('/basic', { exportFormat: true }), expected);
    await seen.next(equals({ obj: { name: 'Alice', age: 31, tags: ['x', 'y'] }, leaf: 'hello', prioobj: { k: 1 } }));
    const snapshot = await get(ref(b.db, 'basic'));
    assert.deepEqual(snapshot.exportVal(), expected);
    await remove(ref(a.db, 'basic/obj'));
    await seen.next((v) => v && !('obj' in v) && v.leaf === 'hello');
    assert.deepEqual(await rest('/basic/obj'), null);
    seen.off();
  });

  test('update: multi-path, nested keys, .priority keys, nulls, server values, atomically', async () => {
    await set(ref(a.db, 'upd'), { keep: 1, gone: 2, deep: { x: 1, y: 2 }, meta: { x: 'v' } });
    const seen = recordValues(ref(b.db, 'upd'));
    await seen.next((v) => v?.keep === 1);
    const before = seen.values.length;
    await update(ref(a.db, 'upd'), {
      gone: null,
      'deep/y': 3,
      'deep/z/w': true,
      'meta/x/.priority': 7,
      added: { arr: [1, null, 3] },
      at: serverTimestamp(),
    });
    const value = await rest('/upd', { exportFormat: true });
    assert.equal(typeof value.at, 'number');
    assert.ok(Math.abs(value.at - Date.now()) < 60000);
    assert.deepEqual({ ...value, at: 0 }, {
      keep: 1, deep: { x: 1, y: 3, z: { w: true } }, meta: { x: { '.value': 'v', '.priority': 7 } },
      added: { arr: { 0: 1, 2: 3 } }, at: 0,
    });
    const after = await seen.next((v) => v?.deep?.y === 3 && typeof v.at === 'number' && v.gone === undefined);
    assert.equal(after.deep.z.w, true);
    // The update arrived as one atomic change: no intermediate value with only part of it applied.
    for (const v of seen.values.slice(before)) {
      assert.ok(v.deep.y === 2 ? v.gone === 2 && v.at === undefined : v.gone === undefined, JSON.stringify(v));
    }
    seen.off();
  });

  test('push creates chronologically ordered keys', async () => {
    const keys = [];
    for (let i = 0; i < 5; i++) keys.push((await push(ref(a.db, 'pushed'), { i })).key);
    assert.deepEqual([...keys].sort(), keys);
    const stored = await rest('/pushed');
    assert.deepEqual(Object.keys(stored).sort(), keys);
    assert.deepEqual(Object.values(stored).map((v) => v.i).sort(), [0, 1, 2, 3, 4]);
  });

  test('get on uncached and cached paths, with and without queries', async () => {
    await rest('/getme', { method: 'PUT', body: { a: { n: 3 }, b: { n: 1 }, c: { n: 2 }, d: 'leaf' } });
    assert.deepEqual(await freshGet('getme/a'), { n: 3 });
    assert.equal(await freshGet('getme/missing'), null);
    // "d" has no child "n": it sorts first (as null).
    assert.deepEqual(await freshGet('getme', (r) => query(r, orderByChild('n'), limitToFirst(2))), {
      d: 'leaf', b: { n: 1 },
    });
    assert.deepEqual(await freshGet('getme', (r) => query(r, orderByChild('n'), startAt(1), limitToFirst(2))), {
      b: { n: 1 }, c: { n: 2 },
    });
    assert.deepEqual(await freshGet('getme', (r) => query(r, orderByKey(), startAfter('a'), endBefore('d'))), {
      b: { n: 1 }, c: { n: 2 },
    });
    // Cached: client B listens, then reads; the value must agree with the server's.
    const seen = recordValues(ref(b.db, 'getme'));
    await seen.next((v) => v?.d === 'leaf');
    assert.deepEqual((await get(ref(b.db, 'getme/b'))).val(), { n: 1 });
    const limited = await get(query(ref(b.db, 'getme'), orderByChild('n'), limitToLast(1)));
    assert.deepEqual(limited.val(), { a: { n: 3 } });
    seen.off();
  });

  test('child events: added, changed, removed, moved; off stops them', async () => {
    await set(ref(a.db, 'kids'), { k1: { n: 1 }, k2: { n: 2 }, k3: { n: 3 } });
    const events = [];
    const q = query(ref(b.db, 'kids'), orderByChild('n'));
    const log = (kind) => (snapshot, prev) => events.push(`${kind}:${snapshot.key}:${prev ?? ''}`);
    const offs = [
      onChildAdded(q, log('added')),
      onChildChanged(q, log('changed')),
      onChildRemoved(q, (s) => events.push(`removed:${s.key}`)),
      onChildMoved(q, log('moved')),
    ];
    const waitEvent = async (e) => {
      for (let i = 0; i < 200 && !events.includes(e); i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(events.includes(e), `missing ${e}; got ${events.join(' ')}`);
    };
    await waitEvent('added:k3:k2');
    assert.deepEqual(events.slice(0, 3), ['added:k1:', 'added:k2:k1', 'added:k3:k2']);
    await set(ref(a.db, 'kids/k1/n'), 10); // moves k1 to the end
    await waitEvent('moved:k1:k3');
    await waitEvent('changed:k1:k3');
    await set(ref(a.db, 'kids/k4'), { n: 0 });
    await waitEvent('added:k4:');
    await remove(ref(a.db, 'kids/k2'));
    await waitEvent('removed:k2');
    for (const unsubscribe of offs) unsubscribe();
    const count = events.length;
    await set(ref(a.db, 'kids/k5'), { n: 5 });
    await rest('/kids/k5'); // the write is committed
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(events.length, count, `events after off: ${events.slice(count).join(' ')}`);
  });

  test('limited queries keep the window live on the server: children enter and leave', async () => {
    await rest('/win', { method: 'PUT', body: { a: { s: 1 }, b: { s: 2 }, c: { s: 3 }, d: { s: 4 } } });
    // Client B holds only the query (never the whole location), so entering children can only come from the server.
    const top2 = recordValues(query(ref(b.db, 'win'), orderByChild('s'), limitToLast(2)));
    await top2.next(equals({ c: { s: 3 }, d: { s: 4 } }));
    await rest('/win/e', { method: 'PUT', body: { s: 10 } }); // enters, pushes c out
    await top2.next(equals({ d: { s: 4 }, e: { s: 10 } }));
    await rest('/win/e', { method: 'DELETE' }); // leaves: c must come back from the server
    await top2.next(equals({ c: { s: 3 }, d: { s: 4 } }), { what: 'c to re-enter the window' });
    await rest('/win/d/s', { method: 'PUT', body: 0 }); // d drops out of the top 2, b enters
    await top2.next(equals({ b: { s: 2 }, c: { s: 3 } }));
    top2.off();

    const first = recordValues(query(ref(b.db, 'win'), orderByKey(), startAt('b'), limitToFirst(2)));
    await first.next(equals({ b: { s: 2 }, c: { s: 3 } }));
    await set(ref(a.db, 'win/bb'), { s: 9 });
    await first.next(equals({ b: { s: 2 }, bb: { s: 9 } }));
    await remove(ref(a.db, 'win/b'));
    await first.next(equals({ bb: { s: 9 }, c: { s: 3 } }));
    first.off();
  });

  test('every query kind: orderByChild/Key/Value/Priority with start/end/equal/startAfter/endBefore', async () => {
    await rest('/qk', { method: 'PUT', body: {
      k1: { '.value': 1, '.priority': 10 }, k2: { '.value': 2, '.priority': 20 }, k3: { '.value': 3, '.priority': 'm' },
      k4: { '.value': 3, '.priority': 'z' }, k5: { '.value': 'str', '.priority': 5 },
    } });
    const r = ref(b.db, 'qk');
    const cases = [
      [query(r, orderByValue(), startAt(2), endAt(3)), { k2: 2, k3: 3, k4: 3 }],
      [query(r, orderByValue(), equalTo(3, 'k4')), { k4: 3 }],
      [query(r, orderByValue(), startAfter(1), endBefore(3)), { k2: 2 }],
      [query(r, orderByValue(), startAt('a')), { k5: 'str' }],
      [query(r, orderByPriority(), endAt(10)), { k5: 'str', k1: 1 }],
      [query(r, orderByPriority(), startAt('m')), { k3: 3, k4: 3 }],
      [query(r, orderByPriority(), startAfter(5), endBefore('z')), { k1: 1, k2: 2, k3: 3 }],
      [query(r, orderByKey(), startAt('k2'), endAt('k3')), { k2: 2, k3: 3 }],
      [query(r, orderByKey(), equalTo('k5')), { k5: 'str' }],
      [query(r, orderByKey(), limitToLast(2)), { k4: 3, k5: 'str' }],
    ];
    for (const [q, expected] of cases) {
      const rec = recordValues(q);
      await rec.next(equals(expected), { what: JSON.stringify(expected) });
      rec.off();
    }
    await rest('/qc', { method: 'PUT', body: { x: { age: 30, n: { d: 'b' } }, y: { age: 20, n: { d: 'a' } }, z: { n: { d: 'c' } } } });
    const byDeep = recordValues(query(ref(b.db, 'qc'), orderByChild('n/d'), startAfter('a')));
    await byDeep.next(equals({ x: { age: 30, n: { d: 'b' } }, z: { n: { d: 'c' } } }));
    byDeep.off();
    const byAge = recordValues(query(ref(b.db, 'qc'), orderByChild('age'), equalTo(null)));
    await byAge.next(equals({ z: { n: { d: 'c' } } }));
    byAge.off();
  });

  test('runTransaction retries on a stale hash (the client had no data) and ends right', async () => {
    await rest('/tx/counter', { method: 'PUT', body: 10 });
    const c = sdkClient(server, { ns: NS });
    try {
      const result = await runTransaction(ref(c.db, 'tx/counter'), (v) => (v ?? 0) + 1);
      assert.equal(result.committed, true);
      assert.equal(result.snapshot.val(), 11);
      assert.equal(await rest('/tx/counter'), 11);
      // A transaction on an object with priorities and integer-like keys (the hash must match the SDK's).
      await rest('/tx/obj', { method: 'PUT', body: { 9: 2.5, 10: true, a: 'x', n: { deep: { s: 'é' } },
        b: { '.value': 1, '.priority': 5 }, z: { k: -0.5, '.priority': 'p' } } });
      const r2 = await runTransaction(ref(c.db, 'tx/obj'), (v) => (v ? { ...v, a: 'y' } : v));
      assert.equal(r2.committed, true);
      assert.equal((await rest('/tx/obj')).a, 'y');
    } finally {
      await c.close();
    }
  });

  test('serverTimestamp, increment, .info/serverTimeOffset and .info/connected', async () => {
    const connected = recordValues(ref(a.db, '.info/connected'));
    await connected.next((v) => v === true);
    const offsets = recordValues(ref(a.db, '.info/serverTimeOffset'));
    const offset = await offsets.next((v) => typeof v === 'number');
    assert.ok(Math.abs(offset) < 5000, `offset ${offset}`);
    offsets.off();
    const before = Date.now();
    await set(ref(a.db, 'sv/ts'), serverTimestamp());
    const ts = await rest('/sv/ts');
    assert.ok(ts >= before - 1000 && ts <= Date.now() + 1000, `ts ${ts}`);
    await set(ref(a.db, 'sv/n'), 5);
    await set(ref(a.db, 'sv/n'), increment(3));
    await update(ref(a.db, 'sv'), { n: increment(-1.5), s: increment(2) });
    await set(ref(a.db, 'sv/str'), 'text');
    await set(ref(a.db, 'sv/str'), increment(4)); // not a number: becomes the increment
    assert.deepEqual(await rest('/sv'), { ts, n: 6.5, s: 2, str: 4 });
    connected.off();
  });

  test('REST writes reach SDK listeners and SDK writes are visible over REST', async () => {
    const seen = recordValues(ref(a.db, 'mixed'));
    await rest('/mixed', { method: 'PUT', body: { from: 'rest' } });
    await seen.next(equals({ from: 'rest' }));
    await rest('/mixed', { method: 'PATCH', body: { 'x/y': 1 } });
    await seen.next(equals({ from: 'rest', x: { y: 1 } }));
    const pushed = await rest('/mixed/list', { method: 'POST', body: 'item' });
    await seen.next((v) => v?.list?.[pushed.name] === 'item');
    await set(ref(b.db, 'mixed/from'), 'sdk');
    assert.equal(await rest('/mixed/from'), 'sdk');
    await seen.next((v) => v?.from === 'sdk');
    seen.off();
  });

  test('several databases by ns are independent', async () => {
    const other = sdkClient(server, { ns: 'demo-sdk-other' });
    try {
      await set(ref(a.db, 'nsval'), 'in sdk');
      await set(ref(other.db, 'nsval'), 'in other');
      assert.equal(await rest('/nsval'), 'in sdk');
      assert.equal(await rest('/nsval', { ns: 'demo-sdk-other' }), 'in other');
      assert.equal((await get(ref(other.db, 'nsval'))).val(), 'in other');
    } finally {
      await other.close();
    }
  });

  test('a value of several MB travels both ways (frames split and reassembled)', async () => {
    // Client -> server: the SDK cuts its frames every 16384 UTF-16 code units, which can split a surrogate pair
    // (its WebSocket then sends U+FFFD for each half): an SDK limitation, so this direction uses BMP characters.
    const big = {};
    for (let i = 0; i < 40; i++) big[`k${i}`] = `${i}:` + 'é€x'.repeat(30000); // ~ 5 MB of UTF-8
    const seen = recordValues(ref(b.db, 'big'));
    await set(ref(a.db, 'big'), big);
    const received = await seen.next((v) => v !== null, { timeoutMs: 20000 });
    assert.deepEqual(received, big);
    assert.deepEqual(await rest('/big'), big);
    assert.deepEqual(await freshGet('big'), big);
    seen.off();
    // Server -> client: the server splits on UTF-8 character boundaries, so astral characters survive.
    const astral = {};
    for (let i = 0; i < 10; i++) astral[`k${i}`] = `${i}:` + 'é€𝄞x'.repeat(25000);
    await rest('/bigastral', { method: 'PUT', body: astral });
    const astralSeen = recordValues(ref(b.db, 'bigastral'));
    assert.deepEqual(await astralSeen.next((v) => v !== null, { timeoutMs: 20000 }), astral);
    astralSeen.off();
    assert.deepEqual(await freshGet('bigastral'), astral);
  });

  test('firebase-admin reads and writes with FIREBASE_DATABASE_EMULATOR_HOST', async () => {
    process.env.FIREBASE_DATABASE_EMULATOR_HOST = `127.0.0.1:${server.port}`;
    const admin = (await import('firebase-admin')).default;
    const adminApp = admin.initializeApp({ projectId: 'demo-admin', databaseURL: `http://127.0.0.1:${server.port}?ns=${NS}` }, 'admin-e2e');
    try {
      const database = adminApp.database();
      await database.ref('admin/written').set({ by: 'admin', at: admin.database.ServerValue.TIMESTAMP });
      const snap = await database.ref('admin/written').once('value');
      assert.equal(snap.val().by, 'admin');
      assert.equal(typeof snap.val().at, 'number');
      assert.equal((await rest('/admin/written/by')), 'admin');
      await set(ref(a.db, 'admin/fromsdk'), 42);
      assert.equal((await database.ref('admin/fromsdk').once('value')).val(), 42);
      const tx = await database.ref('admin/count').transaction((v) => (v ?? 0) + 1);
      assert.equal(tx.committed, true);
      assert.equal(await rest('/admin/count'), 1);
    } finally {
      await adminApp.delete();
      delete process.env.FIREBASE_DATABASE_EMULATOR_HOST;
    }
  });
});
