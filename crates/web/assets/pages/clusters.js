// `/`: one card per cluster, from GET /api/clusters/overview, plus each cluster's newest
// snapshot (FE/BE/CN counts, memory) from its overview and a badge of its firing alerts (from
// GET /api/alerts). A card opens the cluster. On a sharded instance (`collector.shard`), a
// cluster another shard collects says so instead of looking never collected.

import { get } from '../api.js';
import { h, fill } from '../dom.js';
import * as f from '../format.js';
import { Refresher } from '../refresh.js';
import { firingBadge } from './alerts.js';

const HEALTH_TEXT = { healthy: 'Healthy', degraded: 'Degraded', down: 'Down', unknown: 'Never collected' };

/** "2/3" when another instance (shard 2 of 3) collects the cluster, else null. */
export function otherShard(row) {
  const s = row.shard;
  return s && row.enabled && !s.collected_here ? `${s.owner}/${s.count}` : null;
}

/** Why a cluster is not healthy, in words, from its summary row. */
export function reason(row) {
  if (row.health === 'healthy') return null;
  if (!row.enabled) return 'Disabled: not collected.';
  const shard = otherShard(row);
  if (shard) return `Another rockscope instance, shard ${shard}, collects this cluster: its data is there.`;
  if (row.health === 'unknown') return 'Not collected yet.';
  if (row.health === 'down') {
    if (row.last_error) return 'The last collection failed.';
    if (row.nodes_total && row.nodes_alive === 0) return 'No node is alive.';
    return 'No node answered, or every backend is dead.';
  }
  if (row.nodes_total !== null && row.nodes_alive < row.nodes_total) {
    return `${row.nodes_total - row.nodes_alive} of ${row.nodes_total} nodes are not alive.`;
  }
  return 'Some node or source failed in the last collection.';
}

export function healthBadge(health) {
  return h('span', { class: `badge health-${health}`, dataset: { health } }, HEALTH_TEXT[health] || health);
}

/** The health badge, or which shard collects the cluster when another instance does. */
export function statusBadge(row) {
  const shard = otherShard(row);
  if (!shard) return healthBadge(row.health);
  return h('span', { class: 'badge shard-elsewhere', dataset: { shard } }, `Collected by shard ${shard}`);
}

function fact(label, value) {
  return h('div', { class: 'fact' }, h('dt', {}, label), h('dd', {}, value));
}

function card(row, snap, firing) {
  const why = reason(row);
  // Another instance's cluster: nothing of it here to show but where it is.
  const facts = otherShard(row) ? null : factList(row, snap);
  return h('li', { class: `cluster-card health-border-${row.health}`, dataset: { clusterId: row.id } },
    h('a', { class: 'card-link', href: `/clusters/${row.id}` },
      h('span', { class: 'card-head' }, h('span', { class: 'cluster-name' }, row.name),
        h('span', { class: 'badges' }, firingBadge(firing), statusBadge(row)))),
    why ? h('p', { class: 'reason' }, why) : null,
    row.last_error ? h('p', { class: 'last-error', title: row.last_error }, `Last error: ${row.last_error}`) : null,
    facts);
}

function factList(row, snap) {
  return h('dl', { class: 'facts' },
    fact('QPS', f.number(row.qps)),
    fact('p99 latency', f.ms(row.query_latency_p99)),
    fact('CPU', f.pct(row.avg_cpu_usage)),
    fact('Memory', f.pct(snap ? snap.avg_memory_usage : null)),
    fact('Disk', f.pct(row.disk_usage_pct)),
    fact('FE alive', snap ? f.ratio(snap.frontend_alive, snap.frontend_total) : f.DASH),
    fact('BE alive', snap ? f.ratio(snap.backend_alive, snap.backend_total) : f.DASH),
    fact('CN alive', snap ? f.ratio(snap.compute_node_alive, snap.compute_node_total) : f.DASH),
    fact('Nodes alive', f.ratio(row.nodes_alive, row.nodes_total)),
    fact('Collected', h('time', { datetime: row.last_collected || '', title: row.last_collected ? f.dateTime(row.last_collected) : '' },
      f.ago(row.last_collected))));
}

function emptyState() {
  return h('section', { class: 'empty' },
    h('h2', {}, 'No cluster yet'),
    h('p', {}, 'rockscope watches StarRocks clusters through their FE and BE HTTP ports. Add one:'),
    h('ul', {},
      h('li', {}, h('a', { href: '/clusters/manage' }, 'Register a cluster'), ' with its FE address, user and password;'),
      h('li', {}, 'or declare it in the configuration file (config/metrics-collector.toml) under [[clusters]] and restart;'),
      h('li', {}, 'or try it with simulated clusters: run ', h('code', {}, 'rockscope demo'), '.')));
}

export function render(main) {
  const list = h('div', { class: 'cluster-list' }, h('p', { class: 'muted' }, 'Loading…'));
  const refresher = new Refresher(async () => {
    const [rows, firing] = await Promise.all([get('/api/clusters/overview'), get('/api/alerts?state=firing')]);
    // The newest snapshot of each cluster, for the per-kind counts; a failure leaves dashes.
    // Another shard's clusters have none here.
    const snaps = await Promise.all(rows.slice(0, 100).map((row) => (otherShard(row) ? null
      : get(`/api/clusters/${row.id}/overview?time_range=15m&max_points=1`)
        .then((o) => o.latest_snapshot).catch(() => null))));
    if (!rows.length) {
      fill(list, emptyState());
      return;
    }
    fill(list, h('ul', { class: 'cards' }, rows.map((row, i) =>
      card(row, snaps[i], firing.alerts.filter((a) => a.cluster_id === row.id)))));
  }, list);
  fill(main,
    h('div', { class: 'page-head' }, h('h1', {}, 'Clusters'), refresher.controls()),
    list);
  refresher.start();
}
