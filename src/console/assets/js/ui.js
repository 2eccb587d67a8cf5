// Small DOM helpers: no framework, no inline script or style (the page's Content-Security-Policy forbids both).

/** el('button.primary', {type: 'button', onclick}, 'text', child, ...): attributes, properties and children. */
export function el(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split('.');
  const node = document.createElement(tag || 'div');
  if (classes.length) node.className = classes.join(' ');
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name in node && typeof value !== 'string') node[name] = value;
    else node.setAttribute(name, value === true ? '' : value);
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

/** A transient message; errors stay until dismissed. */
export function toast(message, kind = 'info') {
  const box = document.getElementById('toasts');
  const item = el(`div.toast.${kind}`, { role: kind === 'error' ? 'alert' : 'status' }, message);
  const close = el('button.link', { type: 'button', 'aria-label': 'Dismiss', onclick: () => item.remove() }, '×');
  item.append(close);
  box.append(item);
  if (kind !== 'error') setTimeout(() => item.remove(), 4000);
}

/**
 * A modal dialog (native <dialog>: focus stays inside, Escape cancels). `build(dialog, close)` fills it; resolves
 * to what close(value) is given (undefined when cancelled).
 */
export function modal(title, build) {
  return new Promise((resolve) => {
    const dialog = el('dialog.modal', { 'aria-labelledby': 'modal-title' });
    const close = (value) => {
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    dialog.append(el('h2', { id: 'modal-title' }, title));
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      close(undefined);
    });
    document.body.append(dialog);
    build(dialog, close);
    dialog.showModal();
    const first = dialog.querySelector('[autofocus], input, textarea, select, button.primary');
    if (first) first.focus();
  });
}

/** Asks to confirm a destructive action; resolves to true only on the explicit button. */
export function confirmAction(title, message, action = 'Delete') {
  return modal(title, (dialog, close) => {
    dialog.append(
      el('p', {}, message),
      el('div.actions', {},
        el('button', { type: 'button', onclick: () => close(false) }, 'Cancel'),
        el('button.danger', { type: 'button', autofocus: true, onclick: () => close(true) }, action)),
    );
  });
}

export function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** A JSON value shown in one line, as the tree shows leaves. */
export function formatLeaf(value) {
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

/**
 * A typed value from the editor's fields: string as is, number (finite), boolean, or JSON (any value but null).
 * Throws an Error naming what is wrong.
 */
export function typedValue(type, text) {
  switch (type) {
    case 'string':
      return text;
    case 'number': {
      const number = Number(text.trim());
      if (text.trim() === '' || !Number.isFinite(number)) throw new Error(`"${text}" is not a number`);
      return number;
    }
    case 'boolean':
      if (text !== 'true' && text !== 'false') throw new Error('A boolean is true or false');
      return text === 'true';
    case 'json': {
      let value;
      try {
        value = JSON.parse(text);
      } catch (error) {
        throw new Error(`Not valid JSON: ${error.message}`);
      }
      if (value === null) throw new Error('null deletes: use Delete instead');
      return value;
    }
    default:
      throw new Error(`unknown type ${type}`);
  }
}

export function typeOf(value) {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'number') return 'number';
  if (typeof value === 'boolean') return 'boolean';
  return 'json';
}

/** Type select + value field, for add and edit. Returns {root, read()} where read() gives the typed value. */
export function valueEditor(initial, { idPrefix = 'value' } = {}) {
  const type = el('select', { id: `${idPrefix}-type` },
    ...['string', 'number', 'boolean', 'json'].map((t) => el('option', { value: t }, t === 'json' ? 'JSON' : t)));
  const initialType = initial === undefined ? 'string' : typeOf(initial);
  type.value = initialType;
  const text = initialType === 'json' ? JSON.stringify(initial, null, 2)
    : initial === undefined ? '' : String(initial);
  const field = el('textarea', { id: `${idPrefix}-text`, rows: initialType === 'json' ? 8 : 2, spellcheck: false }, text);
  field.value = text;
  const root = el('div.value-editor', {},
    el('label', { for: `${idPrefix}-type` }, 'Type'), type,
    el('label', { for: `${idPrefix}-text` }, 'Value'), field);
  return { root, read: () => typedValue(type.value, field.value), type, field };
}

export function progressBar(label) {
  const bar = el('progress', { max: 1, value: 0, 'aria-label': label });
  const text = el('span.progress-text', {}, '0%');
  return {
    root: el('div.progress', {}, bar, text),
    set(fraction) {
      bar.value = fraction;
      text.textContent = `${Math.round(fraction * 100)}%`;
    },
  };
}
