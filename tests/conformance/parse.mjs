// The parser of conformance case files (tests/conformance/*.case; the format is in tests/conformance/README.md).
// parseCases(text, file) returns [{file, title, line, doors, skipReason, known: {door: note}, steps: [...]}]; every
// step has {op, line, text} and its own fields. Errors name the file and line.

export const DOORS = ['rest', 'firebase', 'stomp'];
const WRITE_OPS = ['set', 'update', 'push', 'remove'];
const QUERY_FLAGS = ['orderByKey', 'orderByValue', 'orderByPriority'];
const QUERY_VALUES = ['orderByChild', 'startAt', 'startAfter', 'endAt', 'endBefore', 'equalTo', 'limitToFirst', 'limitToLast'];

/** Splits a line into tokens: JSON objects, arrays and strings (which may hold spaces) are single tokens; `#`
 * outside them starts a comment. Each token: {text, json (true if it began with { [ or ")}. */
export function tokenize(line, where) {
  const tokens = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '#') break;
    if (c === '{' || c === '[' || c === '"') {
      let depth = 0;
      let inString = false;
      let j = i;
      for (; j < line.length; j++) {
        const d = line[j];
        if (inString) {
          if (d === '\\') j++;
          else if (d === '"') {
            inString = false;
            if (depth === 0) break;
          }
        } else if (d === '"') {
          inString = true;
        } else if (d === '{' || d === '[') depth++;
        else if (d === '}' || d === ']') {
          depth--;
          if (depth === 0) break;
        }
      }
      if (j >= line.length) throw new Error(`${where}: unterminated JSON starting at column ${i + 1}`);
      tokens.push({ text: line.slice(i, j + 1), json: true });
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < line.length && line[j] !== ' ' && line[j] !== '\t') j++;
    tokens.push({ text: line.slice(i, j), json: false });
    i = j;
  }
  return tokens;
}

/** A JSON value from a token's text (variables `${name}` are substituted when the step runs, so this only checks
 * that the text parses once they are replaced by a plain key). */
function jsonArg(token, where, what) {
  if (!token) throw new Error(`${where}: missing ${what} (a JSON value)`);
  try {
    JSON.parse(token.text.replace(/\$\{[^}]+\}/g, 'k'));
  } catch (error) {
    throw new Error(`${where}: ${what} is not JSON: ${token.text} (${error.message})`);
  }
  return token.text;
}

function word(token, where, what) {
  if (!token || token.json) throw new Error(`${where}: missing ${what}`);
  return token.text;
}

/** A path: a bare word, or a JSON string (for paths with spaces or escapes: "/a b/\u0041"). */
function pathArg(token, where) {
  if (token?.json && token.text.startsWith('"')) {
    const p = JSON.parse(token.text);
    if (!p.startsWith('/')) throw new Error(`${where}: a path starts with / (got ${p})`);
    return p;
  }
  const p = word(token, where, 'path');
  if (!p.startsWith('/')) throw new Error(`${where}: a path starts with / (got ${p})`);
  return p;
}

/** `name` or `name=<json>` query modifiers. */
function queryArgs(tokens, where) {
  return tokens.map((token) => {
    const text = token.text;
    if (QUERY_FLAGS.includes(text)) return { name: text, value: undefined };
    const eq = text.indexOf('=');
    const name = eq < 0 ? text : text.slice(0, eq);
    if (!QUERY_VALUES.includes(name) || eq < 0) throw new Error(`${where}: unknown query modifier ${text}`);
    const raw = text.slice(eq + 1);
    if (name === 'orderByChild') return { name, value: raw };
    let value;
    try {
      value = JSON.parse(raw);
    } catch {
      throw new Error(`${where}: ${name} needs a JSON value (got ${raw}; strings are quoted: ${name}="x")`);
    }
    return { name, value };
  });
}

