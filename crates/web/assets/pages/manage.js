// `/clusters/manage`: register, edit, enable or disable, test and delete clusters through
// /api/clusters. The password is write-only: never pre-filled; left empty on edit, it stays.

import { request, get, notify } from '../api.js';
import { h, fill, uid } from '../dom.js';
import * as f from '../format.js';

function field(label, input, hint) {
  input.id = input.id || uid('f');
  return h('div', { class: 'field' }, h('label', { for: input.id }, label), input,
    hint ? h('small', { class: 'muted' }, hint) : null);
}

function timeoutValue(input) {
  const text = input.value.trim();
  return text === '' ? null : Number(text);
}

class ClusterForm {
  constructor(onSaved) {
    this.onSaved = onSaved;
    this.editing = null;
    this.name = h('input', { name: 'name', required: true, maxlength: 200, autocomplete: 'off' });
    this.hosts = h('textarea', { name: 'fe_hosts', required: true, rows: 2, placeholder: '10.0.0.1:8030, 10.0.0.2:8030' });
    this.username = h('input', { name: 'username', required: true, autocomplete: 'off' });
    this.password = h('input', { name: 'password', type: 'password', autocomplete: 'new-password' });
    this.clearPassword = h('input', { type: 'checkbox', name: 'clear_password', id: uid('clear') });
    this.connect = h('input', { name: 'connect_timeout_secs', type: 'number', min: 1, max: 300, placeholder: 'default' });
    this.requestTimeout = h('input', { name: 'request_timeout_secs', type: 'number', min: 1, max: 300, placeholder: 'default' });
    this.enabled = h('input', { type: 'checkbox', name: 'enabled', id: uid('en'), checked: true });
    this.heading = h('h2', {}, 'Register a cluster');
    this.error = h('p', { class: 'form-error', role: 'alert' });
    this.submit = h('button', { type: 'submit' }, 'Register');
    this.cancel = h('button', { type: 'button', class: 'secondary', hidden: true, onclick: () => this.reset() }, 'Cancel edit');
    this.clearRow = h('div', { class: 'field check', hidden: true }, this.clearPassword,
      h('label', { for: this.clearPassword.id }, 'Remove the stored password'));
    this.el = h('form', { class: 'cluster-form', novalidate: true },
      this.heading,
      h('div', { class: 'grid' },
        field('Name', this.name),
        field('FE HTTP addresses', this.hosts, 'host:port, separated by commas or new lines'),
        field('User', this.username),
        field('Password', this.password, 'Write-only: never shown.'),
        field('Connect timeout (s)', this.connect),
        field('Request timeout (s)', this.requestTimeout)),
      this.clearRow,
      h('div', { class: 'field check' }, this.enabled, h('label', { for: this.enabled.id }, 'Enabled (collected)')),
      this.error,
      h('div', { class: 'actions' }, this.submit, this.cancel));
    this.el.addEventListener('submit', (e) => {
      e.preventDefault();
      this.save();
    });
  }

  edit(cluster) {
    this.editing = cluster;
    this.heading.textContent = `Edit ${cluster.name}`;
    this.name.value = cluster.name;
    this.hosts.value = cluster.fe_hosts.join(', ');
    this.username.value = cluster.username;
    this.password.value = '';
    this.password.placeholder = 'unchanged';
    this.clearPassword.checked = false;
    this.clearRow.hidden = false;
    this.connect.value = cluster.connect_timeout_secs ?? '';
    this.requestTimeout.value = cluster.request_timeout_secs ?? '';
    this.enabled.checked = cluster.enabled;
    this.submit.textContent = 'Save changes';
    this.cancel.hidden = false;
    this.error.textContent = '';
    this.name.focus();
  }

  reset() {
    this.editing = null;
    this.el.reset();
    this.enabled.checked = true;
    this.password.placeholder = '';
    this.clearRow.hidden = true;
    this.heading.textContent = 'Register a cluster';
    this.submit.textContent = 'Register';
    this.cancel.hidden = true;
    this.error.textContent = '';
  }

  body() {
    const body = {
      name: this.name.value.trim(),
      fe_hosts: this.hosts.value.split(/[\s,]+/).filter(Boolean),
      username: this.username.value.trim(),
      connect_timeout_secs: timeoutValue(this.connect),
      request_timeout_secs: timeoutValue(this.requestTimeout),
      enabled: this.enabled.checked,
    };
    if (this.password.value !== '') body.password = this.password.value;
    else if (this.editing && this.clearPassword.checked) body.password = '';
    return body;
  }

