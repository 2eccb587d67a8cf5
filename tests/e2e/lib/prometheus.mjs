// A parser of Prometheus's text exposition format 0.0.4, strict enough to fail on what Prometheus would refuse:
// samples before their family's TYPE, a family split in two, a repeated series, a counter not named *_total, a bad
// escape, a histogram whose buckets are not cumulative or disagree with its _count.
import { curl } from './server.mjs';

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(text, line) {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad sample value "${text}" in: ${line}`);
  return Number(text);
}

// `{a="x",b="y"}` at text[at]: returns [labels, index after the closing brace].
function parseLabels(text, at, line) {
  const labels = {};
  let i = at + 1;
  for (;;) {
    if (text[i] === '}') return [labels, i + 1];
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new Error(`label without "=" in: ${line}`);
    const name = text.slice(i, eq);
    if (!LABEL.test(name)) throw new Error(`bad label name "${name}" in: ${line}`);
    if (name in labels) throw new Error(`label ${name} twice in: ${line}`);
    if (text[eq + 1] !== '"') throw new Error(`label value not quoted in: ${line}`);
    let value = '';
    let j = eq + 2;
    for (;; j++) {
      if (j >= text.length) throw new Error(`unterminated label value in: ${line}`);
      const c = text[j];
      if (c === '"') break;
      if (c === '\\') {
        const next = text[++j];
        if (next === '\\') value += '\\';
        else if (next === '"') value += '"';
        else if (next === 'n') value += '\n';
        else throw new Error(`bad escape \\${next} in: ${line}`);
      } else {
        value += c;
      }
    }
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new Error(`expected "," or "}" after a label in: ${line}`);
  }
}

/**
 * Parses a scrape. Returns a Map of family name → {type, help, samples: [{name, labels, value}]}, where a
 * histogram's family holds its _bucket, _sum and _count samples.
 */
export function parsePrometheusText(text) {
  if (!text.endsWith('\n')) throw new Error('the exposition does not end with a line feed');
  const families = new Map();
  const seenSeries = new Set();
  let current = null; // the family whose lines are being read
  const familyOf = (sampleName) => {
    if (families.has(sampleName) && families.get(sampleName).type !== 'histogram') return sampleName;
    const base = sampleName.replace(/_(bucket|sum|count)$/, '');
    if (base !== sampleName && families.get(base)?.type === 'histogram') return base;
    return null;
  };
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const match = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!match) continue; // a comment
      const [, kind, name, rest] = match;
      if (!NAME.test(name)) throw new Error(`bad metric name in: ${line}`);
      let family = families.get(name);
      if (family && current !== family) throw new Error(`family ${name} appears twice`);
      if (!family) {
        family = { type: 'untyped', help: '', samples: [], typed: false, helped: false };
        families.set(name, family);
      }
      if (kind === 'TYPE') {
        if (family.typed || family.samples.length) throw new Error(`TYPE of ${name} after its samples or twice`);
        if (!TYPES.has(rest)) throw new Error(`unknown type in: ${line}`);
        family.type = rest;
        family.typed = true;
        if (rest === 'counter' && !name.endsWith('_total')) throw new Error(`counter ${name} is not named *_total`);
      } else {
        if (family.helped) throw new Error(`HELP of ${name} twice`);
        family.help = rest.replace(/\\(\\|n)/g, (_, c) => (c === 'n' ? '\n' : '\\'));
        family.helped = true;
      }
      current = family;
      continue;
    }
    const nameEnd = line.search(/[{ ]/);
    if (nameEnd <= 0) throw new Error(`bad sample line: ${line}`);
    const name = line.slice(0, nameEnd);
    let labels = {};
    let rest = line.slice(nameEnd);
    if (rest[0] === '{') {
      const [parsed, after] = parseLabels(line, nameEnd, line);
      labels = parsed;
      rest = line.slice(after);
    }
    const parts = rest.trim().split(/\s+/);
    if (parts.length < 1 || parts.length > 2) throw new Error(`bad sample line: ${line}`);
    const value = parseValue(parts[0], line);
    const familyName = familyOf(name);
    if (!familyName) throw new Error(`sample ${name} before (or without) its family's TYPE: ${line}`);
    const family = families.get(familyName);
    if (family !== current) throw new Error(`sample of ${familyName} outside its family's block: ${line}`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seenSeries.has(key)) throw new Error(`series repeated: ${line}`);
    seenSeries.add(key);
    family.samples.push({ name, labels, value });
  }
  for (const [name, family] of families) {
    if (family.type === 'histogram') checkHistogram(name, family);
  }
  return families;
}

function checkHistogram(name, family) {
  const series = new Map();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    if (!series.has(key)) series.set(key, { buckets: [], count: undefined, sum: undefined });
    const entry = series.get(key);
    if (sample.name === `${name}_bucket`) entry.buckets.push([parseValue(le, name), sample.value]);
    else if (sample.name === `${name}_count`) entry.count = sample.value;
    else if (sample.name === `${name}_sum`) entry.sum = sample.value;
  }
  for (const entry of series.values()) {
    const last = entry.buckets.at(-1);
    if (!last || last[0] !== Infinity) throw new Error(`histogram ${name} has no +Inf bucket`);
    for (let i = 1; i < entry.buckets.length; i++) {
      if (entry.buckets[i][0] <= entry.buckets[i - 1][0]) throw new Error(`histogram ${name}: bounds not ascending`);
      if (entry.buckets[i][1] < entry.buckets[i - 1][1]) throw new Error(`histogram ${name}: buckets not cumulative`);
    }
    if (entry.count !== last[1]) throw new Error(`histogram ${name}: _count ${entry.count} != +Inf bucket ${last[1]}`);
    if (entry.sum === undefined) throw new Error(`histogram ${name} has no _sum`);
  }
}

/**
 * The value of the one sample of `name` whose labels include `labels` (exactly one must match); `name` may be a
 * histogram's _bucket, _sum or _count.
 */
export function sampleValue(families, name, labels = {}) {
  const familyName = families.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
  const family = families.get(familyName);
  if (!family) throw new Error(`no metric family ${familyName}`);
  const matching = family.samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (matching.length !== 1) {
    throw new Error(`${matching.length} samples of ${name} match ${JSON.stringify(labels)}`);
  }
  return matching[0].value;
}

/** GET /metrics with the admin token (unless `token` is null), parsed; throws on a status other than 200. */
export async function scrape(server, token) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const response = await curl(server.u('/metrics'), { headers });
  if (response.status !== 200) throw new Error(`GET /metrics: ${response.status} ${response.body}`);
  return parsePrometheusText(response.body);
}
