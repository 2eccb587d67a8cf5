// The console's shell: sign-in, the screens (hash routes: #data, #rules, #users, #server) and the database picker.
import { request, session, ApiError } from './api.js';
import { el, clear, toast } from './ui.js';
import { DataScreen } from './data.js';
import { RulesScreen } from './rules.js';
import { UsersScreen } from './users.js';
import { ServerScreen } from './server.js';

const state = {
  databases: [],
  database: sessionStorage.getItem('backside.console.database') || '',
  screens: {},
  current: null,
};

const $ = (id) => document.getElementById(id);

function showSignIn(message = '') {
  for (const screen of Object.values(state.screens)) screen.stop?.();
  state.screens = {};
  state.current = null;
  $('app').hidden = true;
  $('sign-in').hidden = false;
  $('sign-in-error').textContent = message;
  $('token').value = '';
  $('token').focus();
}

async function loadDatabases() {
  const { body } = await request('/.console/api/databases');
  state.databases = body.databases;
  const names = body.databases.map((d) => d.name);
  if (!names.includes(state.database)) state.database = names.includes(body.default) ? body.default : names[0] || body.default;
  const select = clear($('database'));
  for (const db of body.databases) {
    select.append(el('option', { value: db.name, disabled: Boolean(db.damaged) }, db.damaged ? `${db.name} (damaged)` : db.name));
  }
  if (!names.includes(state.database)) select.append(el('option', { value: state.database }, state.database));
  select.value = state.database;
  return body;
}

async function signIn(token) {
  session.token = token;
  try {
    await loadDatabases();
  } catch (error) {
    session.token = null;
    throw error;
  }
  $('sign-in').hidden = true;
  $('app').hidden = false;
  route();
}

function route() {
  if ($('app').hidden) return;
  const name = (location.hash.slice(1) || 'data').split('/')[0];
  const screens = { data: DataScreen, rules: RulesScreen, users: UsersScreen, server: ServerScreen };
  const Screen = screens[name] || DataScreen;
  const key = screens[name] ? name : 'data';
  if (state.current && state.current !== key) state.screens[state.current]?.stop?.();
  for (const section of document.querySelectorAll('.screen')) section.hidden = section.id !== `screen-${key}`;
  for (const link of document.querySelectorAll('nav a')) {
    if (link.dataset.screen === key) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (!state.screens[key]) state.screens[key] = new Screen($(`screen-${key}`), { databases: () => state.databases, reloadDatabases: loadDatabases });
  state.current = key;
  state.screens[key].start(state.database);
}

function init() {
  session.onSignedOut = (message) => {
    session.token = null;
    showSignIn(message || 'Signed out');
  };
  $('sign-in-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const token = $('token').value.trim();
    $('sign-in-error').textContent = '';
    try {
      await signIn(token);
    } catch (error) {
      $('sign-in-error').textContent = error instanceof ApiError && error.status === 401
        ? 'That is not the admin token.' : `Cannot sign in: ${error.message}`;
      $('token').select();
    }
  });
  $('sign-out').addEventListener('click', () => {
    session.token = null;
    showSignIn('');
  });
  $('database').addEventListener('change', (event) => {
    state.database = event.target.value;
    sessionStorage.setItem('backside.console.database', state.database);
    if (state.current) state.screens[state.current].start(state.database);
  });
  window.addEventListener('hashchange', route);
  window.addEventListener('unhandledrejection', (event) => toast(String(event.reason?.message || event.reason), 'error'));
  if (session.token) {
    signIn(session.token).catch((error) => showSignIn(error.message));
  } else {
    showSignIn('');
  }
}

init();
