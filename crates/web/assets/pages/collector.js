// `/collector`: each cluster's last attempt and success, failures, duration and last error,
// and the recent cycles, from GET /api/collector/status. "Why is my cluster grey?" lives here.
// A sharded instance (`collector.shard`) says which shard it is, and which shard collects each
// cluster it does not.

import { get } from '../api.js';
import { h, fill } from '../dom.js';
import * as f from '../format.js';
import { Refresher } from '../refresh.js';

function when(t) {
  return t ? h('time', { datetime: t, title: f.dateTime(t) }, f.ago(t)) : 'never';
}

/** Which clusters this instance collects, in a sentence. */
function shardNote(shard) {
  if (!shard) return h('p', { class: 'muted shard-note' }, 'This instance collects every cluster.');
  return h('p', { class: 'shard-note', dataset: { shard: `${shard.index}/${shard.count}` } },
    h('strong', {}, `This instance: shard ${shard.index}/${shard.count}.`),
    ` It collects only the clusters whose name hashes to shard ${shard.index} of ${shard.count}; each of the others is collected by the instance of its shard.`);
}

function clusterRows(clusters, shard) {
  return clusters.map((c) => {
    const head = h('th', { scope: 'row' }, h('a', { href: `/clusters/${c.cluster_id}` }, c.cluster_name));
    // Another shard's cluster (a disabled one of this shard is not collected anywhere).
    if (shard && c.shard && c.shard.owner !== shard.index) {
      return h('tr', { class: 'other-shard', dataset: { clusterId: c.cluster_id } }, head,
        h('td', { colspan: 6, class: 'muted' }, `Collected by shard ${c.shard.owner}/${c.shard.count}, not by this instance.`));
    }
    return clusterRow(c, head);
  });
}

function clusterRow(c, head) {
  return h('tr', { class: c.last_error ? 'failing' : '', dataset: { clusterId: c.cluster_id } },
    head,
    h('td', {}, when(c.last_attempt_at)),
    h('td', {}, when(c.last_success_at)),
    h('td', {}, String(c.consecutive_failures)),
    h('td', {}, f.ms(c.last_duration_ms)),
    h('td', { class: c.last_error ? 'error-text' : '' }, c.last_error || f.DASH),
    h('td', { class: c.node_failures.length ? 'error-text' : '' }, c.node_failures.length
      ? h('ul', { class: 'plain' }, c.node_failures.map((n) => h('li', {}, `${n.source}: ${n.code} (${n.message})`)))
      : f.DASH));
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
      shardNote(status.shard),
      table('Each cluster\'s collection', ['Cluster', 'Last attempt', 'Last success', 'Failures in a row', 'Duration', 'Last error', 'Nodes that failed'],
        clusterRows(status.clusters, status.shard)),
      h('h2', {}, 'Recent cycles'),
      table('Newest first (up to 50)', ['Started', 'Duration', 'OK', 'Failed', 'Skipped'],
        status.cycles.map((c) => h('tr', {}, h('td', {}, f.dateTime(c.started_at)), h('td', {}, f.ms(c.duration_ms)),
          h('td', {}, String(c.clusters_ok)), h('td', {}, String(c.clusters_failed)), h('td', {}, String(c.clusters_skipped))))));
  }, body);
  fill(main, h('div', { class: 'page-head' }, h('h1', {}, 'Collector'), refresher.controls()), body);
  refresher.start();
}
