// Streaming (Server-Sent Events) clients for the tests: the published `eventsource` v3 client, plus a tiny
// local cache that applies put/patch events the way a Firebase REST streaming client does.
import { EventSource } from 'eventsource';

export const STREAM_EVENTS = ['put', 'patch', 'keep-alive', 'cancel', 'auth_revoked'];

/**
 * An EventSource that records every Firebase event ({event, data (parsed JSON), raw}) in arrival order, and lets
 * a test await them one by one with next(), or until a condition holds with until().
 */
export class StreamClient {
  constructor(url) {
    this.url = url;
    this.events = [];
    this.errors = [];
    this.opened = false;
    this.cursor = 0;
    this.waiters = new Set();
    this.es = new EventSource(url);
    this.es.addEventListener('open', () => {
      this.opened = true;
      this.notify();
    });
    this.es.addEventListener('error', (e) => {
      this.errors.push({ message: e.message, code: e.code, readyState: this.es.readyState, at: this.events.length });
      this.notify();
    });
    for (const name of STREAM_EVENTS) {
      this.es.addEventListener(name, (e) => {
        let data;
        try {
          data = JSON.parse(e.data);
        } catch {
          data = { unparseable: e.data };
        }
        this.events.push({ event: name, data, raw: e.data });
        this.notify();
      });
    }
    // Unnamed "message" events are not part of the protocol; record them so tests can fail on them.
    this.es.addEventListener('message', (e) => {
      this.events.push({ event: 'message', data: e.data, raw: e.data });
      this.notify();
    });
  }

  notify() {
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Resolves when predicate() is truthy (checked on every event/error), rejects after timeoutMs. */
  waitUntil(predicate, { timeoutMs = 5000, what = 'a stream condition' } = {}) {
    return new Promise((resolve, reject) => {
      const check = () => {
        let value;
        try {
          value = predicate();
        } catch (error) {
          cleanup();
          reject(error);
          return;
        }
        if (value) {
          cleanup();
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what} on ${this.url}; events so far: ` +
              JSON.stringify(this.events.map(({ event, data }) => ({ event, data }))).slice(0, 2000) +
              `; errors: ${JSON.stringify(this.errors)}`,
          ),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** The next not yet consumed event. */
  async next(options = {}) {
    await this.waitUntil(() => this.events.length > this.cursor, { what: 'the next event', ...options });
    return this.events[this.cursor++];
  }

  /** The next `n` events. */
  async take(n, options = {}) {
    await this.waitUntil(() => this.events.length >= this.cursor + n, { what: `${n} more events`, ...options });
    const out = this.events.slice(this.cursor, this.cursor + n);
    this.cursor += n;
    return out.map(({ event, data }) => ({ event, data }));
  }

  /** Waits until the stream is open and its first event has arrived; returns that event. */
  async initial(options = {}) {
    return this.next({ what: 'the initial put', ...options });
  }

  /** Events not consumed yet (without consuming them). */
  pending() {
    return this.events.slice(this.cursor).map(({ event, data }) => ({ event, data }));
  }

  close() {
    this.es.close();
  }
}

/** Opens a stream and waits for its initial put (returned as .first). */
export async function openStream(url, options) {
  const client = new StreamClient(url);
  client.first = await client.initial(options);
  return client;
}

function clone(value) {
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}

/** Removes empty objects and nulls, as the server's model does. */
function prune(value) {
  if (value === null || typeof value !== 'object') return value;
  const out = {};
  for (const [k, v] of Object.entries(value)) {
    const child = prune(v);
    if (child !== null && child !== undefined) out[k] = child;
  }
  return Object.keys(out).length ? out : null;
}

function toObject(value) {
  if (Array.isArray(value)) return Object.fromEntries(value.map((v, i) => [String(i), v]));
  return value;
}

function setAt(root, segments, value) {
  if (segments.length === 0) return clone(value);
  const base = root !== null && typeof root === 'object' ? { ...toObject(root) } : {};
  const [head, ...rest] = segments;
  base[head] = setAt(base[head] ?? null, rest, value);
  return base;
}

/** Applies one stream event to a cached value (client-side semantics of §5.5); returns the new value. */
export function applyEvent(cache, { event, data }) {
  const segments = data.path.split('/').filter(Boolean);
  if (event === 'put') return prune(setAt(cache, segments, data.data));
  if (event === 'patch') {
    let next = cache;
    for (const [key, value] of Object.entries(data.data)) next = setAt(next, [...segments, key], value);
    return prune(next);
  }
  return cache;
}

/** Normalises a plain JSON value the way the cache stores it (arrays → index objects, nulls dropped). */
export function canonical(value) {
  if (Array.isArray(value)) return canonical(toObject(value));
  if (value === null || typeof value !== 'object') return value ?? null;
  return prune(Object.fromEntries(Object.entries(value).map(([k, v]) => [k, canonical(v)])));
}
