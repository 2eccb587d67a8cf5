// Independent re-implementations of the reference's data-model rules, used to check the server's answers:
// key order (§4.3), the node hash used as ETag (§3.3), push IDs (§4.4).
import crypto from 'node:crypto';

const INT_LIKE = /^-?(0*)\d{1,10}$/;

function asInt(key) {
  if (!INT_LIKE.test(key)) return null;
  const value = Number(key);
  return value >= -2147483648 && value <= 2147483647 ? value : null;
}

/** The SDK's nameCompare: integer-like keys first (numerically, shorter first on ties), then UTF-16 order. */
export function nameCompare(a, b) {
  if (a === b) return 0;
  const ai = asInt(a);
  const bi = asInt(b);
  if (ai !== null && bi !== null) return ai === bi ? a.length - b.length : ai - bi;
  if (ai !== null) return -1;
  if (bi !== null) return 1;
  return a < b ? -1 : 1;
}

function doubleHex(n) {
  const buffer = Buffer.alloc(8);
  buffer.writeDoubleBE(n);
  return buffer.toString('hex');
}

function priorityText(p) {
  return typeof p === 'number' ? `number:${doubleHex(p)}` : `string:${p}`;
}

// Export-format JSON → {value (leaf) | children (object), priority}; null for empty.
function normalize(json) {
  if (json === null || json === undefined) return null;
  if (Array.isArray(json)) {
    const obj = {};
    json.forEach((v, i) => {
      obj[String(i)] = v;
    });
    return normalize(obj);
  }
  if (typeof json !== 'object') return { leaf: json, priority: null };
  const priority = json['.priority'] ?? null;
  if ('.value' in json) {
    const inner = normalize(json['.value']);
    if (inner === null) return null;
    return { ...inner, priority };
  }
  const children = new Map();
  for (const [key, value] of Object.entries(json)) {
    if (key.startsWith('.')) continue;
    const child = normalize(value);
    if (child !== null) children.set(key, child);
  }
  if (children.size === 0) return null;
  return { children, priority };
}

function priorityCompare([ka, a], [kb, b]) {
  const rank = (p) => (p === null ? 0 : typeof p === 'number' ? 1 : 2);
  const ra = rank(a.priority);
  const rb = rank(b.priority);
  if (ra !== rb) return ra - rb;
  if (ra === 1 && a.priority !== b.priority) return a.priority - b.priority;
  if (ra === 2 && a.priority !== b.priority) return a.priority < b.priority ? -1 : 1;
  return nameCompare(ka, kb);
}

function hashNode(node) {
  if (node === null) return '';
  let text = node.priority !== null ? `priority:${priorityText(node.priority)}:` : '';
  if (node.children === undefined) {
    const type = typeof node.leaf;
    text += `${type}:${type === 'number' ? doubleHex(node.leaf) : String(node.leaf)}`;
  } else {
    const sorted = [...node.children.entries()].sort(priorityCompare);
    for (const [key, child] of sorted) text += `:${key}:${hashNode(child)}`;
  }
  return crypto.createHash('sha1').update(text, 'utf8').digest('base64');
}

/** The Firebase node hash of an export-format JSON value ("" for null). */
export function firebaseHash(exportJson) {
  return hashNode(normalize(exportJson));
}

/** The REST ETag of an export-format JSON value (§5.4): the hash, or "null_etag" for null. */
export function etagOf(exportJson) {
  return firebaseHash(exportJson) || 'null_etag';
}

export const PUSH_CHARS = '-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz';

/** The millisecond timestamp in the first 8 characters of a push ID. */
export function pushIdTime(id) {
  let ms = 0;
  for (const c of id.slice(0, 8)) ms = ms * 64 + PUSH_CHARS.indexOf(c);
  return ms;
}
