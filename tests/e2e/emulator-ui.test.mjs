// The Firebase Emulator UI's database viewer (firebase/firebase-tools-ui, src/components/Database/DataViewer) against
// a real `backside serve --dev`: every request it sends, built the way it builds them.
//
// Per location the viewer (common/fetch.ts):
//   1. canDoRealtime: GET <ref>.json?print=silent&timeout=1s&ns=NS with `Authorization: Bearer owner` (a browser
//      preflights it: the header is not a simple one);
//   2. realtime: the SDK, connected with connectDatabaseEmulator(db, host, port, {mockUserToken: 'owner'}), reads the
//      location, then its query: limitToFirst(limit), or orderByChild(key).limitToFirst(limit) with equalTo /
//      endAt / startAt(value) for the operators == <= >=;
//   3. non-realtime (when 1 fails): GET <ref>.json?orderBy=KEY&limitToFirst=N[&equalTo|endAt|startAt=VALUE]
//      &shallow=true&ns=NS with the same header; KEY and VALUE raw (encodeURIComponent of the text, not JSON) and
//      orderBy left out without a key. The viewer shows Object.keys of the answer.
// The test checks that 1 and 3 work, and that 3 lists the same children as 2 for the same query.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { ref, query, get, orderByChild, limitToFirst, equalTo, endAt, startAt } from 'firebase/database';

import { startServer } from './lib/server.mjs';
import { sdkClient } from './lib/fbsdk.mjs';

const NS = 'emulator-ui';
const OWNER = { Authorization: 'Bearer owner' };
const UI_ORIGIN = 'http://127.0.0.1:4000';

// Priorities make the default order (by priority, then key) differ from the key order: dave (none) < bob (1) <
// carol (2) < alice (3) < erin ("x").
const USERS = {
  alice: { age: 31, group: 'chest', '.priority': 3 },
  bob: { age: 25, group: 'legs', '.priority': 1 },
  carol: { age: 40, group: 'chest', '.priority': 2 },
  dave: { age: 30, group: 'back' },
  erin: { age: 30, group: 'legs', '.priority': 'x' },
};

let server;
let client;

before(async () => {
  server = await startServer();
  const seed = await fetch(server.u(`/.json?ns=${NS}`), {
    method: 'PUT',
    headers: OWNER,
    body: JSON.stringify({ users: USERS, motto: 'lift' }),
  });
  assert.equal(seed.status, 200, await seed.text());
  // Closed to everyone but the owner: the viewer's requests get through as the admin, as on the emulator.
  const rules = await fetch(server.u(`/.settings/rules.json?ns=${NS}`), {
    method: 'PUT',
    headers: OWNER,
    body: '{"rules": {".read": false, ".write": false}}',
  });
  assert.equal(rules.status, 200, await rules.text());
  client = sdkClient(server, { ns: NS, mockUserToken: 'owner' });
});

after(async () => {
  if (client) await client.close();
  if (server) assert.equal((await server.stop()).code, 0, server.log);
});

// --- The viewer's code (fetch.ts, view_model.ts), kept to what builds the requests ---

const DEFAULT_PAGE_SIZE = 50;
const REST_TIMEOUT = '1s';

/** view_model.ts getDbRootUrl: the SDK's repo key, "http://host:port/?ns=NS" for an emulator. */
const getDbRootUrl = (reference) => reference._repo.key;

function restUrl(reference, params) {
  const rootUrl = getDbRootUrl(reference);
  if (rootUrl.indexOf('?ns=') >= 0) {
    const ns = rootUrl.split('?ns=')[1];
    params = { ...params, ns };
  }
  const q = Object.entries(params)
    .filter(([, value]) => !!value)
    .map(([key, value]) => `${key}=${encodeURIComponent(value)}`)
    .join('&');
  return `${reference.toString()}.json?${q}`;
}

function getRestQueryParams({ key, operator, value, limit }) {
  const params = { orderBy: key, limitToFirst: `${limit || DEFAULT_PAGE_SIZE}` };
  if (key && operator && value) {
    if (operator === '==') params.equalTo = value;
    if (operator === '<=') params.endAt = value;
    if (operator === '>=') params.startAt = value;
  }
  return params;
}

function applyQuery(reference, { key, operator, value, limit }) {
  if (key != null && operator != null && value != null) {
    const base = query(reference, orderByChild(key), limitToFirst(limit || DEFAULT_PAGE_SIZE));
    if (operator === '==') return query(base, equalTo(value));
    if (operator === '<=') return query(base, endAt(value));
    if (operator === '>=') return query(base, startAt(value));
  }
  return query(reference, limitToFirst(limit || DEFAULT_PAGE_SIZE));
}

const canDoRealtimeUrl = (reference) => restUrl(reference, { print: 'silent', timeout: REST_TIMEOUT });
const nonRealtimeUrl = (reference, params) => restUrl(reference, { ...getRestQueryParams(params), shallow: 'true' });

