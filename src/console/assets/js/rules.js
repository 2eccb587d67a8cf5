// The rules of the selected database: an editor with a check (line and column of an error), deploy, and the
// playground, which asks the server to simulate a read or write (POST /.console/api/rules/simulate).
import { request, restUrl, ApiError } from './api.js';
import { el, clear, toast } from './ui.js';

/** Where a parse error points: the server's "(line L, column C)" or "line L, column C:", else JSON.parse's position. */
export function errorPosition(message, text) {
  const match = /line (\d+), column (\d+)/.exec(message);
  if (match) return { line: Number(match[1]), column: Number(match[2]) };
  const position = /position (\d+)/.exec(message);
  if (position) {
    const before = text.slice(0, Number(position[1]));
    const lines = before.split('\n');
    return { line: lines.length, column: lines[lines.length - 1].length + 1 };
  }
  return null;
}

/**
 * Checks rules text as the server's reader takes it (JSON with line and block comments): throws an Error whose message
 * starts "line L, column C: " at the first mistake. JSON.parse is not used: its messages in current browsers give no
 * position.
 */
export function checkRulesSyntax(text) {
  let i = 0;
  const fail = (what) => {
    const before = text.slice(0, i).split('\n');
    throw new Error(`line ${before.length}, column ${before[before.length - 1].length + 1}: ${what}`);
  };
  const skip = () => {
    for (;;) {
      if (/\s/.test(text[i] || '')) i++;
      else if (text.startsWith('//', i)) while (i < text.length && text[i] !== '\n') i++;
      else if (text.startsWith('/*', i)) {
        const end = text.indexOf('*/', i + 2);
        if (end < 0) fail('a comment that is never closed (*/)');
        i = end + 2;
      } else return;
    }
  };
  const string = () => {
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\n') fail('a line break inside a string');
      if (text[i] === '\\') i++;
      i++;
    }
    if (i >= text.length) fail('a string that is never closed');
    i++;
  };
  const value = () => {
    skip();
    const c = text[i];
    if (c === '{') {
      i++;
      skip();
      if (text[i] === '}') return void i++;
      for (;;) {
        skip();
        if (text[i] !== '"') fail(text[i] === '}' ? 'a comma before } (remove it)' : 'expected a key in double quotes');
        string();
        skip();
        if (text[i] !== ':') fail('expected : after the key');
        i++;
        value();
        skip();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') return void i++;
        fail('expected , or }');
      }
    }
    if (c === '[') {
      i++;
      skip();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        skip();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === ']') return void i++;
        fail('expected , or ]');
      }
    }
    if (c === '"') return string();
    const literal = /^(true|false|null|-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?)/.exec(text.slice(i, i + 64));
    if (literal) return void (i += literal[0].length);
    fail(i >= text.length ? 'the text ends where a value is expected' : 'expected a value (an object, a string, a number, true, false or null)');
  };
  skip();
  if (text[i] !== '{') fail('the rules are a JSON object: {"rules": {...}}');
  value();
  skip();
  if (i < text.length) fail('text after the end of the rules object');
}

export class RulesScreen {
  constructor(root) {
    this.root = root;
    this.db = null;
    this.build();
  }

