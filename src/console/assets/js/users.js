// The project's users through the Auth admin API (src/proto/auth_api/account_admin.h), as firebase-admin calls it.
import { request } from './api.js';
import { el, clear, toast, modal, confirmAction } from './ui.js';

// The project in the path is not checked by the server (one project per server): any name does.
const ADMIN = '/identitytoolkit.googleapis.com/v1/projects/backside';
const TENANTS = '/identitytoolkit.googleapis.com/v2/projects/backside/tenants';
const PAGE = 100;

export class UsersScreen {
  constructor(root) {
    this.root = root;
    this.users = [];
    this.nextPageToken = null;
    this.tenant = ''; // '' = the project's own users
    this.build();
  }

  /** The admin API of the chosen pool: the project's users, or a tenant's (docs/auth.md). */
  get admin() {
    return this.tenant ? `${ADMIN}/tenants/${encodeURIComponent(this.tenant)}` : ADMIN;
  }

  build() {
    this.pool = el('select', {
      id: 'user-pool',
      onchange: () => {
        this.tenant = this.pool.value;
        this.reload();
      },
    }, el('option', { value: '' }, 'the project'));
    this.search = el('input', { id: 'user-search', type: 'search', placeholder: 'uid, email or name', oninput: () => this.render() });
    this.list = el('tbody');
    this.more = el('div.more');
    clear(this.root).append(
      el('div.screen-head', {}, el('h1', { id: 'users-title' }, 'Users'),
        el('label.inline', { for: 'user-pool' }, 'of', this.pool),
        el('button.primary', { type: 'button', onclick: () => this.create().catch((e) => toast(e.message, 'error')) }, 'Create user')),
      el('form.search', {
        onsubmit: (event) => {
          event.preventDefault();
          this.lookup().catch((e) => toast(e.message, 'error'));
        },
      }, el('label', { for: 'user-search' }, 'Search'), this.search,
      el('button', { type: 'submit' }, 'Look up'),
      el('span.note', {}, 'Filters the users listed; Look up asks the server for an exact uid or email.')),
      el('div.table-box', {}, el('table.users', {},
        el('thead', {}, el('tr', {}, ...['User', 'Email', 'Provider', 'Created', 'Status', 'Claims', 'Actions'].map((h) => el('th', { scope: 'col' }, h)))),
        this.list)),
      this.more);
  }

  start() {
    this.loadTenants().catch((e) => toast(`Cannot list the tenants: ${e.message}`, 'error'));
    this.reload();
  }

  reload() {
    this.users = [];
    this.nextPageToken = null;
    this.render();
    this.loadPage().catch((e) => toast(e.message, 'error'));
  }

  async loadTenants() {
    const { body } = await request(`${TENANTS}?pageSize=100`);
    clear(this.pool).append(el('option', { value: '' }, 'the project'));
    for (const tenant of body.tenants || []) {
      const id = tenant.name.split('/').pop();
      this.pool.append(el('option', { value: id }, `tenant ${tenant.displayName || id} (${id})`));
    }
    this.pool.value = [...this.pool.options].some((o) => o.value === this.tenant) ? this.tenant : '';
    this.tenant = this.pool.value;
  }

  stop() {}

  async loadPage() {
    const params = new URLSearchParams({ maxResults: String(PAGE) });
    if (this.nextPageToken) params.set('nextPageToken', this.nextPageToken);
    const { body } = await request(`${this.admin}/accounts:batchGet?${params}`);
    this.users.push(...(body.users || []));
    this.nextPageToken = body.nextPageToken || null;
    this.render();
  }

  async reloadUser(uid) {
    const { body } = await request(`${this.admin}/accounts:lookup`, { method: 'POST', body: { localId: [uid] } });
    const fresh = body.users?.[0];
    const index = this.users.findIndex((u) => u.localId === uid);
    if (fresh && index >= 0) this.users[index] = fresh;
    else if (fresh) this.users.unshift(fresh);
    else if (index >= 0) this.users.splice(index, 1);
    this.render();
  }

  async lookup() {
    const text = this.search.value.trim();
    if (!text) return;
    const { body } = await request(`${this.admin}/accounts:lookup`, {
      method: 'POST',
      body: text.includes('@') ? { email: [text] } : { localId: [text] },
    });
    if (!body.users?.length) return toast(`No user with ${text.includes('@') ? 'email' : 'uid'} ${text}`, 'error');
    for (const user of body.users) {
      if (!this.users.some((u) => u.localId === user.localId)) this.users.unshift(user);
    }
    this.render();
  }

  render() {
    const needle = this.search.value.trim().toLowerCase();
    const shown = this.users.filter((u) => !needle || [u.localId, u.email, u.displayName]
      .some((field) => field && field.toLowerCase().includes(needle)));
    clear(this.list);
    for (const user of shown) this.list.append(this.row(user));
    if (!shown.length) this.list.append(el('tr', {}, el('td', { colSpan: 7 }, this.users.length ? 'No user matches' : 'No users yet')));
    clear(this.more);
    if (this.nextPageToken) {
      this.more.append(el('button.link', { type: 'button', onclick: () => this.loadPage().catch((e) => toast(e.message, 'error')) }, `Load more (${this.users.length} shown)`));
    }
  }

