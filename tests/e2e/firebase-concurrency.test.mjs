// Concurrency with the real SDK: many clients running transactions and increments on one counter end exactly right
// (hash compare-and-set with datastale retries; increment server values).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { ref, runTransaction, set, increment, onValue } from 'firebase/database';

import { startServer, curl } from './lib/server.mjs';
import { sdkClient } from './lib/fbsdk.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const NS = 'demo-conc';
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

const rest = async (p) => (await curl(server.u(`${p}.json?ns=${NS}`))).json;

/**
 * One increment by transaction. Under heavy contention the SDK gives up after 25 datastale rounds ("maxretry");
 * such a transaction wrote nothing, so the application runs it again. Returns the number of maxretry failures.
 */
async function incrementByTransaction(db, p) {
  for (let failures = 0; ; failures++) {
    try {
      const result = await runTransaction(ref(db, p), (v) => (v ?? 0) + 1);
      assert.equal(result.committed, true);
      assert.equal(typeof result.snapshot.val(), 'number');
      return failures;
    } catch (error) {
      if (error.message !== 'maxretry') throw error;
    }
  }
}

test('20 clients x 50 transactions on one counter = exactly 1000', { timeout: 180000 }, async () => {
  // 16 clients in this process (separate apps, separate connections) and 4 in separate processes.
  const clients = Array.from({ length: 16 }, () => sdkClient(server, { ns: NS }));
  const children = Array.from({ length: 4 }, () =>
    spawn(process.execPath, [path.join(here, 'lib', 'fb-child.mjs'), String(server.port), NS, 'transactions:tx/counter:50'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    }));
  const childDone = children.map((child) => new Promise((resolve, reject) => {
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`child exited with ${code}`))));
  }));
  try {
    await Promise.all([
      ...clients.map(async (c) => {
        for (let i = 0; i < 50; i++) await incrementByTransaction(c.db, 'tx/counter');
      }),
      ...childDone,
    ]);
    assert.equal(await rest('/tx/counter'), 1000);
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all(clients.map((c) => c.close()));
  }
});

test('concurrent increment() from many clients sums exactly', async () => {
  const clients = Array.from({ length: 10 }, () => sdkClient(server, { ns: NS }));
  try {
    await set(ref(clients[0].db, 'inc/n'), 0);
    await Promise.all(clients.map(async (c, k) => {
      const writes = [];
      for (let i = 0; i < 30; i++) writes.push(set(ref(c.db, 'inc/n'), increment(k % 2 === 0 ? 1 : 2)));
      await Promise.all(writes);
    }));
    assert.equal(await rest('/inc/n'), 5 * 30 * 1 + 5 * 30 * 2);
    // Every client's listener converges on the server's value.
    await Promise.all(clients.map((c) => new Promise((resolve) => {
      const off = onValue(ref(c.db, 'inc/n'), (s) => {
        if (s.val() === 450) {
          off();
          resolve();
        }
      });
    })));
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
});