  build() {
    this.gutter = el('pre.gutter', { 'aria-hidden': 'true' });
    this.editor = el('textarea.code', {
      id: 'rules-text',
      spellcheck: false,
      wrap: 'off',
      'aria-describedby': 'rules-problem',
      oninput: () => { this.renderGutter(); this.clearProblem(); },
      onscroll: () => { this.gutter.scrollTop = this.editor.scrollTop; },
      onkeydown: (event) => {
        // Tab indents (Escape, then Tab, leaves the editor: the keyboard is never trapped).
        if (event.key === 'Tab' && !event.shiftKey && !this.tabLeaves) {
          event.preventDefault();
          this.editor.setRangeText('  ', this.editor.selectionStart, this.editor.selectionEnd, 'end');
          this.renderGutter();
        }
        this.tabLeaves = event.key === 'Escape';
      },
    });
    this.problem = el('p.problem', { id: 'rules-problem', role: 'alert' });
    const editorBox = el('div.editor', {}, this.gutter, this.editor);

    this.operation = el('select', { id: 'sim-operation' }, el('option', { value: 'read' }, 'read'), el('option', { value: 'write' }, 'write'));
    this.simPath = el('input', { id: 'sim-path', value: '/', spellcheck: false });
    this.authKind = el('select', { id: 'sim-auth', onchange: () => this.renderAuthFields() },
      el('option', { value: 'anonymous' }, 'not signed in (auth == null)'),
      el('option', { value: 'uid' }, 'a signed-in user'));
    this.uid = el('input', { id: 'sim-uid', placeholder: 'uid', spellcheck: false });
    this.claims = el('textarea.code', { id: 'sim-claims', rows: 3, spellcheck: false });
    this.claims.value = '{}';
    this.data = el('textarea.code', { id: 'sim-data', rows: 3, spellcheck: false });
    this.data.value = '"value"';
    this.useEditor = el('input', { type: 'checkbox', id: 'sim-use-editor', checked: true });
    this.authFields = el('div.auth-fields', {},
      el('label', { for: 'sim-uid' }, 'uid'), this.uid,
      el('label', { for: 'sim-claims' }, 'Token claims (JSON; auth.token.<name>)'), this.claims);
    this.dataField = el('div', {}, el('label', { for: 'sim-data' }, 'Data to write (JSON; newData)'), this.data);
    this.result = el('div.sim-result', { 'aria-live': 'polite' });

    clear(this.root).append(
      el('div.screen-head', {}, el('h1', { id: 'rules-title' }, 'Rules'), this.dbLabel = el('span.note')),
      el('div.rules-layout', {},
        el('section.rules-editor', { 'aria-label': 'Rules editor' },
          el('label', { for: 'rules-text' }, 'Rules (JSON; comments allowed)'),
          editorBox, this.problem,
          el('div.actions', {},
            el('button', { type: 'button', onclick: () => this.check() }, 'Check'),
            el('button.primary', { type: 'button', onclick: () => this.deploy().catch((e) => toast(e.message, 'error')) }, 'Deploy'),
            el('button', { type: 'button', onclick: () => this.load().catch((e) => toast(e.message, 'error')) }, 'Revert to deployed'))),
        el('section.playground', { 'aria-labelledby': 'playground-title' },
          el('h2', { id: 'playground-title' }, 'Playground'),
          el('form', {
            onsubmit: (event) => {
              event.preventDefault();
              this.simulate().catch((e) => this.showSimError(e.message));
            },
          },
          el('label', { for: 'sim-operation' }, 'Operation'), this.operation,
          el('label', { for: 'sim-path' }, 'Path'), this.simPath,
          el('label', { for: 'sim-auth' }, 'As'), this.authKind,
          this.authFields, this.dataField,
          el('label.inline', { for: 'sim-use-editor' }, this.useEditor, ' Use the rules in the editor (else the deployed rules)'),
          el('div.actions', {}, el('button.primary', { type: 'submit' }, 'Run'))),
          this.result)));
    this.operation.addEventListener('change', () => { this.dataField.hidden = this.operation.value !== 'write'; });
    this.dataField.hidden = true;
    this.renderAuthFields();
  }

  renderAuthFields() {
    this.authFields.hidden = this.authKind.value !== 'uid';
  }

  start(db) {
    if (db === this.db) return;
    this.db = db;
    this.dbLabel.textContent = `of database "${db}"`;
    this.load().catch((e) => toast(e.message, 'error'));
  }

  stop() {}

  async load() {
    // The text as deployed, comments and layout kept (not parsed and printed again).
    const response = await request(restUrl(this.db, '/.settings/rules'), { raw: true });
    const text = await response.text();
    if (!response.ok) throw new Error(`Cannot read the rules: ${text}`);
    this.editor.value = text;
    this.renderGutter();
    this.clearProblem();
  }

  renderGutter(errorLine = 0) {
    const lines = this.editor.value.split('\n').length;
    clear(this.gutter);
    for (let i = 1; i <= lines; i++) {
      this.gutter.append(i === errorLine ? el('span.error-line', {}, `${i}\n`) : `${i}\n`);
    }
    this.gutter.scrollTop = this.editor.scrollTop;
  }