/** `expect ok` | `expect error <code> [/regex/]` at tokens[i...]; default ok. */
function outcomeArgs(tokens, i, where) {
  if (i >= tokens.length) return { ok: true };
  if (tokens[i].text !== 'expect') throw new Error(`${where}: unexpected ${tokens[i].text} (expected "expect ok" or "expect error <code>")`);
  const kind = word(tokens[i + 1], where, 'ok or error');
  if (kind === 'ok') {
    if (tokens.length > i + 2) throw new Error(`${where}: unexpected text after "expect ok"`);
    return { ok: true };
  }
  if (kind !== 'error') throw new Error(`${where}: expect ok or expect error <code>`);
  const code = word(tokens[i + 2], where, 'error code');
  let message;
  if (tokens[i + 3]) {
    const m = /^\/(.*)\/([a-z]*)$/.exec(tokens[i + 3].text);
    if (!m) throw new Error(`${where}: the error message pattern is /regex/`);
    message = new RegExp(m[1], m[2]);
  }
  if (tokens.length > i + 4) throw new Error(`${where}: unexpected text after the error`);
  return { ok: false, code, message };
}

function parseStep(tokens, where, clients) {
  const op = tokens[0].text;
  const needClient = (token) => {
    const name = word(token, where, 'client name');
    if (!clients.has(name)) throw new Error(`${where}: client ${name} is not declared (use "as ${name} ...")`);
    return name;
  };
  switch (op) {
    case 'rules':
      if (tokens.length !== 2) throw new Error(`${where}: rules <json>`);
      return { op, rules: jsonArg(tokens[1], where, 'rules') };
    case 'seed':
    case 'check':
      if (tokens.length !== 3) throw new Error(`${where}: ${op} <path> <json>`);
      return { op, path: pathArg(tokens[1], where), value: jsonArg(tokens[2], where, 'value') };
    case 'as': {
      const client = word(tokens[1], where, 'client name');
      if (clients.has(client)) throw new Error(`${where}: client ${client} is already declared`);
      const kind = word(tokens[2], where, 'identity (anonymous, admin, user <uid>, account <uid>)');
      let identity;
      if (kind === 'anonymous' || kind === 'admin') {
        if (tokens.length !== 3) throw new Error(`${where}: as <client> ${kind}`);
        identity = { kind, uid: null, claims: {} };
      } else if (kind === 'user' || kind === 'account') {
        const uid = word(tokens[3], where, 'uid');
        const claims = tokens[4] ? JSON.parse(jsonArg(tokens[4], where, 'claims')) : {};
        if (tokens.length > 5) throw new Error(`${where}: as <client> ${kind} <uid> [<claims>]`);
        identity = { kind, uid, claims };
      } else {
        throw new Error(`${where}: unknown identity ${kind}`);
      }
      clients.add(client);
      return { op, client, identity };
    }
    case 'listen':
      return { op, client: needClient(tokens[1]), path: pathArg(tokens[2], where), query: queryArgs(tokens.slice(3), where) };
    case 'unlisten':
    case 'disconnect':
    case 'expire':
      if (op === 'unlisten') {
        if (tokens.length !== 3) throw new Error(`${where}: unlisten <client> <path>`);
        return { op, client: needClient(tokens[1]), path: pathArg(tokens[2], where) };
      }
      if (tokens.length !== 2) throw new Error(`${where}: ${op} <client>`);
      return { op, client: needClient(tokens[1]) };
    case 'sleep': {
      const ms = Number(word(tokens[1], where, 'milliseconds'));
      if (!Number.isFinite(ms) || ms < 0 || tokens.length !== 2) throw new Error(`${where}: sleep <ms>`);
      return { op, ms };
    }
    case 'expect': {
      const client = needClient(tokens[1]);
      const path = pathArg(tokens[2], where);
      const what = tokens[3];
      if (!what) throw new Error(`${where}: expect <client> <path> <json> | cancelled [<code>] | quiet | never <json>`);
      if (!what.json && what.text === 'cancelled') {
        if (tokens.length > 5) throw new Error(`${where}: expect <client> <path> cancelled [<code>]`);
        return { op, client, path, kind: 'cancelled', code: tokens[4]?.text };
      }
      if (!what.json && what.text === 'quiet') {
        if (tokens.length !== 4) throw new Error(`${where}: expect <client> <path> quiet`);
        return { op, client, path, kind: 'quiet' };
      }
      if (!what.json && what.text === 'never') {
        if (tokens.length !== 5) throw new Error(`${where}: expect <client> <path> never <json>`);
        return { op, client, path, kind: 'never', value: jsonArg(tokens[4], where, 'value') };
      }
      if (tokens.length !== 4) throw new Error(`${where}: expect <client> <path> <json>`);
      return { op, client, path, kind: 'value', value: jsonArg(what, where, 'value') };
    }
    case 'get': {
      const client = needClient(tokens[1]);
      const path = pathArg(tokens[2], where);
      const at = tokens.findIndex((t, i) => i > 2 && t.text === 'expect');
      if (at < 0) throw new Error(`${where}: get <client> <path> [query...] expect <json> | expect error <code>`);
      const query = queryArgs(tokens.slice(3, at), where);
      if (tokens[at + 1]?.text === 'error') return { op, client, path, query, outcome: outcomeArgs(tokens, at, where) };
      if (tokens.length !== at + 2) throw new Error(`${where}: get ... expect <json>`);
      return { op, client, path, query, outcome: { ok: true }, value: jsonArg(tokens[at + 1], where, 'value') };
    }
    case 'transaction': {
      // transaction <client> <path> add <n> | claim <json> | replace <json> [interfere <client> <json>]
      //   expect committed|aborted <json> [attempts <n>]
      const client = needClient(tokens[1]);
      const path = pathArg(tokens[2], where);
      const fn = word(tokens[3], where, 'add, claim or replace');
      if (!['add', 'claim', 'replace'].includes(fn)) throw new Error(`${where}: a transaction function is add <n>, claim <json> or replace <json>`);
      const arg = jsonArg(tokens[4], where, `the ${fn} argument`);
      let i = 5;
      let interfere = null;
      if (tokens[i]?.text === 'interfere') {
        interfere = { client: needClient(tokens[i + 1]), value: jsonArg(tokens[i + 2], where, 'interfering value') };
        i += 3;
      }
      if (tokens[i]?.text !== 'expect') throw new Error(`${where}: transaction ... expect committed|aborted <json> [attempts <n>]`);
      if (tokens[i + 1]?.text === 'error') {
        return { op, client, path, fn, arg, interfere, outcome: outcomeArgs(tokens, i, where) };
      }
      const result = word(tokens[i + 1], where, 'committed or aborted');
      if (result !== 'committed' && result !== 'aborted') throw new Error(`${where}: expect committed or aborted`);
      const value = jsonArg(tokens[i + 2], where, 'final value');
      let attempts = null;
      if (tokens[i + 3]) {
        if (tokens[i + 3].text !== 'attempts') throw new Error(`${where}: unexpected ${tokens[i + 3].text}`);
        attempts = Number(word(tokens[i + 4], where, 'attempts'));
        if (tokens.length > i + 5) throw new Error(`${where}: unexpected text after attempts`);
      }
      return { op, client, path, fn, arg, interfere, outcome: { ok: true }, committed: result === 'committed', value, attempts };
    }
    case 'ondisconnect': {
      const client = needClient(tokens[1]);
      const method = word(tokens[2], where, 'set, update, remove or cancel');
      if (!['set', 'update', 'remove', 'cancel'].includes(method)) throw new Error(`${where}: ondisconnect set|update|remove|cancel`);
      const path = pathArg(tokens[3], where);
      let i = 4;
      let data;
      if (method === 'set' || method === 'update') data = jsonArg(tokens[i++], where, 'value');
      return { op, client, method, path, data, outcome: outcomeArgs(tokens, i, where) };
    }
    default:
      if (WRITE_OPS.includes(op)) {
        const client = needClient(tokens[1]);
        const path = pathArg(tokens[2], where);
        let i = 3;
        let data;
        if (op !== 'remove') data = jsonArg(tokens[i++], where, 'value');
        let priority;
        let saveAs;
        for (;;) {
          if (tokens[i]?.text === 'priority') {
            priority = jsonArg(tokens[i + 1], where, 'priority');
            i += 2;
          } else if (tokens[i]?.text === 'as' && op === 'push') {
            saveAs = word(tokens[i + 1], where, 'variable name');
            i += 2;
          } else break;
        }
        return { op, client, path, data, priority, saveAs, outcome: outcomeArgs(tokens, i, where) };
      }
      throw new Error(`${where}: unknown step ${op}`);
  }
}

