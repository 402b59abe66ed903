// `/alerts`: the active alerts (filtered by cluster, severity and state), the recent history and
// the effective rules, from GET /api/alerts, /api/alerts/history and /api/alert-rules. Also the
// pieces the cluster list (a badge of firing alerts) and a cluster's overview (its alerts at the
// top) draw with.

import { get } from '../api.js';
import { h, fill, select } from '../dom.js';
import * as f from '../format.js';
import { Refresher } from '../refresh.js';

const SEVERITY_RANK = { info: 1, warning: 2, critical: 3 };
const SEVERITY_TEXT = { info: 'Info', warning: 'Warning', critical: 'Critical' };
const STATE_TEXT = { pending: 'Pending', firing: 'Firing', resolved: 'Resolved' };
const HISTORY_LIMIT = 50;

export function severityBadge(severity) {
  return h('span', { class: `badge sev-${severity}`, dataset: { severity } }, SEVERITY_TEXT[severity] || severity);
}

export function stateBadge(state) {
  return h('span', { class: `badge state-${state}`, dataset: { state } }, STATE_TEXT[state] || state);
}

/** The worst severity of `alerts` (null for none). */
export function worstSeverity(alerts) {
  let worst = null;
  for (const a of alerts) {
    if (!worst || (SEVERITY_RANK[a.severity] || 0) > (SEVERITY_RANK[worst] || 0)) worst = a.severity;
  }
  return worst;
}

/** The badge of a cluster's firing alerts in the cluster list; null when none fires. */
export function firingBadge(firing) {
  if (!firing.length) return null;
  const worst = worstSeverity(firing);
  const text = `${firing.length} firing`;
  const label = `${firing.length} firing alert${firing.length === 1 ? '' : 's'}, worst ${worst}`;
  return h('span', { class: `badge alert-count sev-${worst}`, title: label, 'aria-label': label, dataset: { firing: firing.length, severity: worst } }, text);
}

function since(t) {
  return t ? h('time', { datetime: t, title: f.dateTime(t) }, f.ago(t)) : f.DASH;
}

function node(labels) {
  return labels.instance ? [labels.instance, labels.path ? ` ${labels.path}` : ''].join('') : 'cluster';
}

/** A table whose rows become labelled cards on a phone (`table.stack` in app.css): each cell
 *  carries its column's name, shown before it there (a badge names itself and needs none). */
function table(caption, columns, rows, empty, cls = '') {
  for (const row of rows) {
    [...row.cells].forEach((cell, i) => {
      if (cell.tagName === 'TD' && !cell.querySelector(':scope > .badge')) cell.dataset.label = columns[i];
    });
  }
  return h('div', { class: 'table-wrap' }, h('table', { class: `stack ${cls}`.trim() },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: columns.length }, empty)))));
}

/** The alerts table of the Alerts page and of a cluster's overview (`withCluster` adds its column). */
export function alertsTable(alerts, { caption, withCluster }) {
  // Firing before pending, then the worst severity first, then the oldest.
  const sorted = [...alerts].sort((a, b) => (a.state === b.state ? 0 : a.state === 'firing' ? -1 : 1)
    || (SEVERITY_RANK[b.severity] || 0) - (SEVERITY_RANK[a.severity] || 0)
    || String(a.active_since).localeCompare(String(b.active_since)));
  const columns = ['Severity', 'State', 'Alert', ...(withCluster ? ['Cluster'] : []), 'Node', 'Value', 'Since'];
  const rows = sorted.map((a) => h('tr', { class: `alert-row state-row-${a.state}`, dataset: { alert: a.name, clusterId: a.cluster_id } },
    h('td', {}, severityBadge(a.severity)),
    h('td', {}, stateBadge(a.state)),
    h('th', { scope: 'row' }, h('div', { class: 'alert-name' }, a.name),
      a.annotations.summary ? h('div', { class: 'alert-summary' }, a.annotations.summary) : null,
      a.annotations.runbook ? h('details', { class: 'runbook' }, h('summary', {}, 'Runbook'), h('p', {}, a.annotations.runbook)) : null),
    withCluster ? h('td', {}, h('a', { href: `/clusters/${a.cluster_id}` }, a.cluster_name)) : null,
    h('td', {}, node(a.labels)),
    h('td', { class: 'num' }, f.number(a.value)),
    h('td', {}, since(a.active_since))));
  return table(caption, columns, rows, 'No firing or pending alert.', 'alerts');
}