// ---

test('the viewer reaches Backside as the emulator: its URLs carry ?ns=, owner is the admin', () => {
  const users = ref(client.db, 'users');
  assert.equal(getDbRootUrl(users), `http://127.0.0.1:${server.port}/?ns=${NS}`);
  assert.equal(canDoRealtimeUrl(users), `http://127.0.0.1:${server.port}/users.json?print=silent&timeout=1s&ns=${NS}`);
  assert.equal(
    nonRealtimeUrl(users, { key: 'age', operator: '>=', value: 30, limit: 50 }),
    `http://127.0.0.1:${server.port}/users.json?orderBy=age&limitToFirst=50&startAt=30&shallow=true&ns=${NS}`,
  );
});

test('1. canDoRealtime: the preflight allows the header, the silent read with timeout=1s answers 204', async () => {
  for (const reference of [ref(client.db), ref(client.db, 'users'), ref(client.db, 'users/alice/age'), ref(client.db, 'none')]) {
    const url = canDoRealtimeUrl(reference);
    const preflight = await fetch(url, {
      method: 'OPTIONS',
      headers: { Origin: UI_ORIGIN, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization' },
    });
    assert.ok(preflight.status === 200 || preflight.status === 204, `preflight ${url}: ${preflight.status}`);
    assert.equal(preflight.headers.get('access-control-allow-origin'), '*');
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /authorization/i);
    assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /GET/);

    const silent = await fetch(url, { headers: { ...OWNER, Origin: UI_ORIGIN } });
    assert.equal(silent.status, 204, `${url}: ${silent.status} ${await silent.clone().text()}`);
    assert.equal(await silent.text(), '');
    assert.equal(silent.headers.get('access-control-allow-origin'), '*');
  }
  // The owner is what gets it through the closed rules.
  const anonymous = await fetch(canDoRealtimeUrl(ref(client.db, 'users')));
  assert.equal(anonymous.status, 401);
});

test('2. realtime: the SDK with mockUserToken "owner" reads through the closed rules', async () => {
  const snapshot = await get(ref(client.db, 'users/alice'));
  assert.deepEqual(snapshot.val(), { age: 31, group: 'chest' });
});

test('3. non-realtime: the shallow query lists the children the realtime query shows', async () => {
  const queries = [
    { limit: DEFAULT_PAGE_SIZE }, // the viewer's default
    { limit: 2 }, // by priority: dave, bob
    { limit: 4 },
    { key: 'age', operator: '>=', value: 30, limit: 50 },
    { key: 'age', operator: '>=', value: 30, limit: 2 },
    { key: 'age', operator: '<=', value: 30, limit: 50 },
    { key: 'age', operator: '==', value: 30, limit: 50 },
    { key: 'group', operator: '==', value: 'chest', limit: 50 },
    { key: 'group', operator: '>=', value: 'chest', limit: 1 },
    { key: 'group', operator: '<=', value: 'legs', limit: 3 },
    { key: 'group', operator: '==', value: 'none', limit: 50 },
  ];
  const users = ref(client.db, 'users');
  for (const params of queries) {
    const snapshot = await get(applyQuery(users, params));
    const realtime = snapshot.exists() ? Object.keys(snapshot.val()) : [];
    const response = await fetch(nonRealtimeUrl(users, params), { headers: OWNER });
    const body = await response.json();
    assert.equal(response.status, 200, `${JSON.stringify(params)}: ${JSON.stringify(body)}`);
    const listed = Object.keys(body ?? {});
    assert.deepEqual(listed.sort(), realtime.sort(), JSON.stringify(params));
    for (const value of Object.values(body ?? {})) assert.equal(value, true);
  }
  // Spot checks of what those lists are.
  const keys = async (params) => Object.keys((await (await fetch(nonRealtimeUrl(users, params), { headers: OWNER })).json()) ?? {}).sort();
  assert.deepEqual(await keys({ limit: 2 }), ['bob', 'dave']);
  assert.deepEqual(await keys({ key: 'age', operator: '>=', value: 30, limit: 2 }), ['dave', 'erin']);
  assert.deepEqual(await keys({ key: 'group', operator: '==', value: 'chest', limit: 50 }), ['alice', 'carol']);
});

test('3. non-realtime on the root and on a leaf', async () => {
  const root = await fetch(nonRealtimeUrl(ref(client.db), {}), { headers: OWNER });
  assert.equal(root.status, 200);
  assert.deepEqual(await root.json(), { motto: true, users: true });
  // A leaf has no children: the query answers null (Object.keys(null) would throw in the viewer, which reads
  // leaves through the SDK instead: it queries only locations that have children).
  const leaf = await fetch(nonRealtimeUrl(ref(client.db, 'motto'), {}), { headers: OWNER });
  assert.equal(leaf.status, 200);
  assert.equal(await leaf.json(), null);
});
