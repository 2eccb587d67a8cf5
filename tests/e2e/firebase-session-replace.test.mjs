// A reconnecting Firebase client names its previous session (`ls=<the s of its last handshake>`) on
// its new WebSocket or long-poll connection; the server ends that old session at once: its listens go and its
// onDisconnect writes run, rather than when the abandoned transport times out. Production configuration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { startServer, curl, within, waitFor } from './lib/server.mjs';
import { RawClient } from './lib/fbsdk.mjs';

test('`ls` ends the session it names (WebSocket and long-poll); an unknown one ends nothing', async (t) => {
  const server = await startServer({ t, dev: false });
  const admin = fs.readFileSync(path.join(server.dataDir, 'admin-token'), 'utf8').trim();
  const read = async (location) => JSON.parse((await curl(server.u(`/${location}.json?auth=${admin}`))).body);

  // The first session: online, with an onDisconnect that marks it offline.
  const first = new RawClient(server, { ns: 'default' });
  const { s: firstSession } = await first.handshake;
  assert.equal((await first.request('auth', { cred: admin })).reply.s, 'ok');
  assert.equal((await first.request('o', { p: '/presence/first', d: 'offline' })).reply.s, 'ok');
  assert.equal((await first.request('p', { p: '/presence/first', d: 'online' })).reply.s, 'ok');
  assert.equal(await read('presence/first'), 'online');

  // A bogus `ls` ends nothing.
  const stranger = new RawClient(server, { ns: 'default', query: '&ls=not-a-session' });
  await stranger.handshake;
  assert.equal(await within(first.closed, 500), 'timeout', 'the first session stays open');
  stranger.ws.close();

  // The same client reconnects over WebSocket naming its first session: that one ends, its onDisconnect runs.
  const second = new RawClient(server, { ns: 'default', query: `&ls=${firstSession}` });
  const { s: secondSession } = await second.handshake;
  assert.notEqual(await within(first.closed, 5000), 'timeout', 'the first session was closed');
  await waitFor(async () => (await read('presence/first')) === 'offline', { message: 'the onDisconnect write' });
  assert.equal((await second.request('auth', { cred: admin })).reply.s, 'ok');
  assert.equal((await second.request('o', { p: '/presence/second', d: 'offline' })).reply.s, 'ok');
  assert.equal((await second.request('p', { p: '/presence/second', d: 'online' })).reply.s, 'ok');

  // Then over long-poll (a browser without WebSockets): the start request names the second session.
  const start = await curl(server.u(`/.lp?start=t&ser=1&cb=1&v=5&ns=default&ls=${secondSession}`));
  assert.equal(start.status, 200, start.body);
  assert.notEqual(await within(second.closed, 5000), 'timeout', 'the second session was closed');
  await waitFor(async () => (await read('presence/second')) === 'offline', { message: 'the second onDisconnect write' });
  assert.ok(server.running, server.log);
});
