// The server at a glance: connections by door, writes/s and deliveries/s (from GET /metrics, Prometheus's text
// format, read every 2 s while this screen is shown) and the databases with their size on disk.
import { request } from './api.js';
import { el, clear, toast, formatBytes } from './ui.js';

const INTERVAL_MS = 2000;
const POINTS = 60; // two minutes of history

/** Prometheus text format -> [{name, labels, value}] (comments and blank lines skipped). */
export function parseMetrics(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels = {};
    if (match[3]) {
      for (const pair of match[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
    }
    samples.push({ name: match[1], labels, value: Number(match[4]) });
  }
  return samples;
}

function sum(samples, name, where = () => true) {
  return samples.filter((s) => s.name === name && where(s.labels)).reduce((total, s) => total + s.value, 0);
}

const SVG = 'http://www.w3.org/2000/svg';

/** A small line chart (SVG; no library). */
class Sparkline {
  constructor(label, unit) {
    this.values = [];
    this.unit = unit;
    this.svg = document.createElementNS(SVG, 'svg');
    this.svg.setAttribute('viewBox', `0 0 ${POINTS} 30`);
    this.svg.setAttribute('preserveAspectRatio', 'none');
    this.svg.setAttribute('role', 'img');
    this.svg.setAttribute('aria-label', label);
    this.line = document.createElementNS(SVG, 'polyline');
    this.svg.append(this.line);
    this.now = el('span.big', {}, '–');
    this.root = el('div.chart', {}, el('h3', {}, label), this.now, this.svg);
  }

  push(value) {
    this.values.push(value);
    if (this.values.length > POINTS) this.values.shift();
    const max = Math.max(1, ...this.values);
    // One sample is drawn as a short flat line: a polyline of one point shows nothing.
    const shown = this.values.length === 1 ? [value, value] : this.values;
    const offset = POINTS - shown.length;
    this.line.setAttribute('points', shown.map((v, i) => `${offset + i},${(30 - (v / max) * 28 - 1).toFixed(2)}`).join(' '));
    this.now.textContent = `${value < 10 ? value.toFixed(1) : Math.round(value).toLocaleString()} ${this.unit}`;
    this.svg.setAttribute('aria-label', `${this.root.querySelector('h3').textContent}: now ${this.now.textContent}`);
  }
}

const DOORS = {
  http: 'HTTP (REST, Auth)',
  event_stream: 'REST event streams',
  firebase_websocket: 'Firebase WebSocket',
  firebase_long_poll: 'Firebase long poll',
  stomp_tcp: 'STOMP over TCP',
  stomp_websocket: 'STOMP over WebSocket',
};

export class ServerScreen {
  constructor(root, context) {
    this.root = root;
    this.context = context;
    this.timer = null;
    this.previous = null;
    this.build();
  }

  build() {
    this.writes = new Sparkline('Writes per second', '/s');
    this.deliveries = new Sparkline('Deliveries per second', '/s');
    this.connections = el('tbody');
    this.databases = el('tbody');
    this.info = el('p.note');
    clear(this.root).append(
      el('div.screen-head', {}, el('h1', { id: 'server-title' }, 'Server'), this.info),
      el('div.charts', {}, this.writes.root, this.deliveries.root),
      el('div.server-tables', {},
        el('section', { 'aria-labelledby': 'connections-title' }, el('h2', { id: 'connections-title' }, 'Connections by door'),
          el('table', {}, el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Door'), el('th.num', { scope: 'col' }, 'Open'))), this.connections)),
        el('section', { 'aria-labelledby': 'databases-title' }, el('h2', { id: 'databases-title' }, 'Databases'),
          el('table', {}, el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Name'), el('th.num', { scope: 'col' }, 'On disk'),
            el('th.num', { scope: 'col' }, 'Listens'))), this.databases))));
  }

  start() {
    this.stop();
    this.previous = null;
    const tick = () => this.refresh().catch((e) => {
      this.info.textContent = `Cannot read the metrics: ${e.message}`;
    });
    tick();
    this.timer = setInterval(tick, INTERVAL_MS);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
  }

  async refresh() {
    const response = await request('/metrics', { raw: true });
    if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
    const samples = parseMetrics(await response.text());
    const now = performance.now();
    const writes = sum(samples, 'backside_writes_total', (l) => l.result === 'ok');
    const deliveries = sum(samples, 'backside_fanout_deliveries_total');
    if (this.previous) {
      const seconds = (now - this.previous.at) / 1000;
      this.writes.push(Math.max(0, (writes - this.previous.writes) / seconds));
      this.deliveries.push(Math.max(0, (deliveries - this.previous.deliveries) / seconds));
    }
    this.previous = { at: now, writes, deliveries };

    const version = samples.find((s) => s.name === 'backside_build_info')?.labels.version;
    const started = samples.find((s) => s.name === 'process_start_time_seconds')?.value;
    const memory = samples.find((s) => s.name === 'process_resident_memory_bytes')?.value;
    this.info.textContent = [version && `version ${version}`, started && `up since ${new Date(started * 1000).toLocaleString()}`,
      memory && `${formatBytes(memory)} resident`].filter(Boolean).join(' · ');

    clear(this.connections);
    for (const [kind, label] of Object.entries(DOORS)) {
      const open = sum(samples, 'backside_open_connections', (l) => l.kind === kind);
      this.connections.append(el('tr', { dataset: { door: kind } }, el('td', {}, label), el('td.num', {}, open.toLocaleString())));
    }

    const { body } = await request('/.console/api/databases');
    clear(this.databases);
    for (const db of body.databases) {
      const listens = sum(samples, 'backside_database_listens', (l) => l.database === db.name);
      this.databases.append(el('tr', { dataset: { database: db.name } },
        el('td', {}, db.name, db.damaged ? el('div.error', {}, `damaged: ${db.damaged}`) : null),
        el('td.num', {}, formatBytes(db.disk_bytes)),
        el('td.num', {}, listens.toLocaleString())));
    }
  }
}
