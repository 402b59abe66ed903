// `/collector`: each cluster's last attempt and success, failures, duration and last error,
// and the recent cycles, from GET /api/collector/status. "Why is my cluster grey?" lives here.

import { get } from '../api.js';
import { h, fill } from '../dom.js';
import * as f from '../format.js';
import { Refresher } from '../refresh.js';

function when(t) {
  return t ? h('time', { datetime: t, title: f.dateTime(t) }, f.ago(t)) : 'never';
}

function clusterRows(clusters) {
  return clusters.map((c) => h('tr', { class: c.last_error ? 'failing' : '', dataset: { clusterId: c.cluster_id } },
    h('th', { scope: 'row' }, h('a', { href: `/clusters/${c.cluster_id}` }, c.cluster_name)),
    h('td', {}, when(c.last_attempt_at)),
    h('td', {}, when(c.last_success_at)),
    h('td', {}, String(c.consecutive_failures)),
    h('td', {}, f.ms(c.last_duration_ms)),
    h('td', { class: c.last_error ? 'error-text' : '' }, c.last_error || f.DASH),
    h('td', { class: c.node_failures.length ? 'error-text' : '' }, c.node_failures.length
      ? h('ul', { class: 'plain' }, c.node_failures.map((n) => h('li', {}, `${n.source}: ${n.code} (${n.message})`)))
      : f.DASH)));
}

function table(caption, columns, rows) {
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: columns.length }, 'Nothing yet.')))));
}

export function render(main) {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const refresher = new Refresher(async () => {
    const status = await get('/api/collector/status');
    fill(body,
      table('Each cluster\'s collection', ['Cluster', 'Last attempt', 'Last success', 'Failures in a row', 'Duration', 'Last error', 'Nodes that failed'],
        clusterRows(status.clusters)),
      h('h2', {}, 'Recent cycles'),
      table('Newest first (up to 50)', ['Started', 'Duration', 'OK', 'Failed', 'Skipped'],
        status.cycles.map((c) => h('tr', {}, h('td', {}, f.dateTime(c.started_at)), h('td', {}, f.ms(c.duration_ms)),
          h('td', {}, String(c.clusters_ok)), h('td', {}, String(c.clusters_failed)), h('td', {}, String(c.clusters_skipped))))));
  }, body);
  fill(main, h('div', { class: 'page-head' }, h('h1', {}, 'Collector'), refresher.controls()), body);
  refresher.start();
}
