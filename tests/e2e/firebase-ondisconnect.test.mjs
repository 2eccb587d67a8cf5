// onDisconnect with the real SDK: operations queued by a client run when its connection closes
// (the app is deleted, or the client process is SIGKILLed), server values resolved then; cancel forgets them; the
// Firebase presence pattern works.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { ref, set, onDisconnect, onValue, serverTimestamp, push } from 'firebase/database';

import { startServer, curl, waitFor } from './lib/server.mjs';
import { sdkClient, recordValues, equals } from './lib/fbsdk.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const NS = 'demo-od';
let server;
let watcher;

before(async () => {
  server = await startServer();
  watcher = sdkClient(server, { ns: NS });
});

after(async () => {
  await watcher?.close();
  if (server) {
    const { code } = await server.stop();
    assert.equal(code, 0, `server exit code after SIGTERM; log:\n${server.log}`);
  }
});

const rest = async (p) => {
  const res = await curl(server.u(`${p}.json?ns=${NS}`));
  assert.equal(res.status, 200, res.body);
  return res.json;
};

describe('onDisconnect', () => {
  test('set, update, remove and setWithPriority run when the connection closes; cancel forgets', async () => {
    const c = sdkClient(server, { ns: NS });
    await set(ref(c.db, 'od/remove-me'), 'here');
    await set(ref(c.db, 'od/cancelled'), 'stays');
    await onDisconnect(ref(c.db, 'od/status')).set({ online: false, at: serverTimestamp() });
    await onDisconnect(ref(c.db, 'od/profile')).update({ seen: serverTimestamp(), 'nested/flag': true });
    await onDisconnect(ref(c.db, 'od/remove-me')).remove();
    await onDisconnect(ref(c.db, 'od/prio')).setWithPriority('p', 3);
    await onDisconnect(ref(c.db, 'od/cancelled')).set('overwritten');
    await onDisconnect(ref(c.db, 'od/cancelled')).cancel();
    // Cancel below a queued object keeps its other children.
    await onDisconnect(ref(c.db, 'od/split')).set({ a: 1, b: 2 });
    await onDisconnect(ref(c.db, 'od/split/b')).cancel();
    const seen = recordValues(ref(watcher.db, 'od'));
    await seen.next((v) => v?.['remove-me'] === 'here');
    assert.equal(await rest('/od/status'), null, 'nothing runs while the client is connected');
    const closedAt = Date.now();
    await c.close();
    const after = await seen.next((v) => v?.status?.online === false && v?.profile?.nested?.flag === true, {
      what: 'the onDisconnect writes',
    });
    assert.ok(after.status.at >= closedAt - 1000, 'timestamp resolved at disconnect, not at registration');
    assert.equal(after.profile.seen, after.status.at, 'one timestamp for the whole disconnect write');
    assert.equal(after['remove-me'], undefined);
    assert.equal(after.cancelled, 'stays');
    assert.deepEqual(after.split, { a: 1 });
    const exported = await curl(server.u(`/od/prio.json?ns=${NS}&format=export`));
    assert.deepEqual(exported.json, { '.value': 'p', '.priority': 3 });
    seen.off();
  });

  test('the queue runs once, for the closing connection only', async () => {
    const c = sdkClient(server, { ns: NS });
    await onDisconnect(ref(c.db, 'once/count')).set(1);
    await c.close();
    await waitFor(async () => (await rest('/once/count')) === 1, { message: 'the onDisconnect write' });
    await curl(server.u(`/once/count.json?ns=${NS}`), { method: 'PUT', body: '5' });
    const other = sdkClient(server, { ns: NS });
    await set(ref(other.db, 'once/other'), true);
    await other.close();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await rest('/once/count'), 5, 'not run again by another connection closing');
  });

  test('runs when the client process is killed with SIGKILL', async () => {
    const child = spawn(process.execPath, [path.join(here, 'lib', 'fb-child.mjs'), String(server.port), NS, 'ondisconnect'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    try {
      await waitFor(() => out.includes('ready'), { timeoutMs: 15000, message: `child ready (stderr: ${err})` });
      assert.deepEqual(await rest('/killed'), { presence: { state: 'online' }, room: { member: true } });
      const killedAt = Date.now();
      child.kill('SIGKILL');
      const value = await waitFor(async () => {
        const v = await rest('/killed');
        return v?.presence?.state === 'offline' ? v : null;
      }, { timeoutMs: 10000, message: 'the killed client\'s onDisconnect writes' });
      assert.deepEqual(Object.keys(value), ['presence']);
      assert.ok(value.presence.at >= killedAt - 1000);
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('the presence pattern: .info/connected + onDisconnect, seen by another user', async () => {
    const alice = sdkClient(server, { ns: NS });
    const statusRef = ref(alice.db, 'status/alice');
    const connectionsRef = ref(alice.db, 'users/alice/connections');
    const connected = new Promise((resolve) => {
      onValue(ref(alice.db, '.info/connected'), async (snap) => {
        if (snap.val() !== true) return;
        const con = push(connectionsRef);
        await onDisconnect(con).remove();
        await set(con, true);
        await onDisconnect(statusRef).set({ state: 'offline', last_changed: serverTimestamp() });
        await set(statusRef, { state: 'online', last_changed: serverTimestamp() });
        resolve(con.key);
      });
    });
    const key = await connected;
    const status = recordValues(ref(watcher.db, 'status/alice'));
    const connections = recordValues(ref(watcher.db, 'users/alice/connections'));
    await status.next((v) => v?.state === 'online');
    await connections.next(equals({ [key]: true }));
    await alice.close();
    await status.next((v) => v?.state === 'offline', { what: 'alice offline' });
    await connections.next((v) => v === null, { what: 'alice\'s connection removed' });
    status.off();
    connections.off();
  });
});
