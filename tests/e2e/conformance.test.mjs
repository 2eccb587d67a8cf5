// The cross-door conformance suite: every case in tests/conformance/*.case runs once through each door —
// REST + SSE (fetch, eventsource), the Firebase protocol (the official Firebase JS SDK) and STOMP (@stomp/stompjs
// over WebSocket) — each run a subtest of its own ("conformance/listens.case: <title> [stomp]"), on a database
// (namespace) of its own, against ONE server. The format is in tests/conformance/README.md; the doors are the
// adapters in tests/conformance/adapters/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { startServer } from './lib/server.mjs';
import { parseCases, DOORS } from '../conformance/parse.mjs';
import { same, show, sleep, DoorError } from '../conformance/adapters/common.mjs';
import * as rest from '../conformance/adapters/rest.mjs';
import * as firebase from '../conformance/adapters/firebase.mjs';
import * as stomp from '../conformance/adapters/stomp.mjs';

const ADAPTERS = { rest, firebase, stomp };
const here = path.dirname(fileURLToPath(import.meta.url));
const caseDir = path.join(here, '..', 'conformance');
// ID tokens of `account` identities live this long: long enough to listen and see a change, short enough to wait
// for their expiry in a case.
const ID_TOKEN_SECONDS = 3;
const SETTLE_MS = 250; // how long `quiet` waits for events that should not come
const only = process.env.CONFORMANCE_ONLY; // e.g. "listens" or "listens.case" to run one file

const files = fs.readdirSync(caseDir).filter((f) => f.endsWith('.case')).sort()
  .filter((f) => !only || f === only || f === `${only}.case`);
const suites = files.map((file) => ({ file, cases: parseCases(fs.readFileSync(path.join(caseDir, file), 'utf8'), file) }));

let server;
let adminToken;
before(async () => {
  server = await startServer({ args: ['--id-token-seconds', String(ID_TOKEN_SECONDS), '--max-databases', '1000'] });
  adminToken = fs.readFileSync(path.join(server.dataDir, 'admin-token'), 'utf8').trim();
});
after(async () => {
  const exit = await server.stop();
  assert.equal(exit.code, 0, `server exit ${JSON.stringify(exit)}; log tail:\n${server.log.slice(-3000)}`);
});

/** The admin's REST view of a database: arrangement (seed, rules) and ground truth (check), whatever the door. */
async function admin(ns, method, p, body) {
  const target = p === '/' ? '/' : p.split('/').map(encodeURIComponent).join('/');
  const response = await fetch(`${server.url}${target}.json?ns=${ns}&auth=${adminToken}`, { method, body });
  const text = await response.text();
  assert.equal(response.status, 200, `admin ${method} ${p}: ${response.status} ${text}`);
  return JSON.parse(text);
}

let caseNumber = 0;
for (const { file, cases } of suites) {
  for (const testCase of cases) {
    const number = ++caseNumber;
    for (const door of DOORS) {
      const name = `conformance/${file}: ${testCase.title} [${door}]`;
      if (!testCase.doors.includes(door)) {
        test(name, { skip: `not expressible on ${door}: ${testCase.skipReason[door]}` }, () => {});
        continue;
      }
      const options = testCase.known[door] ? { todo: `known server bug: ${testCase.known[door]}` } : {};
      test(name, options, (t) => runCase(t, testCase, door, `cf${number}-${door}`));
    }
  }
}

