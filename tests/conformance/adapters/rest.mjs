// The REST door: writes and reads with fetch (PUT/PATCH/POST/DELETE /<path>.json), listens with the published
// `eventsource` client (Accept: text/event-stream; put/patch events rebuilt into a value), compare-and-set with
// ETags (X-Firebase-ETag, if-match). The identity is the `auth` query parameter. REST has no connection, so
// onDisconnect writes cannot be expressed (cases that need them name their doors).
import { EventSource } from 'eventsource';

import { ValueHolder, DoorError, applyEvent, credentialFor } from './common.mjs';

export const name = 'rest';

const encodePath = (path) => path.split('/').map((s) => encodeURIComponent(s)).join('/');

function queryParams(query) {
  const params = [];
  for (const { name: q, value } of query) {
    if (q === 'orderByChild') params.push(['orderBy', JSON.stringify(value)]);
    else if (q === 'orderByKey') params.push(['orderBy', '"$key"']);
    else if (q === 'orderByValue') params.push(['orderBy', '"$value"']);
    else if (q === 'orderByPriority') params.push(['orderBy', '"$priority"']);
    else params.push([q, JSON.stringify(value)]);
  }
  return params;
}

const CODES = { 400: 'invalid_argument', 401: 'permission_denied', 403: 'permission_denied', 412: 'hash_mismatch',
  413: 'too_large', 503: 'unavailable' };

async function failure(response) {
  const text = await response.text();
  let message = text;
  try {
    message = JSON.parse(text).error ?? text;
  } catch {
    // not JSON
  }
  return new DoorError(CODES[response.status] ?? `http_${response.status}`, message);
}

function withPriority(data, priority) {
  if (priority === undefined) return data;
  if (data !== null && typeof data === 'object' && !Array.isArray(data)) return { ...data, '.priority': priority };
  return { '.value': data, '.priority': priority };
}

export async function connect(ctx, identity) {
  const { token, expiresAt } = await credentialFor(ctx, identity);
  const streams = new Set();
  const url = (path, query = []) => {
    const params = [['ns', ctx.ns], ...queryParams(query)];
    if (token) params.push(['auth', token]);
    const p = path === '/' ? '/' : encodePath(path);
    return `${ctx.server.url}${p}.json?${params.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`;
  };

  const client = {
    expiresAt,

    listen(path, query, label) {
      const holder = new ValueHolder(label);
      const es = new EventSource(url(path, query));
      let value = null;
      const end = (code, message) => {
        holder.cancel(code, message);
        es.close();
        streams.delete(es);
      };
      for (const event of ['put', 'patch']) {
        es.addEventListener(event, (e) => {
          const { path: at, data } = JSON.parse(e.data);
          value = applyEvent(value, event, at, data);
          holder.update(value);
        });
      }
      es.addEventListener('cancel', (e) => end('permission_denied', e.data));
      es.addEventListener('auth_revoked', (e) => end('auth_revoked', e.data));
      es.addEventListener('error', (e) => {
        // A refused stream (401) or a closed one: the published client does not retry a non-200 answer.
        if (es.readyState === EventSource.CLOSED) end(CODES[e.code] ?? `closed`, e.message ?? '');
      });
      streams.add(es);
      holder.stop = () => {
        es.close();
        streams.delete(es);
      };
      return holder;
    },

    async unlisten(holder) {
      holder.stop();
      holder.removed = true;
    },

    async write(op, path, data, { priority } = {}) {
      const method = { set: 'PUT', update: 'PATCH', push: 'POST', remove: 'DELETE' }[op];
      const body = op === 'remove' ? undefined : JSON.stringify(withPriority(data, priority));
      const response = await fetch(url(path), { method, body });
      if (response.status !== 200) throw await failure(response);
      const json = await response.json();
      return op === 'push' ? { key: json.name } : {};
    },

    async get(path, query) {
      const response = await fetch(url(path, query));
      if (response.status !== 200) throw await failure(response);
      return response.json();
    },

    // Compare-and-set with ETags: read value and ETag, write with if-match; a 412 carries the current value and
    // its ETag, and the update runs again on them.
    async transaction(path, update, { interfere } = {}) {
      const first = await fetch(url(path), { headers: { 'X-Firebase-ETag': 'true' } });
      if (first.status !== 200) throw await failure(first);
      let etag = first.headers.get('etag');
      let current = await first.json();
      for (let attempts = 1; attempts <= 25; attempts++) {
        const next = update(current);
        if (next === undefined) return { committed: false, value: current, attempts };
        if (attempts === 1 && interfere) await interfere();
        const response = await fetch(url(path), { method: 'PUT', headers: { 'if-match': etag }, body: JSON.stringify(next) });
        if (response.status === 200) return { committed: true, value: await response.json(), attempts };
        if (response.status !== 412) throw await failure(response);
        etag = response.headers.get('etag');
        current = await response.json();
      }
      throw new DoorError('maxretry', 'the transaction gave up after 25 attempts');
    },

    async onDisconnect() {
      throw new DoorError('unsupported', 'REST requests have no connection whose end could run a write');
    },

    async disconnect() {
      await client.close();
    },

    async close() {
      for (const es of streams) es.close();
      streams.clear();
    },
  };
  return client;
}
