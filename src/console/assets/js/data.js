// The data viewer: a tree read one page (50 children) at a time through /.console/api/children, kept live by the
// change feed (/.console/api/changes), edited over REST with ETag preconditions (docs/console.md).
import { request, restUrl, readEventStream, upload, download, joinPath, parentOf, keyOf, splitPath, ApiError } from './api.js';
import { el, clear, toast, modal, confirmAction, formatLeaf, valueEditor, progressBar } from './ui.js';

const PAGE = 50;
const MAX_JSON_EDIT_CHILDREN = 1000; // larger objects are exported and imported, not edited in a text box
const HIGHLIGHT_MS = 2500;

/** A filter value as typed: JSON if it parses (30, true, "30"), else the text as a string. */
function filterValue(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function keyError(key) {
  if (!key) return 'A key cannot be empty';
  if (/[.$#[\]/]/.test(key) || /[\x00-\x1f\x7f]/.test(key)) return 'A key cannot contain . $ # [ ] / or control characters';
  if (new TextEncoder().encode(key).length > 768) return 'A key is at most 768 bytes';
  return '';
}

export class DataScreen {
  constructor(root) {
    this.root = root;
    this.db = null;
    this.nodes = new Map(); // path -> node shown in the tree
    this.viewPath = '/';
    this.filter = null; // REST query parameters for the view root's children, or null (key order, paged)
    this.selected = null;
    this.stream = null;
    this.pendingRefresh = new Set();
    this.pendingSummary = new Set();
    this.flushTimer = null;
    this.build();
  }

  build() {
    const form = el('form.query', { 'aria-label': 'Location and query', onsubmit: (e) => { e.preventDefault(); this.applyQuery(); } });
    this.pathInput = el('input', { id: 'view-path', value: '/', spellcheck: false });
    this.orderBy = el('select', { id: 'order-by', onchange: () => { this.childPath.hidden = this.orderBy.value !== 'child'; } },
      el('option', { value: '' }, 'key order, paged'),
      el('option', { value: 'child' }, 'orderByChild'),
      el('option', { value: '$key' }, 'orderByKey'),
      el('option', { value: '$value' }, 'orderByValue'),
      el('option', { value: '$priority' }, 'orderByPriority'));
    this.childPath = el('input', { id: 'order-child', placeholder: 'child path, e.g. age', hidden: true, 'aria-label': 'Child path' });
    const field = (id, label, placeholder) => {
      const input = el('input', { id, placeholder, spellcheck: false });
      return [input, el('label.field', { for: id }, label, input)];
    };
    let equalLabel, startLabel, endLabel, firstLabel, lastLabel;
    [this.equalTo, equalLabel] = field('equal-to', 'equalTo', 'JSON or text');
    [this.startAt, startLabel] = field('start-at', 'startAt', 'JSON or text');
    [this.endAt, endLabel] = field('end-at', 'endAt', 'JSON or text');
    [this.limitFirst, firstLabel] = field('limit-first', 'limitToFirst', 'n');
    [this.limitLast, lastLabel] = field('limit-last', 'limitToLast', 'n');
    form.append(
      el('label.field.wide', { for: 'view-path' }, 'Location', this.pathInput),
      el('label.field', { for: 'order-by' }, 'Order', this.orderBy, this.childPath),
      equalLabel, startLabel, endLabel, firstLabel, lastLabel,
      el('div.buttons', {},
        el('button.primary', { type: 'submit' }, 'Apply'),
        el('button', { type: 'button', onclick: () => this.clearQuery() }, 'Clear')));
    this.status = el('p.stream-status', { role: 'status' });
    this.tree = el('ul.tree', { role: 'tree', 'aria-label': 'Data', onkeydown: (event) => this.onTreeKey(event) });
    this.details = el('aside.details', { 'aria-label': 'Selected location' });
    clear(this.root).append(
      el('div.screen-head', {}, el('h1', { id: 'data-title' }, 'Data'), this.status),
      form,
      el('div.data-layout', {}, el('div.tree-box', {}, this.tree), this.details));
  }

  start(db) {
    if (db === this.db && this.stream) return;
    this.stop();
    this.db = db;
    this.viewPath = '/';
    this.pathInput.value = '/';
    this.filter = null;
    this.reload();
    this.openStream();
  }

  stop() {
    if (this.stream) this.stream.abort();
    this.stream = null;
  }

  // --- the change feed ---

  openStream() {
    const controller = new AbortController();
    this.stream = controller;
    const url = `/.console/api/changes?${new URLSearchParams({ ns: this.db })}`;
    this.status.textContent = 'Connecting…';
    readEventStream(url, {
      signal: controller.signal,
      onOpen: () => {},
      onEvent: (name, data) => {
        if (name === 'ready') {
          this.status.textContent = 'Live';
          this.status.classList.add('live');
        } else if (name === 'changes') {
          this.onChanges(data);
        }
      },
    }).then(() => this.streamEnded(controller, 'The server closed the live connection'),
      (error) => this.streamEnded(controller, error.message));
  }

  streamEnded(controller, why) {
    if (controller.signal.aborted || this.stream !== controller) return;
    this.status.textContent = `Not live: ${why}. Reconnecting…`;
    this.status.classList.remove('live');
    setTimeout(() => {
      if (this.stream === controller) {
        this.openStream();
        this.reload(); // what changed meanwhile
      }
    }, 2000);
  }

  onChanges(changes) {
    for (const change of changes) {
      const path = change.path;
      const node = this.nodes.get(path);
      const deleted = !('children' in change) && change.value === null;
      if (node) {
        if (deleted && node.path !== this.viewPath) {
          this.removeNode(node);
          const parent = this.nodes.get(parentOf(path));
          if (parent) {
            this.highlight(parent);
            this.scheduleSummary(parent);
          }
          continue;
        }
        node.summary = change;
        this.renderSummary(node);
        this.highlight(node);
        if (node.expanded) this.scheduleRefresh(node);
        if (this.selected === node) this.renderDetails();
        continue;
      }
      // Not shown: below a shown node (highlight it), or a new child of an expanded one (list it).
      let ancestor = null;
      for (let p = parentOf(path); ; p = parentOf(p)) {
        ancestor = this.nodes.get(p);
        if (ancestor || p === '/') break;
      }
      if (!ancestor) continue;
      this.highlight(ancestor);
      if (ancestor.expanded && parentOf(path) === ancestor.path) this.scheduleRefresh(ancestor);
      else if (!ancestor.expanded) this.scheduleSummary(ancestor);
    }
  }

  highlight(node) {
    node.row.classList.remove('changed');
    void node.row.offsetWidth; // restart the animation
    node.row.classList.add('changed');
    clearTimeout(node.highlightTimer);
    node.highlightTimer = setTimeout(() => node.row.classList.remove('changed'), HIGHLIGHT_MS);
  }

  scheduleRefresh(node) {
    this.pendingRefresh.add(node.path);
    this.scheduleFlush();
  }

  scheduleSummary(node) {
    this.pendingSummary.add(node.path);
    this.scheduleFlush();
  }

  scheduleFlush() {
    if (this.flushTimer) return;
    // Changes come in bursts (an import, a busy writer): one read per node per 100 ms at most.
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      const refresh = [...this.pendingRefresh];
      const summaries = [...this.pendingSummary];
      this.pendingRefresh.clear();
      this.pendingSummary.clear();
      for (const path of refresh) {
        const node = this.nodes.get(path);
        if (node?.expanded) this.loadChildren(node, { refresh: true }).catch((e) => toast(e.message, 'error'));
      }
      for (const path of summaries) {
        const node = this.nodes.get(path);
        if (node) this.refreshSummary(node).catch((e) => toast(e.message, 'error'));
      }
    }, 100);
  }

  // --- reading ---

  async children(path, params) {
    const query = new URLSearchParams({ ns: this.db, path, ...params });
    const { body } = await request(`/.console/api/children?${query}`);
    return body;
  }

  async reload() {
    clear(this.tree);
    this.nodes.clear();
    this.selected = null;
    this.renderDetails();
    const rootNode = this.makeNode(this.viewPath, this.viewPath === '/' ? this.db : keyOf(this.viewPath), null);
    this.tree.append(rootNode.li);
    try {
      await this.refreshSummary(rootNode);
      if ('children' in rootNode.summary || this.filter) await this.expand(rootNode);
    } catch (error) {
      rootNode.valueEl.textContent = error.message;
      rootNode.valueEl.classList.add('error');
    }
    this.select(rootNode);
  }

  async refreshSummary(node) {
    if (node.path === this.viewPath) {
      const body = await this.children(node.path, { orderBy: '"$key"', limitToFirst: '1' });
      node.summary = !body.exists ? { value: null } : 'count' in body ? { children: body.count } : body;
    } else {
      const body = await this.children(parentOf(node.path), { orderBy: '"$key"', equalTo: JSON.stringify(node.key) });
      const found = body.children?.find((c) => c.key === node.key);
      if (!found) {
        this.removeNode(node);
        return;
      }
      node.summary = found;
    }
    this.renderSummary(node);
    if (this.selected === node) this.renderDetails();
  }

  /** Lists a node's children: the first page, the next (append), or again what is shown (refresh). */
  async loadChildren(node, { append = false, refresh = false } = {}) {
    let params;
    const filtered = this.filter && node.path === this.viewPath;
    if (filtered) {
      params = this.filter;
    } else {
      const shown = node.childKeys.length;
      params = { orderBy: '"$key"', limitToFirst: String((refresh ? Math.max(shown, PAGE) : PAGE) + 1) };
      if (append && shown) params.startAfter = JSON.stringify(node.childKeys[shown - 1]);
    }
    const body = await this.children(node.path, params);
    if (!body.exists || !body.children) {
      node.summary = body.exists ? body : { value: null };
      this.renderSummary(node);
      this.collapse(node);
      return;
    }
    node.summary = { children: body.count };
    this.renderSummary(node);
    let listed = body.children;
    let more = false;
    if (!filtered) {
      const limit = Number(params.limitToFirst) - 1;
      more = listed.length > limit;
      listed = listed.slice(0, limit);
    }
    if (!append) {
      const keep = new Set(listed.map((c) => c.key));
      for (const key of node.childKeys) {
        if (!keep.has(key)) this.removeNode(this.nodes.get(joinPath(node.path, key)));
      }
      node.childKeys = [];
    }
    for (const child of listed) {
      const path = joinPath(node.path, child.key);
      let childNode = this.nodes.get(path);
      if (childNode) {
        const changed = JSON.stringify(childNode.summary) !== JSON.stringify({ ...child, key: undefined, path: undefined });
        childNode.summary = child;
        this.renderSummary(childNode);
        if (refresh && changed) this.highlight(childNode);
      } else {
        childNode = this.makeNode(path, child.key, child);
        if (refresh) this.highlight(childNode);
      }
      node.childList.append(childNode.li); // in listing order
      node.childKeys.push(child.key);
    }
    node.more = more;
    this.renderMore(node, body, filtered);
  }

  renderMore(node, body, filtered) {
    node.moreEl.replaceChildren();
    if (node.more) {
      const left = body.count - node.childKeys.length;
      node.moreEl.append(el('button.link.load-more', {
        type: 'button',
        onclick: async (event) => {
          event.currentTarget.disabled = true;
          await this.loadChildren(node, { append: true }).catch((e) => toast(e.message, 'error'));
        },
      }, `Load more (${node.childKeys.length.toLocaleString()} of ${body.count.toLocaleString()} shown, ${left.toLocaleString()} more)`));
    } else if (filtered) {
      node.moreEl.append(el('span.note', {}, body.truncated
        ? `First 1,000 matches shown: add a limit to see others`
        : `${node.childKeys.length.toLocaleString()} match${node.childKeys.length === 1 ? '' : 'es'} of ${body.count.toLocaleString()} children`));
    }
  }

  // --- the tree's rows ---

  makeNode(path, key, summary) {
    const node = { path, key, summary: summary || {}, expanded: false, childKeys: [], more: false };
    node.toggle = el('button.toggle', { type: 'button', 'aria-label': `Expand ${key}`, onclick: () => this.toggle(node) }, '▸');
    node.keyEl = el('button.key', { type: 'button', onclick: () => this.select(node) }, key);
    node.valueEl = el('span.value');
    node.row = el('div.row', {}, node.toggle, node.keyEl, node.valueEl);
    node.childList = el('ul', { role: 'group' });
    node.moreEl = el('div.more');
    node.li = el('li', { role: 'treeitem', dataset: { path } }, node.row, node.childList, node.moreEl);
    node.childList.hidden = true;
    this.nodes.set(path, node);
    this.renderSummary(node);
    return node;
  }

  renderSummary(node) {
    const s = node.summary;
    const isObject = 'children' in s;
    node.toggle.hidden = !isObject;
    node.li.setAttribute('aria-expanded', isObject ? String(node.expanded) : 'false');
    if (!isObject) node.li.removeAttribute('aria-expanded');
    node.valueEl.classList.remove('error');
    if (isObject) {
      node.valueEl.textContent = `{${s.children.toLocaleString()}}`;
      node.valueEl.title = `${s.children} children`;
      node.valueEl.className = 'value object';
    } else if ('value' in s) {
      const text = s.value === null ? 'null' : formatLeaf(s.value);
      node.valueEl.textContent = s.length ? `${text.slice(0, -1)}…" (${s.length.toLocaleString()} bytes)` : text;
      node.valueEl.className = `value ${s.value === null ? 'null' : typeof s.value}`;
      if (node.expanded) this.collapse(node);
    }
  }

  removeNode(node) {
    if (!node) return;
    for (const key of node.childKeys) this.removeNode(this.nodes.get(joinPath(node.path, key)));
    this.nodes.delete(node.path);
    node.li.remove();
    const parent = this.nodes.get(parentOf(node.path));
    if (parent && parent !== node) parent.childKeys = parent.childKeys.filter((k) => k !== node.key);
    if (this.selected === node) {
      this.selected = null;
      this.renderDetails();
    }
  }

  async toggle(node) {
    if (node.expanded) this.collapse(node);
    else await this.expand(node).catch((e) => toast(e.message, 'error'));
  }

  async expand(node) {
    node.expanded = true;
    node.toggle.textContent = '▾';
    node.toggle.setAttribute('aria-label', `Collapse ${node.key}`);
    node.li.setAttribute('aria-expanded', 'true');
    node.childList.hidden = false;
    await this.loadChildren(node);
  }

  collapse(node) {
    node.expanded = false;
    node.toggle.textContent = '▸';
    node.toggle.setAttribute('aria-label', `Expand ${node.key}`);
    if ('children' in node.summary) node.li.setAttribute('aria-expanded', 'false');
    for (const key of node.childKeys) this.removeNode(this.nodes.get(joinPath(node.path, key)));
    node.childKeys = [];
    node.childList.hidden = true;
    node.moreEl.replaceChildren();
  }

  select(node) {
    if (this.selected) {
      this.selected.row.classList.remove('selected');
      this.selected.li.setAttribute('aria-selected', 'false');
    }
    this.selected = node;
    node.row.classList.add('selected');
    node.li.setAttribute('aria-selected', 'true');
    this.renderDetails();
  }

  renderDetails() {
    const node = this.selected;
    clear(this.details);
    if (!node) {
      this.details.append(el('p.note', {}, 'Select a location to edit it.'));
      return;
    }
    const isObject = 'children' in node.summary;
    const isRoot = node.path === '/';
    const action = (label, handler, enabled = true) => el('button', {
      type: 'button',
      disabled: !enabled,
      onclick: () => handler.call(this, node).catch((e) => toast(e.message, 'error')),
    }, label);
    this.details.append(
      el('h2', {}, 'Location'),
      el('code.path', { id: 'selected-path' }, node.path),
      el('p', {}, isObject ? `Object with ${node.summary.children.toLocaleString()} children`
        : node.summary.value === null || node.summary.value === undefined ? 'No value' : `A ${typeof node.summary.value}`),
      el('div.actions.vertical', {},
        action('Edit value', this.edit),
        action('Add child', this.addChild, isObject || node.summary.value === null),
        action('Rename', this.rename, !isRoot),
        action('Clone', this.clone, !isRoot),
        action('Export JSON', this.exportNode),
        action('Import JSON', this.importNode),
        el('button.danger', { type: 'button', disabled: isRoot && !isObject, onclick: () => this.remove(node).catch((e) => toast(e.message, 'error')) }, 'Delete')),
    );
  }

  /**
   * The tree's keys, as WAI-ARIA's tree pattern has them: Up / Down move between the rows shown, Right expands (then
   * goes to the first child), Left collapses (then goes to the parent), Home / End go to the first / last row;
   * Enter or Space on a key selects it (it is a button), Tab moves on to the actions.
   */
  onTreeKey(event) {
    const li = event.target.closest('li[role="treeitem"]');
    const node = li && this.nodes.get(li.dataset.path);
    if (!node || !['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(event.key)) return;
    event.preventDefault();
    const rows = [...this.tree.querySelectorAll('.key')].filter((button) => button.offsetParent !== null);
    const here = rows.indexOf(node.keyEl);
    const focus = (button) => button?.focus();
    switch (event.key) {
      case 'ArrowDown': return focus(rows[here + 1]);
      case 'ArrowUp': return focus(rows[here - 1]);
      case 'Home': return focus(rows[0]);
      case 'End': return focus(rows[rows.length - 1]);
      case 'ArrowRight':
        if (!('children' in node.summary)) return undefined;
        if (!node.expanded) return this.expand(node).catch((e) => toast(e.message, 'error'));
        return focus(this.nodes.get(joinPath(node.path, node.childKeys[0] ?? ''))?.keyEl);
      case 'ArrowLeft':
        if (node.expanded && node.path !== this.viewPath) return this.collapse(node);
        return focus(node.path === this.viewPath ? null : this.nodes.get(parentOf(node.path))?.keyEl);
      default: return undefined;
    }
  }

  applyQuery() {
    const path = this.pathInput.value.trim() || '/';
    this.viewPath = `/${splitPath(path).join('/')}`;
    this.pathInput.value = this.viewPath;
    const order = this.orderBy.value;
    const params = {};
    if (order) {
      if (order === 'child') {
        if (!this.childPath.value.trim()) return toast('orderByChild needs a child path', 'error');
        params.orderBy = JSON.stringify(this.childPath.value.trim());
      } else {
        params.orderBy = JSON.stringify(order);
      }
      // Bounds as the user typed them; key-order bounds are always strings.
      const bound = (input) => JSON.stringify(order === '$key' ? input.value : filterValue(input.value));
      if (this.equalTo.value !== '') params.equalTo = bound(this.equalTo);
      if (this.startAt.value !== '') params.startAt = bound(this.startAt);
      if (this.endAt.value !== '') params.endAt = bound(this.endAt);
      if (this.limitFirst.value !== '') params.limitToFirst = this.limitFirst.value.trim();
      if (this.limitLast.value !== '') params.limitToLast = this.limitLast.value.trim();
      this.filter = params;
    } else {
      if (this.equalTo.value || this.startAt.value || this.endAt.value || this.limitFirst.value || this.limitLast.value) {
        return toast('Choose an order for the filter (as Firebase queries need one)', 'error');
      }
      this.filter = null;
    }
    this.reload();
  }

  clearQuery() {
    for (const input of [this.equalTo, this.startAt, this.endAt, this.limitFirst, this.limitLast, this.childPath]) input.value = '';
    this.orderBy.value = '';
    this.childPath.hidden = true;
    this.applyQuery();
  }

  // --- writing: every write carries a precondition (if-match) so that a newer value is never overwritten ---

  async readWithEtag(path, params = {}) {
    const { body, response } = await request(restUrl(this.db, path, params), { headers: { 'X-Firebase-ETag': 'true' } });
    return { value: body, etag: response.headers.get('ETag') };
  }

  async write(method, path, value, etag) {
    const headers = etag ? { 'if-match': etag } : {};
    try {
      return await request(restUrl(this.db, path), { method, body: value === undefined ? undefined : JSON.stringify(value), headers });
    } catch (error) {
      if (error instanceof ApiError && error.status === 412) {
        error.conflict = { value: error.body, etag: error.response.headers.get('ETag') };
      }
      throw error;
    }
  }

  async edit(node) {
    if ((node.summary.children || 0) > MAX_JSON_EDIT_CHILDREN) {
      throw new Error(`${node.path} has ${node.summary.children.toLocaleString()} children: edit its children, or export, change and import it`);
    }
    const { value, etag } = await this.readWithEtag(node.path);
    await modal(`Edit ${node.path}`, (dialog, close) => {
      const editor = valueEditor(value === null ? undefined : value, { idPrefix: 'edit' });
      const error = el('p.error', { role: 'alert' });
      const conflict = el('div.conflict', { hidden: true });
      let currentEtag = etag;
      const save = async (event) => {
        event?.preventDefault();
        error.textContent = '';
        let typed;
        try {
          typed = editor.read();
        } catch (e) {
          error.textContent = e.message;
          return;
        }
        try {
          await this.write('PUT', node.path, typed, currentEtag);
          toast(`Saved ${node.path}`);
          close(true);
        } catch (e) {
          if (!e.conflict) {
            error.textContent = e.message;
            return;
          }
          // Someone wrote here since the dialog opened: show their value; overwrite only if asked.
          currentEtag = e.conflict.etag;
          clear(conflict).append(
            el('strong', {}, 'Conflict: this location changed since you opened it. Your value was not saved.'),
            el('p', {}, 'Its value now:'),
            el('pre.current-value', {}, JSON.stringify(e.conflict.value, null, 2)),
            el('p', {}, 'Save again to overwrite it with yours, or cancel to keep it.'));
          conflict.hidden = false;
          saveButton.textContent = 'Overwrite';
        }
      };
      const saveButton = el('button.primary', { type: 'submit' }, 'Save');
      const form = el('form', { onsubmit: save }, editor.root, error, conflict,
        el('div.actions', {}, el('button', { type: 'button', onclick: () => close(false) }, 'Cancel'), saveButton));
      dialog.append(form);
    });
  }

  async addChild(node) {
    await modal(`Add a child to ${node.path}`, (dialog, close) => {
      const key = el('input', { id: 'child-key', placeholder: 'empty: a new push ID', spellcheck: false, autofocus: true });
      const editor = valueEditor(undefined, { idPrefix: 'child' });
      const error = el('p.error', { role: 'alert' });
      const form = el('form', {
        onsubmit: async (event) => {
          event.preventDefault();
          error.textContent = '';
          try {
            const value = editor.read();
            if (key.value === '') {
              const { body } = await request(restUrl(this.db, node.path), { method: 'POST', body: JSON.stringify(value) });
              toast(`Added ${joinPath(node.path, body.name)}`);
            } else {
              const problem = keyError(key.value);
              if (problem) throw new Error(problem);
              // null_etag: created only if nothing is there yet.
              await this.write('PUT', joinPath(node.path, key.value), value, 'null_etag');
              toast(`Added ${joinPath(node.path, key.value)}`);
            }
            close(true);
          } catch (e) {
            error.textContent = e.conflict ? `${joinPath(node.path, key.value)} already exists: edit it instead` : e.message;
          }
        },
      }, el('label', { for: 'child-key' }, 'Key'), key, editor.root, error,
      el('div.actions', {}, el('button', { type: 'button', onclick: () => close(false) }, 'Cancel'), el('button.primary', { type: 'submit' }, 'Add')));
      dialog.append(form);
    });
    if (!node.expanded && 'children' in node.summary) await this.expand(node);
  }

  async remove(node) {
    const { etag } = await this.readWithEtag(node.path, { shallow: 'true' });
    const what = 'children' in node.summary ? ` and its ${node.summary.children.toLocaleString()} children` : '';
    if (!(await confirmAction(`Delete ${node.path}?`, `This deletes ${node.path}${what}. It cannot be undone.`))) return;
    try {
      await this.write('DELETE', node.path, undefined, etag);
      toast(`Deleted ${node.path}`);
    } catch (e) {
      if (e.conflict) throw new Error(`${node.path} changed since you asked to delete it: nothing was deleted. Look again, then delete.`);
      throw e;
    }
  }

  async askKey(title, label, initial) {
    return modal(title, (dialog, close) => {
      const input = el('input', { id: 'new-key', value: initial, spellcheck: false, autofocus: true });
      const error = el('p.error', { role: 'alert' });
      dialog.append(el('form', {
        onsubmit: (event) => {
          event.preventDefault();
          const problem = keyError(input.value);
          if (problem) error.textContent = problem;
          else close(input.value);
        },
      }, el('label', { for: 'new-key' }, label), input, error,
      el('div.actions', {}, el('button', { type: 'button', onclick: () => close(undefined) }, 'Cancel'), el('button.primary', { type: 'submit' }, 'OK'))));
      input.select();
    });
  }

  /** Copies a node (with priorities: the export format) to a sibling key that must not exist yet. */
  async copyTo(node, newKey) {
    const { value, etag } = await this.readWithEtag(node.path, { format: 'export' });
    const target = joinPath(parentOf(node.path), newKey);
    try {
      await this.write('PUT', target, value, 'null_etag');
    } catch (e) {
      if (e.conflict) throw new Error(`${target} already exists: choose another key`);
      throw e;
    }
    return { etag, target };
  }

  async rename(node) {
    const newKey = await this.askKey(`Rename ${node.path}`, 'New key', node.key);
    if (newKey === undefined || newKey === node.key) return;
    // Two preconditioned writes (REST has no atomic move): the copy only where nothing is, the delete only if the
    // original is unchanged since it was copied; otherwise the copy is taken back.
    const { etag, target } = await this.copyTo(node, newKey);
    try {
      await this.write('DELETE', node.path, undefined, etag);
    } catch (e) {
      const copy = await this.readWithEtag(target, { shallow: 'true' });
      await this.write('DELETE', target, undefined, copy.etag).catch(() => {});
      if (e.conflict) throw new Error(`${node.path} changed while it was being renamed: it was left as it is`);
      throw e;
    }
    toast(`Renamed ${node.path} to ${target}`);
  }

  async clone(node) {
    const newKey = await this.askKey(`Clone ${node.path}`, 'Key of the copy', `${node.key}-copy`);
    if (newKey === undefined) return;
    const { target } = await this.copyTo(node, newKey);
    toast(`Cloned ${node.path} to ${target}`);
  }

  // --- import / export ---

  async exportNode(node) {
    await modal(`Export ${node.path}`, async (dialog, close) => {
      const progress = progressBar('Export progress');
      const error = el('p.error', { role: 'alert' });
      dialog.append(el('p', {}, 'Reading the JSON (priorities included: the export format)…'), progress.root, error,
        el('div.actions', {}, el('button', { type: 'button', onclick: () => close(false) }, 'Close')));
      try {
        const blob = await download(restUrl(this.db, node.path, { format: 'export' }), { onProgress: (f) => progress.set(f) });
        const name = `${this.db}${node.path === '/' ? '' : node.path.replaceAll('/', '_')}.json`;
        const link = el('a', { href: URL.createObjectURL(blob), download: name, id: 'export-link' }, `Save ${name}`);
        dialog.querySelector('.actions').prepend(link);
        link.click();
        setTimeout(() => URL.revokeObjectURL(link.href), 60000);
      } catch (e) {
        error.textContent = e.message;
      }
    });
  }

  async importNode(node) {
    const { etag } = await this.readWithEtag(node.path, { shallow: 'true' });
    await modal(`Import JSON into ${node.path}`, (dialog, close) => {
      const file = el('input', { id: 'import-file', type: 'file', accept: '.json,application/json' });
      const replace = el('input', { type: 'radio', name: 'import-mode', id: 'import-replace', value: 'replace', checked: true });
      const merge = el('input', { type: 'radio', name: 'import-mode', id: 'import-merge', value: 'merge' });
      const progress = progressBar('Import progress');
      const error = el('p.error', { role: 'alert' });
      const form = el('form', {
        onsubmit: async (event) => {
          event.preventDefault();
          error.textContent = '';
          const chosen = file.files[0];
          if (!chosen) {
            error.textContent = 'Choose a JSON file';
            return;
          }
          let text;
          let value;
          try {
            text = await chosen.text();
            value = JSON.parse(text);
          } catch (e) {
            error.textContent = `${chosen.name} is not JSON: ${e.message}`;
            return;
          }
          if (merge.checked && (typeof value !== 'object' || value === null || Array.isArray(value))) {
            error.textContent = 'Merging needs a JSON object (its keys are set, the others kept)';
            return;
          }
          const result = await upload(restUrl(this.db, node.path), {
            method: merge.checked ? 'PATCH' : 'PUT',
            body: text,
            headers: { 'if-match': etag },
            onProgress: (f) => progress.set(f),
          }).catch((e) => ({ status: 0, body: { error: e.message } }));
          if (result.status === 200) {
            progress.set(1);
            toast(`Imported ${chosen.name} into ${node.path}`);
            close(true);
          } else if (result.status === 412) {
            error.textContent = `${node.path} changed since this dialog opened: nothing was imported. Open it again to import over the new value.`;
          } else {
            error.textContent = result.body?.error || `The import failed (${result.status})`;
          }
        },
      },
      el('label', { for: 'import-file' }, 'JSON file (a value, or an export with priorities)'), file,
      el('fieldset', {}, el('legend', {}, 'Mode'),
        el('label', { for: 'import-replace' }, replace, ' Replace the value at this location'),
        el('label', { for: 'import-merge' }, merge, ' Merge: set the file\'s keys, keep the others')),
      progress.root, error,
      el('div.actions', {}, el('button', { type: 'button', onclick: () => close(false) }, 'Cancel'), el('button.primary', { type: 'submit' }, 'Import')));
      dialog.append(form);
    });
  }
}