/** Parses a case file. Lines that begin with a space continue the previous line. */
export function parseCases(text, file) {
  const lines = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    if (/^[ \t]/.test(line) && lines.length > 0 && line.trim() !== '' && !line.trim().startsWith('#')) {
      lines[lines.length - 1].text += ` ${line.trim()}`;
    } else {
      lines.push({ text: line, number: index + 1 });
    }
  });
  const cases = [];
  let current = null;
  let pendingOnly = null;
  for (const { text: line, number } of lines) {
    const where = `${file}:${number}`;
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    if (trimmed.startsWith('case ')) {
      if (pendingOnly) throw new Error(`${where}: an "only" line without a step after it`);
      current = { file, title: trimmed.slice(5).trim(), line: number, doors: [...DOORS], skipReason: {}, known: {},
        steps: [], clients: new Set() };
      cases.push(current);
      continue;
    }
    if (!current) throw new Error(`${where}: a step before the first "case" line`);
    if (trimmed.startsWith('doors ')) {
      if (current.steps.length) throw new Error(`${where}: "doors" comes before the steps`);
      const m = /^doors\s+(\S+)\s*(.*)$/.exec(trimmed);
      const doors = m[1].split(',');
      for (const d of doors) if (!DOORS.includes(d)) throw new Error(`${where}: unknown door ${d}`);
      if (!m[2]) throw new Error(`${where}: "doors" needs a reason: doors ${m[1]} <why the others cannot run it>`);
      for (const d of DOORS) if (!doors.includes(d)) current.skipReason[d] = m[2];
      current.doors = doors;
      continue;
    }
    if (trimmed.startsWith('known ')) {
      const m = /^known\s+(\S+)\s+(.+)$/.exec(trimmed);
      if (!m || !m[1].split(',').every((d) => DOORS.includes(d))) throw new Error(`${where}: known <door[,door]> <note>`);
      for (const d of m[1].split(',')) current.known[d] = m[2];
      continue;
    }
    if (trimmed.startsWith('only ')) {
      // `only <door,door> <reason>`: the next step runs on these doors only; the others say why they cannot.
      const m = /^only\s+(\S+)\s+(.+)$/.exec(trimmed);
      if (!m || !m[1].split(',').every((d) => DOORS.includes(d))) throw new Error(`${where}: only <door[,door]> <reason>`);
      if (pendingOnly) throw new Error(`${where}: two "only" lines for one step`);
      pendingOnly = { doors: m[1].split(','), reason: m[2] };
      continue;
    }
    const tokens = tokenize(trimmed, where);
    if (tokens.length === 0) continue;
    const step = parseStep(tokens, where, current.clients);
    step.line = number;
    step.text = trimmed;
    step.doors = pendingOnly?.doors ?? DOORS;
    step.skipReason = pendingOnly?.reason;
    pendingOnly = null;
    current.steps.push(step);
  }
  if (pendingOnly) throw new Error(`${file}: an "only" line without a step after it`);
  for (const c of cases) {
    if (c.steps.length === 0) throw new Error(`${file}:${c.line}: case "${c.title}" has no steps`);
    delete c.clients;
  }
  return cases;
}
