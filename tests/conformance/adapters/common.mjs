// What the door adapters share: the live value holder a listen returns, the JSON value model (canonical values,
// put/patch application), identities as credentials, and error codes.

/** A JSON value as every door's client should hold it: arrays as index objects, no nulls or empty objects, and
 * priorities dropped (`{".value": v, ".priority": p}` is v). */
export function canonical(value) {
  if (value === undefined || value === null) return null;
  if (Array.isArray(value)) return canonical(Object.fromEntries(Object.entries(value))); // holes are absent
  if (typeof value !== 'object') return value;
  if ('.value' in value) return canonical(value['.value']);
  const out = {};
  for (const [key, child] of Object.entries(value)) {
    if (key === '.priority') continue;
    const c = canonical(child);
    if (c !== null) out[key] = c;
  }
  return Object.keys(out).length ? out : null;
}

const sortKeys = (v) =>
  v !== null && typeof v === 'object'
    ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]))
    : v;

/** A stable text of a value (canonical, keys sorted): what expectations compare. */
export const show = (value) => JSON.stringify(sortKeys(canonical(value)));
export const same = (a, b) => show(a) === show(b);

function setAt(value, segments, replacement) {
  if (segments.length === 0) return canonical(replacement);
  // Removing something below a leaf (or below nothing) changes nothing: the leaf stays.
  if (replacement === null && (value === null || typeof value !== 'object')) return value;
  const base = value !== null && typeof value === 'object' ? { ...value } : {};
  const [head, ...rest] = segments;
  base[head] = setAt(base[head] ?? null, rest, replacement);
  return canonical(base);
}

const segmentsOf = (path) => String(path).split('/').filter(Boolean);

/** Applies a put or patch event ({path, data} relative to the listened location) as the REST stream and STOMP
 * MESSAGEs define them (docs/rest.md, docs/protocol.md §5): put replaces at path; patch keys are relative paths. */
export function applyEvent(value, event, path, data) {
  const at = segmentsOf(path);
  if (event === 'put') return setAt(value, at, data);
  if (event === 'patch') {
    let next = value;
    for (const [key, child] of Object.entries(data ?? {})) next = setAt(next, [...at, ...segmentsOf(key)], child);
    return next;
  }
  throw new Error(`unknown event ${event}`);
}

/**
 * The live value of one listen, as the door's client holds it. Fields: value (undefined until the first value),
 * history (every distinct value it held, in order), cancelled (null, or {code, message} once the listen ended),
 * deliveries (events received), late (events received after the listen ended or was removed: always a bug).
 */
export class ValueHolder {
  constructor(label) {
    this.label = label;
    this.value = undefined;
    this.history = [];
    this.cancelled = null;
    this.removed = false;
    this.deliveries = 0;
    this.late = [];
    this.waiters = new Set();
  }

  get loaded() {
    return this.value !== undefined;
  }

  /** A new value delivered by the door (already reconstructed). */
  update(value) {
    if (this.cancelled || this.removed) {
      this.late.push(value);
      this.notify();
      return;
    }
    this.deliveries++;
    const next = canonical(value);
    if (this.value === undefined || !same(next, this.value)) this.history.push(next);
    this.value = next;
    this.notify();
  }

  /** The listen ended (rules refused it, the credential expired, the connection ended). */
  cancel(code, message = '') {
    if (this.cancelled || this.removed) return;
    this.cancelled = { code, message: String(message) };
    this.notify();
  }

  /** A delivery that arrived although the client no longer listens (e.g. a MESSAGE after UNSUBSCRIBE). */
  stray(what) {
    this.late.push(what);
    this.notify();
  }

  notify() {
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Resolves once predicate() holds; rejects with `describe()` after timeoutMs. */
  until(predicate, { timeoutMs = 5000, what = 'a condition' } = {}) {
    return new Promise((resolve, reject) => {
      const check = () => {
        let done;
        try {
          done = predicate();
        } catch (error) {
          clearTimeout(timer);
          this.waiters.delete(check);
          reject(error);
          return;
        }
        if (!done) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${this.describe()}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  describe() {
    return `listen ${this.label}: value ${this.value === undefined ? '(none yet)' : show(this.value)}, history ` +
      `[${this.history.map(show).join(', ')}], cancelled ${JSON.stringify(this.cancelled)}, late ${JSON.stringify(this.late)}`;
  }
}

/** A door's failure as a code the case files name: permission_denied, invalid_argument, hash_mismatch, ... */
export class DoorError extends Error {
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.code = code;
    this.detail = message;
  }
}

const b64url = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An unsigned (alg none) JWT with these claims: the emulator convention, accepted by --dev servers. */
export const unsignedJwt = (claims) => `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`;

/** The claims of a JWT (no verification). */
export const jwtClaims = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));

/**
 * The credential of an identity ({kind: anonymous|admin|user|account, uid, claims}) on database `ns`: null (no
 * credential), the admin token, an unsigned ID token (user: never expires under --dev), or a real ID token this
 * server signed (account: one of the project's users, valid on every database, signed in with an unsigned custom
 * token; it expires after the server's --id-token-seconds). Resolves to {token, expiresAt (ms or null)}.
 */
export async function credentialFor(ctx, identity) {
  if (identity.kind === 'anonymous') return { token: null, expiresAt: null };
  if (identity.kind === 'admin') return { token: ctx.adminToken, expiresAt: null };
  const now = Math.floor(Date.now() / 1000);
  if (identity.kind === 'user') {
    return { token: unsignedJwt({ iat: now, sub: identity.uid, user_id: identity.uid, ...identity.claims }), expiresAt: null };
  }
  if (identity.kind === 'account') {
    const custom = unsignedJwt({
      aud: 'https://identitytoolkit.googleapis.com/google.identity.identitytoolkit.v1.IdentityToolkit',
      iat: now, exp: now + 3600, uid: identity.uid,
      ...(Object.keys(identity.claims).length ? { claims: identity.claims } : {}),
    });
    const response = await fetch(`${ctx.server.url}/identitytoolkit.googleapis.com/v1/accounts:signInWithCustomToken?key=k`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: custom, returnSecureToken: true }),
    });
    const json = await response.json();
    if (response.status !== 200) throw new Error(`signInWithCustomToken failed: ${JSON.stringify(json)}`);
    return { token: json.idToken, expiresAt: jwtClaims(json.idToken).exp * 1000 };
  }
  throw new Error(`unknown identity ${identity.kind}`);
}

/** Query modifiers of a case ([{name, value}], value parsed JSON or undefined) in a door-neutral form. */
export function describeQuery(query) {
  return query.map(({ name, value }) => (value === undefined ? name : `${name}=${JSON.stringify(value)}`)).join(' ');
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves like `promise`, or rejects after `ms` naming `what`. */
export function deadline(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