  async save() {
    this.error.textContent = '';
    this.submit.disabled = true;
    try {
      const body = this.body();
      const saved = this.editing
        ? await request('PUT', `/api/clusters/${this.editing.id}`, body)
        : await request('POST', '/api/clusters', body);
      notify(`${this.editing ? 'Saved' : 'Registered'} ${saved.name}.`, 'info');
      this.reset();
      await this.onSaved();
    } catch (e) {
      this.error.textContent = e.message;
    } finally {
      this.submit.disabled = false;
      this.password.value = '';
    }
  }
}

function testResult(result) {
  const checks = (result && result.result && result.result.checks) || [];
  const ok = result && result.result && result.result.ok;
  return h('div', { class: 'test-result', dataset: { ok: String(Boolean(ok)) } },
    h('p', {}, h('strong', {}, ok ? 'Every check passed.' : 'Some check failed.')),
    h('table', { class: 'checks' },
      h('thead', {}, h('tr', {}, ['Endpoint', 'Result', 'Time', 'Detail'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, checks.map((c) => h('tr', { class: c.ok ? '' : 'failing' },
        h('td', {}, String(c.endpoint)), h('td', {}, c.ok ? 'ok' : 'failed'), h('td', {}, f.ms(c.elapsed_ms)),
        h('td', { class: c.error ? 'error-text' : 'detail' }, c.error ? String(c.error) : c.detail ? JSON.stringify(c.detail) : f.DASH))))));
}

export function render(main) {
  const list = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  // Test results by cluster id, and each cluster's current result slot: a result that arrives
  // after the list was redrawn goes into the new row.
  const results = new Map();
  const slots = new Map();
  const load = async () => {
    const clusters = await get('/api/clusters');
    fill(list, clusters.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'manage' },
      h('caption', {}, 'Registered clusters'),
      h('thead', {}, h('tr', {}, ['Name', 'FE addresses', 'User', 'Source', 'State', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, clusters.map((c) => row(c))))) : h('p', { class: 'muted' }, 'No cluster registered yet.'));
  };
  const form = new ClusterForm(load);
  const act = async (what, work) => {
    try {
      await work();
    } catch (e) {
      notify(`${what} failed: ${e.message}`);
    }
  };
  function row(c) {
    const out = h('div', { class: 'result-slot' }, results.get(c.id) || null);
    slots.set(c.id, out);
    const slot = () => slots.get(c.id) || out;
    const test = h('button', { type: 'button', class: 'secondary', dataset: { action: 'test' } }, 'Test');
    test.addEventListener('click', () => act('Test', async () => {
      test.disabled = true;
      fill(slot(), h('p', { class: 'muted' }, 'Testing…'));
      try {
        const result = testResult(await request('POST', `/api/clusters/${c.id}/test`));
        results.set(c.id, result);
        fill(slot(), result);
      } catch (e) {
        fill(slot());
        throw e;
      } finally {
        test.disabled = false;
      }
    }));
    const del = h('button', { type: 'button', class: 'danger', dataset: { action: 'delete' } }, 'Delete');
    del.addEventListener('click', () => {
      if (del.dataset.armed !== 'true') {
        del.dataset.armed = 'true';
        del.textContent = 'Confirm delete';
        setTimeout(() => {
          del.dataset.armed = 'false';
          del.textContent = 'Delete';
        }, 6000);
        return;
      }
      act('Delete', async () => {
        await request('DELETE', `/api/clusters/${c.id}`);
        notify(`Deleted ${c.name}.`, 'info');
        await load();
      });
    });
    return h('tr', { dataset: { clusterId: c.id, name: c.name } },
      h('th', { scope: 'row' }, h('a', { href: `/clusters/${c.id}` }, c.name)),
      h('td', {}, c.fe_hosts.join(', ')),
      h('td', {}, c.username),
      h('td', {}, c.source),
      h('td', {}, c.enabled ? 'enabled' : 'disabled'),
      h('td', {}, h('div', { class: 'row-actions' },
        h('button', { type: 'button', class: 'secondary', dataset: { action: 'edit' }, onclick: () => form.edit(c) }, 'Edit'),
        h('button', { type: 'button', class: 'secondary', dataset: { action: 'toggle' }, onclick: () => act('Update', async () => {
          await request('PUT', `/api/clusters/${c.id}`, { enabled: !c.enabled });
          await load();
        }) }, c.enabled ? 'Disable' : 'Enable'),
        test, del), out));
  }
  fill(main, h('h1', {}, 'Manage clusters'), form.el, h('h2', {}, 'Clusters'), list);
  act('Loading the clusters', load);
}