  clearProblem() {
    this.problem.textContent = '';
    this.problem.classList.remove('shown');
  }

  /** Shows an error at its line and column and puts the cursor there. */
  showProblem(message) {
    const at = errorPosition(message, this.editor.value);
    const detail = message.replace(/^line \d+, column \d+: /, '');
    this.problem.textContent = at ? `Line ${at.line}, column ${at.column}: ${detail}` : message;
    this.problem.classList.add('shown');
    this.renderGutter(at ? at.line : 0);
    if (at) {
      const lines = this.editor.value.split('\n');
      let offset = 0;
      for (let i = 0; i < at.line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
      offset += at.column - 1;
      this.editor.focus();
      this.editor.setSelectionRange(offset, offset + 1);
    }
  }

  /** The check in the page: the JSON syntax (comments allowed). Deploy has the server check expressions too. */
  check() {
    this.clearProblem();
    try {
      checkRulesSyntax(this.editor.value);
    } catch (error) {
      this.showProblem(error.message);
      return false;
    }
    this.problem.textContent = 'The JSON is valid. Deploy checks the expressions too.';
    this.problem.classList.add('shown', 'ok');
    return true;
  }

  async deploy() {
    this.problem.classList.remove('ok');
    if (!this.check()) return;
    try {
      await request(restUrl(this.db, '/.settings/rules'), { method: 'PUT', body: this.editor.value });
    } catch (error) {
      if (error instanceof ApiError && error.status === 400) {
        this.showProblem(error.message);
        return;
      }
      throw error;
    }
    this.problem.textContent = `Deployed to "${this.db}".`;
    this.problem.classList.add('shown', 'ok');
    toast(`Rules deployed to ${this.db}`);
  }

  async simulate() {
    const body = { operation: this.operation.value, path: this.simPath.value.trim() || '/', auth: null };
    if (this.authKind.value === 'uid') {
      let token;
      try {
        token = JSON.parse(this.claims.value || '{}');
      } catch (e) {
        throw new Error(`The claims are not JSON: ${e.message}`);
      }
      body.auth = { uid: this.uid.value.trim(), token };
    }
    if (body.operation === 'write') {
      try {
        body.data = JSON.parse(this.data.value);
      } catch (e) {
        throw new Error(`The data is not JSON: ${e.message}`);
      }
    }
    if (this.useEditor.checked) body.rules = this.editor.value;
    let answer;
    try {
      ({ body: answer } = await request(`/.console/api/rules/simulate?${new URLSearchParams({ ns: this.db })}`, { method: 'POST', body }));
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        throw new Error('This server has no rules simulator (POST /.console/api/rules/simulate): update it');
      }
      if (error instanceof ApiError && error.status === 400 && /line \d+, column \d+/.test(error.message)) this.showProblem(error.message);
      throw error;
    }
    this.showSimResult(answer);
  }

  showSimError(message) {
    clear(this.result).append(el('p.error', { role: 'alert' }, message));
  }

  showSimResult(answer) {
    const verdict = answer.allowed ? 'Allowed' : 'Denied';
    const rows = (answer.trace || []).map((step) => el(`tr.result-${step.result}`, {},
      el('td', {}, el('code', {}, step.rule_path)),
      el('td', {}, el('code', {}, step.path)),
      el('td', {}, el('code', {}, step.expression ?? '')),
      el('td', {}, step.result, step.error ? el('div.error', {}, step.error) : null)));
    clear(this.result).append(
      el(`p.verdict.${answer.allowed ? 'allowed' : 'denied'}`, { id: 'sim-verdict' }, `${verdict}`, answer.message ? `: ${answer.message}` : ''),
      rows.length ? el('div.table-box', {}, el('table.trace', {},
        el('thead', {}, el('tr', {}, ...['Rule', 'At', 'Expression', 'Result'].map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, rows))) : el('p.note', {}, 'No rule applies here: access is denied by default.'));
  }
}
