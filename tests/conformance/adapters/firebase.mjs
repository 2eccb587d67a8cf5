// The Firebase door: the official Firebase JS SDK (firebase/database, modular API), one app — hence one
// connection — per client, pointed at the server with connectDatabaseEmulator. The identity is the SDK's
// mockUserToken (given as the token string itself: the admin token, an unsigned or a real ID token).
import { initializeApp, deleteApp } from 'firebase/app';
import {
  getDatabase, connectDatabaseEmulator, ref, set, setWithPriority, update, push, remove, get, onValue, query as makeQuery,
  orderByChild, orderByKey, orderByValue, orderByPriority, startAt, startAfter, endAt, endBefore, equalTo,
  limitToFirst, limitToLast, runTransaction, onDisconnect, goOffline, goOnline,
} from 'firebase/database';

import { ValueHolder, DoorError, credentialFor } from './common.mjs';

export const name = 'firebase';

let apps = 0;

const CONSTRAINTS = { orderByChild, orderByKey, orderByValue, orderByPriority, startAt, startAfter, endAt, endBefore,
  equalTo, limitToFirst, limitToLast };

/** The SDK's errors as case codes: server refusals carry a code (PERMISSION_DENIED); the SDK's own validation
 * (invalid keys and paths, which it refuses before sending anything) throws plain Errors. */
function doorError(error) {
  const code = String(error?.code ?? '').toLowerCase();
  const message = String(error?.message ?? error);
  if (code) return new DoorError(code, message);
  if (/permission[_ ]denied/i.test(message)) return new DoorError('permission_denied', message);
  // The SDK's own argument checks: "set failed: value argument contains an invalid key ...", "update failed: ...".
  if (/^\w+ failed: .*argument/.test(message)) return new DoorError('invalid_argument', message);
  // Its query checks: "limitToLast: Limit was already set ...", "orderByKey: The (optional) start value ...".
  if (/^(orderBy|limitTo|startA|endA|endB|equalTo|Query)\w*: /.test(message)) return new DoorError('invalid_argument', message);
  return new DoorError('error', message);
}

async function door(action) {
  try {
    return await action();
  } catch (error) {
    throw doorError(error);
  }
}

export async function connect(ctx, identity) {
  const { token, expiresAt } = await credentialFor(ctx, identity);
  const app = initializeApp(
    { projectId: 'demo-conformance', databaseURL: `http://127.0.0.1:${ctx.server.port}?ns=${ctx.ns}` },
    `conformance-${process.pid}-${++apps}`,
  );
  const db = getDatabase(app);
  connectDatabaseEmulator(db, '127.0.0.1', ctx.server.port, token ? { mockUserToken: token } : {});
  let closed = false;
  const refAt = (path) => {
    const relative = path.replace(/^\/+/, '');
    return relative === '' ? ref(db) : ref(db, relative);
  };
  const target = (path, query = []) => {
    const r = refAt(path);
    if (query.length === 0) return r;
    return makeQuery(r, ...query.map(({ name: q, value }) => (value === undefined ? CONSTRAINTS[q]() : CONSTRAINTS[q](value))));
  };

  const client = {
    expiresAt,

    listen(path, query, label) {
      const holder = new ValueHolder(label);
      try {
        holder.stop = onValue(
          target(path, query),
          (snapshot) => holder.update(snapshot.val()),
          (error) => {
            const e = doorError(error);
            holder.cancel(e.code, e.detail);
          },
        );
      } catch (error) {
        const e = doorError(error);
        holder.cancel(e.code, e.detail);
        holder.stop = () => {};
      }
      return holder;
    },

    async unlisten(holder) {
      holder.stop();
      holder.removed = true;
    },

    async write(op, path, data, { priority } = {}) {
      return door(async () => {
        const r = refAt(path);
        if (op === 'set') await (priority === undefined ? set(r, data) : setWithPriority(r, data, priority));
        else if (op === 'update') await update(r, data);
        else if (op === 'remove') await remove(r);
        else if (op === 'push') {
          const child = push(r);
          await (priority === undefined ? set(child, data) : setWithPriority(child, data, priority));
          return { key: child.key };
        }
        return {};
      });
    },

    async get(path, query) {
      return door(async () => (await get(target(path, query))).val());
    },

    // runTransaction. To let another client write between this client's read and its compare-and-set (the
    // `interfere` hook), the client goes offline before the transaction: its update runs on the value it holds
    // and the write waits; the other client writes; back online, the write is refused (the hash changed) and the
    // SDK runs the update again on the new value.
    async transaction(path, updateFn, { interfere } = {}) {
      return door(async () => {
        let attempts = 0;
        let firstRun;
        const ran = new Promise((resolve) => {
          firstRun = resolve;
        });
        if (interfere) goOffline(db);
        const pending = runTransaction(refAt(path), (current) => {
          attempts++;
          firstRun();
          return updateFn(current);
        });
        if (interfere) {
          try {
            await ran;
            await interfere();
          } finally {
            goOnline(db);
          }
        }
        const result = await pending;
        return { committed: result.committed, value: result.snapshot.val(), attempts };
      });
    },

    async onDisconnect(method, path, data, { priority } = {}) {
      return door(async () => {
        const od = onDisconnect(refAt(path));
        if (method === 'set') await (priority === undefined ? od.set(data) : od.setWithPriority(data, priority));
        else if (method === 'update') await od.update(data);
        else if (method === 'remove') await od.remove();
        else if (method === 'cancel') await od.cancel();
      });
    },

    async disconnect() {
      await client.close();
    },

    async close() {
      if (closed) return;
      closed = true;
      await deleteApp(app);
    },
  };
  return client;
}