function historyTable(events, names) {
  const rows = events.map((e) => h('tr', {},
    h('td', {}, h('time', { datetime: e.at }, f.dateTime(e.at))),
    h('td', {}, stateBadge(e.state)),
    h('td', {}, severityBadge(e.severity)),
    h('th', { scope: 'row' }, e.name),
    h('td', {}, h('a', { href: `/clusters/${e.cluster_id}` }, names.get(e.cluster_id) || `Cluster ${e.cluster_id}`)),
    h('td', {}, node(e.labels)),
    h('td', { class: 'num' }, f.number(e.value))));
  return table(`State changes, newest first (up to ${HISTORY_LIMIT})`,
    ['Time', 'Entered', 'Severity', 'Alert', 'Cluster', 'Node', 'Value'], rows, 'No alert has changed state yet.');
}

function rulesTable(rules) {
  const rows = rules.map((r) => h('tr', { class: r.enabled ? '' : 'disabled', dataset: { rule: r.name } },
    h('th', { scope: 'row' }, r.name),
    h('td', {}, r.builtin ? 'Built-in' : r.source === 'config' ? 'Config file' : 'API'),
    h('td', {}, r.enabled ? 'Yes' : 'No (switched off)'),
    h('td', {}, severityBadge(r.severity)),
    h('td', {}, r.for),
    h('td', {}, h('code', {}, r.condition))));
  return table('Built-in rules first, then the user rules', ['Rule', 'Source', 'Enabled', 'Severity', 'For', 'Condition'], rows,
    'No rule.', 'rules');
}

export function render(main) {
  const filters = { cluster: '', severity: '', state: '' };
  const active = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const history = h('div', {});
  const rules = h('div', {});
  const clusterSlot = h('span', {});
  const content = h('div', {},
    h('section', { 'aria-labelledby': 'alerts-active' }, h('h2', { id: 'alerts-active' }, 'Active alerts'), active),
    h('section', { 'aria-labelledby': 'alerts-history' }, h('h2', { id: 'alerts-history' }, 'Recent history'), history),
    h('section', { 'aria-labelledby': 'alerts-rules' }, h('h2', { id: 'alerts-rules' }, 'Effective rules'), rules));
  let clusterOptions = null;

  const refresher = new Refresher(async () => {
    const query = new URLSearchParams();
    if (filters.cluster) query.set('cluster_id', filters.cluster);
    if (filters.severity) query.set('severity', filters.severity);
    if (filters.state) query.set('state', filters.state);
    const historyQuery = new URLSearchParams(query);
    historyQuery.delete('state');
    historyQuery.set('limit', String(HISTORY_LIMIT));
    const [alerts, events, effective, clusters] = await Promise.all([
      get(`/api/alerts?${query}`),
      get(`/api/alerts/history?${historyQuery}`),
      get('/api/alert-rules'),
      get('/api/clusters'),
    ]);
    const names = new Map(clusters.map((c) => [c.id, c.name]));
    const options = [['', 'All clusters'], ...clusters.map((c) => [String(c.id), c.name])];
    const key = JSON.stringify(options);
    if (key !== clusterOptions) {
      clusterOptions = key;
      fill(clusterSlot, select('Cluster', options, filters.cluster, (v) => {
        filters.cluster = v;
        rerun();
      }));
    }
    fill(active, alertsTable(alerts.alerts, { caption: 'Firing and pending alerts', withCluster: true }));
    fill(history, historyTable(events.events, names));
    fill(rules, rulesTable(effective.rules));
  }, content);
  // A filter changed during a load applies right after it.
  const rerun = () => (refresher.running ? refresher.running.then(() => refresher.run()) : refresher.run());

  const controls = h('div', { class: 'controls', role: 'group', 'aria-label': 'Filter the alerts' },
    clusterSlot,
    select('Severity', [['', 'Any severity'], ['critical', 'Critical'], ['warning', 'Warning'], ['info', 'Info']], '', (v) => {
      filters.severity = v;
      rerun();
    }),
    select('State', [['', 'Firing and pending'], ['firing', 'Firing'], ['pending', 'Pending']], '', (v) => {
      filters.state = v;
      rerun();
    }));
  document.title = 'Alerts · rockscope';
  fill(main, h('div', { class: 'page-head' }, h('h1', {}, 'Alerts'), refresher.controls()), controls, content);
  refresher.start();
}
