// The STOMP door (docs/protocol.md): the published @stomp/stompjs client over WebSocket at /stomp, one STOMP
// connection per client. The identity is the CONNECT `passcode`, the database the `host` header. Writes are SENDs
// with `method` and a receipt (whose `status` says how it went); listens are SUBSCRIBEs whose put/patch MESSAGEs
// are rebuilt into a value; compare-and-set is SEND with `if-match` (a refused one returns the current value and
// its hash); onDisconnect writes are SENDs with `on-disconnect`.
import WebSocket from 'ws';
import { Client } from '@stomp/stompjs';

import { ValueHolder, DoorError, applyEvent, credentialFor, deadline, same } from './common.mjs';

export const name = 'stomp';

const HEADERS = { orderByChild: 'order-by', startAt: 'start-at', startAfter: 'start-after', endAt: 'end-at',
  endBefore: 'end-before', equalTo: 'equal-to', limitToFirst: 'limit-to-first', limitToLast: 'limit-to-last' };

function queryHeaders(query) {
  const headers = {};
  for (const { name: q, value } of query) {
    if (q === 'orderByKey') headers['order-by'] = '$key';
    else if (q === 'orderByValue') headers['order-by'] = '$value';
    else if (q === 'orderByPriority') headers['order-by'] = '$priority';
    else if (q === 'orderByChild') headers['order-by'] = value;
    else headers[HEADERS[q]] = JSON.stringify(value);
  }
  return headers;
}

let receipts = 0;

export async function connect(ctx, identity) {
  const { token, expiresAt } = await credentialFor(ctx, identity);
  const holders = new Map(); // subscription id -> holder (also the removed ones, to catch MESSAGEs after UNSUBSCRIBE)
  let subscriptions = 0;
  let ended = null;
  const client = new Client({
    webSocketFactory: () => new WebSocket(`${ctx.server.url.replace('http://', 'ws://')}/stomp`, ['v12.stomp']),
    connectHeaders: token ? { host: ctx.ns, passcode: token } : { host: ctx.ns },
    reconnectDelay: 0,
    heartbeatIncoming: 0,
    heartbeatOutgoing: 0,
  });
  // The end of the connection (an ERROR frame — e.g. the credential expired — or the socket closing) ends every
  // subscription.
  const endAll = (code, message) => {
    ended ??= { code, message };
    for (const holder of holders.values()) holder.cancel(code, message);
  };
  const connected = new Promise((resolve, reject) => {
    client.onConnect = resolve;
    client.onStompError = (frame) => reject(new DoorError('unauthenticated', frame.headers.message));
    client.onWebSocketError = () => reject(new DoorError('unavailable', 'WebSocket error'));
  });
  client.activate();
  await deadline(connected, 5000, 'STOMP CONNECTED');
  client.onStompError = (frame) => {
    const message = frame.headers.message ?? '';
    endAll(/expired/.test(message) ? 'expired' : /revoked/.test(message) ? 'revoked' : 'error', message);
  };
  client.onWebSocketClose = () => endAll('closed', 'the connection closed');
  client.onUnhandledMessage = (message) => {
    const holder = holders.get(message.headers.subscription);
    if (holder) holder.stray(`${message.headers.event} ${message.headers.path} ${message.body}`);
  };

  const send = (destination, body, headers) => {
    if (ended) return Promise.reject(new DoorError('unavailable', `the connection ended: ${ended.message}`));
    const id = `r-${++receipts}`;
    const receipt = new Promise((resolve) => client.watchForReceipt(id, resolve));
    client.publish({ destination, body, headers: { ...headers, receipt: id } });
    return deadline(receipt, 10000, `the RECEIPT of SEND ${destination}`);
  };
  const check = (receipt) => {
    if (receipt.headers.status !== 'ok') throw new DoorError(receipt.headers.status, receipt.headers.message ?? '');
    return receipt;
  };

  const adapter = {
    expiresAt,

    listen(path, query, label) {
      const holder = new ValueHolder(label);
      const id = `sub-${++subscriptions}`;
      let value = null;
      holders.set(id, holder);
      if (ended) {
        holder.cancel(ended.code, ended.message);
        return holder;
      }
      const subscription = client.subscribe(path, (message) => {
        const { event, path: at, status } = message.headers;
        if (event === 'cancel') {
          holder.cancel(status, message.body);
          return;
        }
        value = applyEvent(value, event, at, JSON.parse(message.body));
        holder.update(value);
      }, { id, ...queryHeaders(query) });
      holder.stop = async () => {
        const rid = `u-${++receipts}`;
        const receipt = new Promise((resolve) => client.watchForReceipt(rid, resolve));
        subscription.unsubscribe({ receipt: rid });
        await deadline(receipt, 5000, `the RECEIPT of UNSUBSCRIBE ${path}`);
      };
      return holder;
    },

    async unlisten(holder) {
      // MESSAGEs between UNSUBSCRIBE and its RECEIPT may still come; after the RECEIPT none may.
      await holder.stop();
      holder.removed = true;
    },

    async write(op, path, data, { priority } = {}) {
      const headers = { method: op };
      if (priority !== undefined) headers.priority = JSON.stringify(priority);
      const receipt = check(await send(path, op === 'remove' ? '' : JSON.stringify(data), headers));
      return op === 'push' ? { key: receipt.headers.key } : {};
    },

    async get(path, query) {
      const holder = adapter.listen(path, query, `get ${path}`);
      try {
        await holder.until(() => holder.loaded || holder.cancelled, { what: `the value of ${path}` });
        if (holder.cancelled) throw new DoorError(holder.cancelled.code, holder.cancelled.message);
        return holder.value;
      } finally {
        if (!ended) await adapter.unlisten(holder);
      }
    },

    // SEND with if-match. STOMP gives no hash with a value, so the client reads the value (a SUBSCRIBE's first
    // MESSAGE), runs the update, and learns the hash from a compare-and-set that cannot match (the hash_mismatch
    // RECEIPT carries the current value and its hash, docs/protocol.md §4); if the value is still the one the
    // update ran on, the real compare-and-set follows, otherwise the update runs again.
    async transaction(path, update, { interfere } = {}) {
      const mismatch = (receipt) => {
        if (receipt.headers.status !== 'hash_mismatch') check(receipt);
        return { etag: receipt.headers.etag, current: receipt.body ? JSON.parse(receipt.body) : null };
      };
      let current = await adapter.get(path, []);
      let etag = null;
      for (let attempts = 1; attempts <= 25; attempts++) {
        const next = update(current);
        if (next === undefined) return { committed: false, value: current, attempts };
        if (attempts === 1 && interfere) await interfere();
        if (etag === null) {
          const probe = mismatch(await send(path, JSON.stringify(next), { 'if-match': 'not-a-hash' }));
          etag = probe.etag;
          if (!same(probe.current, current)) {
            current = probe.current;
            continue;
          }
        }
        const receipt = await send(path, JSON.stringify(next), { 'if-match': etag });
        if (receipt.headers.status === 'ok') return { committed: true, value: next, attempts };
        ({ etag, current } = mismatch(receipt));
      }
      throw new DoorError('maxretry', 'the transaction gave up after 25 attempts');
    },

    async onDisconnect(method, path, data, { priority } = {}) {
      const headers = { 'on-disconnect': method };
      if (priority !== undefined) headers.priority = JSON.stringify(priority);
      check(await send(path, data === undefined ? '' : JSON.stringify(data), headers));
    },

    async disconnect() {
      await adapter.close();
    },

    async close() {
      await client.deactivate();
    },
  };
  return adapter;
}