  row(user) {
    const created = user.createdAt ? new Date(Number(user.createdAt)).toLocaleString() : '';
    const act = (label, handler, cls = '') => el(`button${cls}`, {
      type: 'button',
      onclick: () => handler.call(this, user).catch((e) => toast(e.message, 'error')),
      'aria-label': `${label} ${user.email || user.localId}`,
    }, label);
    return el('tr', { dataset: { uid: user.localId } },
      el('td', {}, el('code', {}, user.localId), user.displayName ? el('div.note', {}, user.displayName) : null),
      el('td', {}, user.email || '—'),
      el('td', {}, (user.providerUserInfo || []).map((p) => p.providerId).join(', ') || (user.email ? 'password' : 'anonymous')),
      el('td', {}, created),
      el('td', {}, el(`span.badge${user.disabled ? '.off' : '.on'}`, {}, user.disabled ? 'Disabled' : 'Active')),
      el('td', {}, user.customAttributes ? el('code', {}, user.customAttributes) : '—'),
      el('td', {}, el('div.row-actions', {},
        act(user.disabled ? 'Enable' : 'Disable', this.toggleDisabled),
        act('Claims', this.editClaims),
        act('Revoke sessions', this.revoke),
        act('Delete', this.remove, '.danger'))));
  }

  async update(user, fields) {
    await request(`${this.admin}/accounts:update`, { method: 'POST', body: { localId: user.localId, ...fields } });
    await this.reloadUser(user.localId);
  }

  async toggleDisabled(user) {
    await this.update(user, { disableUser: !user.disabled });
    toast(`${user.email || user.localId} ${user.disabled ? 'enabled' : 'disabled'}`);
  }

  async revoke(user) {
    if (!(await confirmAction('Revoke sessions?', `${user.email || user.localId} will have to sign in again on every device.`, 'Revoke'))) return;
    await this.update(user, { validSince: String(Math.floor(Date.now() / 1000)) });
    toast(`Sessions of ${user.email || user.localId} revoked`);
  }

  async remove(user) {
    if (!(await confirmAction('Delete user?', `This deletes ${user.email || user.localId} (${user.localId}). It cannot be undone.`))) return;
    await request(`${this.admin}/accounts:delete`, { method: 'POST', body: { localId: user.localId } });
    await this.reloadUser(user.localId);
    toast('User deleted');
  }

  async editClaims(user) {
    await modal(`Custom claims of ${user.email || user.localId}`, (dialog, close) => {
      const text = el('textarea', { id: 'claims', rows: 8, spellcheck: false });
      text.value = user.customAttributes ? JSON.stringify(JSON.parse(user.customAttributes), null, 2) : '{}';
      const error = el('p.error', { role: 'alert' });
      dialog.append(el('form', {
        onsubmit: async (event) => {
          event.preventDefault();
          let claims;
          try {
            claims = JSON.parse(text.value);
            if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw new Error('Claims are a JSON object');
          } catch (e) {
            error.textContent = e.message;
            return;
          }
          try {
            await this.update(user, { customAttributes: JSON.stringify(claims) });
            toast('Claims saved; they are in the user\'s next ID token');
            close(true);
          } catch (e) {
            error.textContent = e.message;
          }
        },
      }, el('label', { for: 'claims' }, 'Claims (JSON object; in rules: auth.token.<name>)'), text, error,
      el('div.actions', {}, el('button', { type: 'button', onclick: () => close(false) }, 'Cancel'), el('button.primary', { type: 'submit' }, 'Save'))));
    });
  }

  async create() {
    await modal('Create user', (dialog, close) => {
      const email = el('input', { id: 'new-email', type: 'email', autocomplete: 'off', autofocus: true });
      const password = el('input', { id: 'new-password', type: 'password', autocomplete: 'new-password' });
      const name = el('input', { id: 'new-name', autocomplete: 'off' });
      const uid = el('input', { id: 'new-uid', placeholder: 'empty: a random uid', autocomplete: 'off' });
      const error = el('p.error', { role: 'alert' });
      dialog.append(el('form', {
        onsubmit: async (event) => {
          event.preventDefault();
          const body = {};
          if (email.value) body.email = email.value.trim();
          if (password.value) body.password = password.value;
          if (name.value) body.displayName = name.value;
          if (uid.value) body.localId = uid.value.trim();
          try {
            const { body: created } = await request(`${this.admin}/accounts`, { method: 'POST', body });
            await this.reloadUser(created.localId);
            toast(`Created ${created.email || created.localId}`);
            close(true);
          } catch (e) {
            error.textContent = e.message;
          }
        },
      },
      el('label', { for: 'new-email' }, 'Email'), email,
      el('label', { for: 'new-password' }, 'Password'), password,
      el('label', { for: 'new-name' }, 'Display name (optional)'), name,
      el('label', { for: 'new-uid' }, 'uid (optional)'), uid,
      error,
      el('div.actions', {}, el('button', { type: 'button', onclick: () => close(false) }, 'Cancel'), el('button.primary', { type: 'submit' }, 'Create'))));
    });
  }
}
