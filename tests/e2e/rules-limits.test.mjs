// Work one request can cause, against a production-configured server (rules file and
// admin token, no --dev): an update of max_update_keys keys is checked per key in well under a second's work, and
// one key more is refused in each door's form with nothing written; rules whose expression trees are too deep to
// evaluate are refused at deploy time, with the place; absurdly deep request JSON is an error, not a crash.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { ref, update } from 'firebase/database';
import WebSocket from 'ws';
import { Client } from '@stomp/stompjs';

import { startServer, curl, makeTempDir, within } from './lib/server.mjs';
import { sdkClient } from './lib/fbsdk.mjs';

const RULES = `{
  "rules": {
    "items": {
      "$k": {
        // Anyone may add an item; each key is checked on its own, and looks at data, newData and its parent.
        ".write": "auth == null && !data.exists() && newData.parent().hasChildren()",
        ".validate": "newData.child('n').isNumber() && newData.child('n').val() >= 0"
      }
    }
  }
}`;
const ADMIN = 'update-limits-admin-token-0123456789';
const LIMIT = 10000; // the default max_update_keys

/** An update of `count` keys under `prefix`, each passing the rules. */
const updateOf = (prefix, count) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`${prefix}${i}`, { n: i }]));

describe('multi-path updates at and over max_update_keys', () => {
  let server;
  before(async () => {
    const rulesFile = path.join(makeTempDir(), 'database.rules.json');
    fs.writeFileSync(rulesFile, RULES);
    server = await startServer({ dev: false, args: ['--rules', rulesFile, '--admin-token', ADMIN] });
  });
  after(async () => {
    assert.equal((await server.stop()).code, 0);
  });

  const rest = (p, { method = 'GET', body, auth } = {}) =>
    curl(server.u(`${p}.json${auth ? `?auth=${auth}` : ''}`), {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const count = async (prefix) => {
    const items = (await rest('/items', { auth: ADMIN })).json ?? {};
    return Object.keys(items).filter((key) => key.startsWith(prefix)).length;
  };

  test('REST PATCH: the limit is checked per key and fast; one key more is 413 and writes nothing', async () => {
    const started = Date.now();
    const ok = await rest('/items', { method: 'PATCH', body: updateOf('a', LIMIT) });
    const elapsed = Date.now() - started;
    assert.equal(ok.status, 200, ok.body.slice(0, 200));
    assert.equal(await count('a'), LIMIT);
    // Quadratic checking took 22 s for 10,000 keys on a busy 2-core machine; now it takes about 0.6 s there.
    assert.ok(elapsed < 5000, `${LIMIT}-key PATCH took ${elapsed} ms`);
    // The rules still decide per key: one bad value refuses the whole update.
    const bad = updateOf('b', 100);
    bad.b50 = { n: -1 };
    assert.equal((await rest('/items', { method: 'PATCH', body: bad })).status, 401);
    assert.equal(await count('b'), 0);

    const over = await rest('/items', { method: 'PATCH', body: updateOf('c', LIMIT + 1) });
    assert.equal(over.status, 413);
    assert.deepEqual(over.json, {
      error: `Update has too many keys: ${LIMIT + 1}, the limit is ${LIMIT} (max_update_keys)`,
    });
    assert.equal(await count('c'), 0);
    // The admin is bound too: the limit is about the work of one request, not about permission.
    assert.equal((await rest('/items', { method: 'PATCH', body: updateOf('d', LIMIT + 1), auth: ADMIN })).status, 413);
    assert.equal(await count('d'), 0);
  });

  test('rules with a 100,000-term operator chain are refused at deploy; a long || chain deploys and works', async () => {
    const settings = (body) =>
      curl(server.u(`/.settings/rules.json?auth=${ADMIN}`), { method: 'PUT', body: JSON.stringify(body) });
    const deep = await settings({ rules: { '.read': `${Array(100000).fill('1').join('+')} == 1` } });
    assert.equal(deep.status, 400);
    assert.match(deep.json.error, /^invalid rules at \/rules\/\.read \(line 1, column \d+\): expression too deep/);
    // The active rules are unchanged: anonymous items writes still pass.
    assert.equal((await rest('/items/z0', { method: 'PUT', body: { n: 1 } })).status, 200);
    const chain = `${Array(100000).fill('auth != null').join(' || ')} || true`;
    assert.equal((await settings({ rules: { '.read': chain, '.write': false } })).status, 200);
    assert.equal((await rest('/items/z0')).status, 200);
    assert.equal((await rest('/items/z1', { method: 'PUT', body: { n: 1 } })).status, 401);
    assert.equal((await curl(server.u(`/.settings/rules.json?auth=${ADMIN}`), { method: 'PUT', body: RULES })).status, 200);
  });

  test('a 1,000,000-deep JSON body is refused as too deep; the server keeps serving', async () => {
    const depth = 1000000;
    for (const body of ['['.repeat(depth) + ']'.repeat(depth), '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)]) {
      const response = await curl(server.u(`/deep.json?auth=${ADMIN}`), { method: 'PUT', body });
      assert.equal(response.status, 400);
      assert.deepEqual(response.json, { error: 'Data is too deep: more than 32 levels' });
    }
    assert.equal((await rest('/deep', { auth: ADMIN })).json, null);
  });

  test('Firebase SDK update(): over the limit is refused with too_big', async (t) => {
    const client = sdkClient(server, { ns: 'default', t });
    await update(ref(client.db, 'items'), updateOf('e', 100));
    assert.equal(await count('e'), 100);
    await assert.rejects(update(ref(client.db, 'items'), updateOf('f', LIMIT + 1)), /too_big|too many keys/i);
    assert.equal(await count('f'), 0);
  });

  test('STOMP update SEND: over the limit gets a too_large receipt', async () => {
    const client = new Client({
      webSocketFactory: () => new WebSocket(`${server.url.replace('http', 'ws')}/stomp`, ['v12.stomp']),
      connectHeaders: { host: 'default' },
      reconnectDelay: 0,
      heartbeatIncoming: 0,
      heartbeatOutgoing: 0,
    });
    const connected = new Promise((resolve) => {
      client.onConnect = () => resolve('connected');
      client.onStompError = (frame) => resolve(`error: ${frame.headers.message}`);
    });
    client.activate();
    try {
      assert.equal(await within(connected, 5000), 'connected');
      const send = (body) => {
        const receipt = `r-${Math.random().toString(36).slice(2)}`;
        const got = new Promise((resolve) => client.watchForReceipt(receipt, resolve));
        client.publish({ destination: '/items', body: JSON.stringify(body), headers: { receipt, method: 'update' } });
        return within(got, 10000);
      };
      assert.equal((await send(updateOf('g', 10))).headers.status, 'ok');
      const over = await send(updateOf('h', LIMIT + 1));
      assert.equal(over.headers.status, 'too_large');
      assert.equal(await count('g'), 10);
      assert.equal(await count('h'), 0);
    } finally {
      await client.deactivate();
    }
  });
});
