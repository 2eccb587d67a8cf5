// One tree, three doors: STOMP subscribers (@stomp/stompjs over WebSocket) see writes made over REST (curl) and
// over the Firebase protocol (the Firebase JS SDK), and the other way round; and a property test: random writes
// from several clients through every door, after which every STOMP subscriber's reconstructed value equals the
// server's value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ref, set, update, remove, onValue } from 'firebase/database';

import { startServer, curl, waitFor } from './lib/server.mjs';
import { stompClient, sendWithReceipt } from './lib/stompjs.mjs';
import { sdkClient } from './lib/fbsdk.mjs';
import { canonical } from './lib/stream.mjs';

const sortKeys = (v) =>
  v !== null && typeof v === 'object'
    ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]))
    : v;
const same = (a, b) => JSON.stringify(sortKeys(canonical(a))) === JSON.stringify(sortKeys(canonical(b)));

function setAt(value, segments, replacement) {
  if (segments.length === 0) return canonical(replacement);
  // Removing something below a leaf (or below nothing) changes nothing: the leaf stays.
  if (replacement === null && (value === null || typeof value !== 'object')) return value;
  const base = value !== null && typeof value === 'object' ? { ...value } : {};
  const [head, ...rest] = segments;
  base[head] = setAt(base[head] ?? null, rest, replacement);
  return canonical(base);
}

/** The MESSAGE semantics of docs/protocol.md §5: put replaces at path; patch keys are relative paths. */
function applyMessage(value, event, path, data) {
  const at = path.split('/').filter(Boolean);
  if (event === 'put') return setAt(value, at, data);
  let next = value;
  for (const [key, child] of Object.entries(data)) next = setAt(next, [...at, ...key.split('/').filter(Boolean)], child);
  return next;
}

/** Keeps the value of a STOMP subscription, rebuilt from its put/patch MESSAGEs as a client would. */
function mirror(client, destination) {
  const state = { value: null, messages: 0 };
  client.subscribe(destination, (message) => {
    const data = JSON.parse(message.body);
    state.value = applyMessage(state.value, message.headers.event, message.headers.path, data);
    state.messages++;
  });
  return state;
}

test('STOMP sees REST and Firebase SDK writes; the SDK and REST see STOMP writes', async (t) => {
  const server = await startServer({ t });
  const stomp = await stompClient(server);
  t.after(() => stomp.deactivate());
  const sdk = sdkClient(server, { ns: 'default', t });

  const seen = mirror(stomp, '/shared');
  await waitFor(() => seen.messages === 1, { message: 'the initial message' });
  await set(ref(sdk.db, 'shared/fromSdk'), { n: 1 });
  await update(ref(sdk.db, 'shared'), { 'fromSdk/m': 2, other: true });
  await curl(server.u('/shared/fromRest.json'), { method: 'PUT', body: '"r"' });
  await waitFor(() => same(seen.value, { fromSdk: { n: 1, m: 2 }, other: true, fromRest: 'r' }), {
    message: 'the SDK and REST writes over STOMP',
  });

  const sdkValues = [];
  onValue(ref(sdk.db, 'shared/fromStomp'), (snapshot) => sdkValues.push(snapshot.val()));
  assert.equal((await sendWithReceipt(stomp, '/shared/fromStomp', { s: 1 })).headers.status, 'ok');
  assert.equal((await sendWithReceipt(stomp, '/shared/fromStomp', { t: 2 }, { method: 'update' })).headers.status, 'ok');
  await waitFor(() => sdkValues.some((v) => v && v.s === 1 && v.t === 2), { message: 'the STOMP writes in the SDK' });
  assert.deepEqual((await curl(server.u('/shared/fromStomp.json'))).json, { s: 1, t: 2 });
  await remove(ref(sdk.db, 'shared'));
  await waitFor(() => seen.value === null, { message: 'the removal over STOMP' });
});

test('property: random writes through every door; every STOMP subscriber ends with the server value', async (t) => {
  const server = await startServer({ t });
  let seed = 20261128;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const pick = (items) => items[Math.floor(random() * items.length)];
  const keys = ['a', 'b', 'c', '1', '10'];
  const randomPath = () => Array.from({ length: 1 + Math.floor(random() * 3) }, () => pick(keys)).join('/');
  const randomValue = () => pick([null, 1, 'x', true, { [pick(keys)]: Math.floor(random() * 100) }, [1, 2]]);

  const writers = await Promise.all([stompClient(server), stompClient(server)]);
  const readers = await Promise.all([stompClient(server), stompClient(server)]);
  const sdk = sdkClient(server, { ns: 'default', t });
  t.after(() => Promise.all([...writers, ...readers].map((c) => c.deactivate())));
  const mirrors = [mirror(readers[0], '/prop'), mirror(readers[1], '/prop/a'), mirror(writers[0], '/prop')];
  await waitFor(() => mirrors.every((m) => m.messages >= 1), { message: 'initial messages' });

  const operations = [];
  for (let i = 0; i < 150; i++) {
    const door = pick(['stomp0', 'stomp1', 'rest', 'sdk']);
    const path = `prop/${randomPath()}`;
    const kind = pick(['set', 'set', 'update', 'remove']);
    const value = randomValue();
    const updateBody = { [pick(['a', 'b'])]: randomValue(), [`${pick(['c', '1', '10'])}/${pick(keys)}x`]: randomValue() };
    if (door.startsWith('stomp')) {
      const client = writers[Number(door.slice(5))];
      const body = kind === 'update' ? updateBody : kind === 'remove' ? null : value;
      operations.push(sendWithReceipt(client, `/${path}`, body, { method: kind }));
    } else if (door === 'rest') {
      const method = kind === 'update' ? 'PATCH' : kind === 'remove' ? 'DELETE' : 'PUT';
      const body = kind === 'update' ? updateBody : kind === 'remove' ? undefined : value;
      operations.push(curl(server.u(`/${path}.json`), { method, body: body === undefined ? undefined : JSON.stringify(body) }));
    } else {
      const target = ref(sdk.db, path);
      operations.push(kind === 'update' ? update(target, updateBody) : kind === 'remove' ? remove(target) : set(target, value));
    }
    if (i % 10 === 9) await Promise.all(operations.splice(0)); // a little concurrency, bounded
  }
  await Promise.all(operations);
  const final = (await curl(server.u('/prop.json'))).json;
  const finalA = (await curl(server.u('/prop/a.json'))).json;
  // Everything is committed; the last deliveries may still be on the wire.
  await waitFor(
    () =>
      same(mirrors[0].value, final) && same(mirrors[2].value, final) && same(mirrors[1].value, finalA),
    { timeoutMs: 10000, message: `mirrors to converge on ${JSON.stringify(final)}` },
  );
});