async function runCase(t, testCase, door, ns) {
  const adapter = ADAPTERS[door];
  const ctx = { server, ns, adminToken };
  const clients = new Map();
  const listens = new Map();
  const ended = []; // listens removed with unlisten: they too must never get anything afterwards
  const vars = {};
  // ${name}: a push key saved with `as name`; ${text*n}: text repeated n times.
  const sub = (text) => text.replace(/\$\{([^}*]+)\*(\d+)\}/g, (_, s, n) => s.repeat(Number(n))).replace(/\$\{([A-Za-z0-9_]+)\}/g, (_, v) => {
    if (!(v in vars)) throw new Error(`variable ${v} is not set (push ... as ${v})`);
    return vars[v];
  });
  const json = (text) => JSON.parse(sub(text));
  const listenOf = (step) => {
    const key = `${step.client} ${sub(step.path)}`;
    const holder = listens.get(key) ?? ended.findLast((h) => h.label === key);
    if (!holder) throw new Error(`${step.client} does not listen to ${step.path}`);
    return holder;
  };
  const outcome = async (step, action) => {
    let result;
    try {
      result = await action();
    } catch (error) {
      if (!(error instanceof DoorError)) throw error;
      if (step.outcome.ok) throw new Error(`expected ok, got ${error.code}: ${error.detail}`);
      assert.equal(error.code, step.outcome.code, `error code (message: ${error.detail})`);
      assert.ok(error.detail.trim().length > 0, 'the error says what is wrong');
      if (step.outcome.message) assert.match(error.detail, step.outcome.message, 'the error message');
      return { failed: true };
    }
    if (!step.outcome.ok) throw new Error(`expected error ${step.outcome.code}, but it succeeded`);
    return result;
  };

  try {
    for (const step of testCase.steps) {
      if (!step.doors.includes(door)) {
        t.diagnostic(`${testCase.file}:${step.line} \`${step.text}\` not run on ${door}: ${step.skipReason}`);
        continue;
      }
      try {
        await runStep(step);
      } catch (error) {
        error.message = `${testCase.file}:${step.line} [${door}] \`${step.text}\`\n${error.message}`;
        throw error;
      }
    }
    // Whatever the steps checked: no listen ever got something after it ended or was removed.
    for (const [key, holder] of [...listens, ...ended.map((h) => [h.label, h])]) {
      assert.deepEqual(holder.late, [], `${key}: nothing is delivered after a listen ends (${holder.describe()})`);
    }
  } finally {
    await Promise.allSettled([...clients.values()].map((c) => c.close()));
  }

  async function runStep(step) {
    const client = step.client ? clients.get(step.client) : undefined;
    switch (step.op) {
      case 'rules': {
        const response = await fetch(`${server.url}/.settings/rules.json?ns=${ns}&auth=${adminToken}`, {
          method: 'PUT', body: step.rules,
        });
        assert.equal(response.status, 200, `rules: ${await response.text()}`);
        return;
      }
      case 'seed':
        await admin(ns, 'PUT', sub(step.path), JSON.stringify(json(step.value)));
        return;
      case 'check': {
        const value = await admin(ns, 'GET', sub(step.path));
        assert.ok(same(value, json(step.value)), `the server holds ${show(value)} at ${step.path}, expected ${show(json(step.value))}`);
        return;
      }
      case 'as':
        clients.set(step.client, await adapter.connect(ctx, step.identity));
        return;
      case 'listen': {
        const key = `${step.client} ${sub(step.path)}`;
        assert.ok(!listens.has(key), `${key} already listens`);
        const holder = client.listen(sub(step.path), step.query, key);
        listens.set(key, holder);
        await holder.until(() => holder.loaded || holder.cancelled, { what: 'the first value (or the refusal)' });
        holder.mark = holder.deliveries;
        return;
      }
      case 'unlisten': {
        const holder = listenOf(step);
        await client.unlisten(holder);
        listens.delete(`${step.client} ${sub(step.path)}`);
        ended.push(holder);
        return;
      }
      case 'expect': {
        const holder = listenOf(step);
        if (step.kind === 'value') {
          const expected = json(step.value);
          await holder.until(() => {
            if (holder.cancelled) throw new Error(`the listen ended: ${holder.describe()}`);
            return holder.loaded && same(holder.value, expected);
          }, { what: `the value ${show(expected)}` });
          holder.mark = holder.deliveries;
        } else if (step.kind === 'quiet') {
          await sleep(SETTLE_MS);
          assert.equal(holder.deliveries, holder.mark ?? 0, `no delivery since the last expectation (${holder.describe()})`);
          assert.deepEqual(holder.late, [], `nothing after the listen ended (${holder.describe()})`);
        } else if (step.kind === 'never') {
          const unwanted = json(step.value);
          assert.ok(!holder.history.some((v) => same(v, unwanted)) && !holder.late.some((v) => same(v, unwanted)),
            `the listener never saw ${show(unwanted)} (${holder.describe()})`);
        } else if (step.kind === 'cancelled') {
          await holder.until(() => holder.cancelled, { what: 'the listen to end' });
          if (step.code) assert.equal(holder.cancelled.code, step.code, `why the listen ended (${holder.describe()})`);
        }
        return;
      }
      case 'get': {
        const result = await outcome(step, () => client.get(sub(step.path), step.query));
        if (step.value !== undefined) {
          assert.ok(same(result, json(step.value)), `get ${step.path}: ${show(result)}, expected ${show(json(step.value))}`);
        }
        return;
      }
      case 'set':
      case 'update':
      case 'push':
      case 'remove': {
        const data = step.data === undefined ? undefined : json(step.data);
        const priority = step.priority === undefined ? undefined : json(step.priority);
        const result = await outcome(step, () => client.write(step.op, sub(step.path), data, { priority }));
        if (step.saveAs && !result.failed) {
          assert.match(String(result.key), /^[-_0-9A-Za-z]{20}$/, 'a push key');
          vars[step.saveAs] = result.key;
        }
        return;
      }
      case 'transaction': {
        const arg = json(step.arg);
        const update = {
          add: (v) => (typeof v === 'number' ? v : 0) + arg, // a counter
          claim: (v) => (v === null || v === undefined ? arg : undefined), // take it if free, else abort
          replace: () => arg, // whatever is there
        }[step.fn];
        const interfere = step.interfere
          ? () => clients.get(step.interfere.client).write('set', sub(step.path), json(step.interfere.value))
          : undefined;
        const result = await outcome(step, () => client.transaction(sub(step.path), update, { interfere }));
        if (result.failed) return;
        assert.equal(result.committed, step.committed, `committed (${JSON.stringify(result)})`);
        assert.ok(same(result.value, json(step.value)), `the transaction's value ${show(result.value)}, expected ${step.value}`);
        if (step.attempts !== null) assert.equal(result.attempts, step.attempts, 'how many times the update ran');
        return;
      }
      case 'ondisconnect': {
        const data = step.data === undefined ? undefined : json(step.data);
        await outcome(step, () => client.onDisconnect(step.method, sub(step.path), data));
        return;
      }
      case 'disconnect':
        await client.disconnect();
        return;
      case 'expire': {
        assert.ok(client.expiresAt, `${step.client}'s credential does not expire (only "account" identities do)`);
        await sleep(Math.max(0, client.expiresAt + 500 - Date.now()));
        return;
      }
      case 'sleep':
        await sleep(step.ms);
        return;
      default:
        throw new Error(`unknown step ${step.op}`);
    }
  }
}
