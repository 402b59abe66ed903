// `/clusters/{id}`: the cluster's firing and pending alerts, KPI cards, performance, resource and
// custom-metric charts with range statistics, the nodes table and the daily view, with range, UTC
// and auto-refresh controls.

import { get } from '../api.js';
import { TimeChart } from '../chart.js';
import { h, fill, select, uid } from '../dom.js';
import * as f from '../format.js';
import { Refresher } from '../refresh.js';
import { otherShard, reason, statusBadge } from './clusters.js';
import { alertsTable } from './alerts.js';
import { CustomCharts } from './custom.js';

const RANGES = [['15m', '15 min'], ['1h', '1 hour'], ['6h', '6 hours'], ['24h', '24 hours'], ['3d', '3 days'], ['7d', '7 days']];
const RANGE_MS = { '15m': 9e5, '1h': 36e5, '6h': 216e5, '24h': 864e5, '3d': 2592e5, '7d': 6048e5 };
const MAX_POINTS = 240;
const RANGE_KEY = 'rockscope.time_range';
const UTC_KEY = 'rockscope.utc';

/** Charts: title, unit, and [trend group, trend name, legend label] per series. */
const CHARTS = [
  ['Performance', 'Queries and requests', 'rate', [['performance_trends', 'qps', 'QPS'], ['performance_trends', 'rps', 'RPS']]],
  ['Performance', 'Query latency', 'ms', [['performance_trends', 'latency_p50', 'p50'], ['performance_trends', 'latency_p95', 'p95'], ['performance_trends', 'latency_p99', 'p99']]],
  ['Performance', 'Query error rate', 'pct', [['performance_trends', 'error_rate', 'errors']]],
  ['Resources', 'CPU', 'pct', [['resource_trends', 'cpu_usage', 'CPU (BE/CN mean)']]],
  ['Resources', 'Memory', 'pct', [['resource_trends', 'memory_usage', 'memory (BE/CN mean)']]],
  ['Resources', 'Disk', 'pct', [['resource_trends', 'disk_usage', 'disk used']]],
  ['Resources', 'JVM heap (FE)', 'pct', [['resource_trends', 'jvm_heap_usage', 'heap used']]],
  ['Resources', 'Network', 'bytesRate', [['resource_trends', 'network_send_rate', 'send'], ['resource_trends', 'network_receive_rate', 'receive']]],
  ['Resources', 'Disk IO', 'bytesRate', [['resource_trends', 'io_read_rate', 'read'], ['resource_trends', 'io_write_rate', 'write']]],
];

const STAT_UNITS = Object.fromEntries(CHARTS.flatMap(([, title, unit, series]) =>
  series.map(([, key, label]) => [key, [unit, series.length === 1 ? title : `${title}: ${label}`]])));

function remembered(key, fallback, allowed) {
  try {
    const v = localStorage.getItem(key);
    return v !== null && (!allowed || allowed.includes(v)) ? v : fallback;
  } catch {
    return fallback;
  }
}

function remember(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // not remembered, still applied
  }
}

function kpi(label, value, detail, valueClass = '') {
  return h('div', { class: 'kpi' }, h('div', { class: 'kpi-label' }, label),
    h('div', { class: `kpi-value ${valueClass}` }, value), detail ? h('div', { class: 'kpi-detail muted' }, detail) : null);
}

function kpis(s) {
  if (!s) return [h('p', { class: 'muted' }, 'No snapshot yet: the first collection has not finished.')];
  return [
    kpi('QPS', f.number(s.qps), `RPS ${f.number(s.rps)}`),
    kpi('p99 latency', f.ms(s.query_latency_p99), `p50 ${f.ms(s.query_latency_p50)}`),
    kpi('Error rate', f.pct(s.query_error_rate), `${f.number(s.running_queries)} running`),
    kpi('CPU', f.pct(s.avg_cpu_usage), `max ${f.pct(s.max_cpu_usage)}`),
    kpi('Memory', f.pct(s.avg_memory_usage), `${f.bytes(s.memory_used_bytes)} of ${f.bytes(s.memory_limit_bytes)}`),
    kpi('Disk', f.pct(s.disk_usage_pct), `${f.bytes(s.disk_used_bytes)} of ${f.bytes(s.disk_total_bytes)}`),
    kpi('JVM heap', f.pct(s.jvm_heap_usage_pct), f.bytes(s.jvm_heap_used)),
    kpi('FE alive', f.ratio(s.frontend_alive, s.frontend_total), s.leader_host ? `leader ${s.leader_host}` : null),
    kpi('BE alive', f.ratio(s.backend_alive, s.backend_total)),
    kpi('CN alive', f.ratio(s.compute_node_alive, s.compute_node_total)),
    kpi('Tablets', f.number(s.tablet_count), `compaction score ${f.number(s.max_compaction_score)}`),
    kpi('Version', s.version || f.DASH, `collected ${f.ago(s.collected_at)}`, 'text'),
  ];
}

/** `custom`: [label, formatter, statistics, name] of each custom metric, after the built-in trends. */
function statsTable(statistics, custom) {
  const builtIn = Object.entries(STAT_UNITS).map(([key, [unit, label]]) =>
    [label, f.UNITS[unit], statistics && statistics[key], null]);
  const rows = [...builtIn, ...custom].map(([label, fmt, given, name]) => {
    const st = given || {};
    return h('tr', { dataset: name ? { custom: name } : {} }, h('th', { scope: 'row' }, label), h('td', {}, fmt(st.avg)),
      h('td', {}, fmt(st.min)), h('td', {}, fmt(st.max)), h('td', {}, f.number(st.count)));
  });
  return h('div', { class: 'table-wrap' }, h('table', { class: 'stats' },
    h('caption', {}, 'Statistics over the whole range (not downsampled)'),
    h('thead', {}, h('tr', {}, ['Trend', 'Average', 'Minimum', 'Maximum', 'Snapshots'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows)));
}

const NODE_COLUMNS = [
  ['node_type', 'Type', (n) => n.node_type.toUpperCase()],
  ['host', 'Host', (n) => `${n.host}:${n.http_port}`],
  ['role', 'Role', (n) => n.role || f.DASH],
  ['alive', 'Alive', (n) => (n.alive ? 'alive' : 'dead')],
  ['version', 'Version', (n) => n.version || f.DASH],
  ['cpu_usage_pct', 'CPU', (n) => f.pct(n.cpu_usage_pct)],
  ['memory_usage_pct', 'Memory', (n) => f.pct(n.memory_usage_pct)],
  ['disk_usage_pct', 'Disk', (n) => f.pct(n.disk_usage_pct)],
  ['scrape_error', 'Last error', (n) => n.scrape_error || f.DASH],
];
const TYPE_ORDER = { fe: 0, be: 1, cn: 2 };

function compareNodes(key, dir) {
  return (a, b) => {
    let x = a[key];
    let y = b[key];
    if (key === 'alive') {
      x = x ? 1 : 0;
      y = y ? 1 : 0;
    } else if (key === 'node_type') {
      x = TYPE_ORDER[x];
      y = TYPE_ORDER[y];
    }
    const nx = x === null || x === undefined;
    const ny = y === null || y === undefined;
    let c = nx || ny ? Number(nx) - Number(ny) : x < y ? -1 : x > y ? 1 : 0;
    if (nx || ny) return c; // missing values last whatever the direction
    c *= dir;
    return c || TYPE_ORDER[a.node_type] - TYPE_ORDER[b.node_type] || String(a.host).localeCompare(String(b.host));
  };
}

class NodesTable {
  constructor() {
    this.sort = { key: 'alive', dir: 1 }; // dead nodes first
    this.nodes = [];
    this.el = h('div', { class: 'table-wrap' });
  }

  set(nodes) {
    this.nodes = nodes;
    this.draw();
  }

  draw() {
    const { key, dir } = this.sort;
    const sorted = [...this.nodes].sort(compareNodes(key, dir));
    const head = NODE_COLUMNS.map(([k, label]) => {
      const active = k === key;
      return h('th', { scope: 'col', 'aria-sort': active ? (dir > 0 ? 'ascending' : 'descending') : 'none' },
        h('button', { type: 'button', class: 'sort', onclick: () => {
          this.sort = { key: k, dir: active ? -dir : 1 };
          this.draw();
        } }, label, active ? (dir > 0 ? ' ▲' : ' ▼') : ''));
    });
    const body = sorted.map((n) => h('tr', { class: n.alive ? '' : 'dead', dataset: { nodeId: n.node_id, alive: String(n.alive) } },
      NODE_COLUMNS.map(([k, , show]) => h('td', { class: `col-${k}` }, show(n)))));
    fill(this.el, h('table', { class: 'nodes' },
      h('caption', {}, `${this.nodes.length} nodes in the newest collection; click a column to sort`),
      h('thead', {}, h('tr', {}, head)),
      h('tbody', {}, body.length ? body : h('tr', {}, h('td', { colspan: NODE_COLUMNS.length }, 'No node snapshot yet.')))));
  }
}

function dailyTable(days) {
  if (!days.length) return h('p', { class: 'muted' }, 'No finished day yet: daily roll-ups are built after each UTC day.');
  const cols = [
    ['Day (UTC)', (d) => d.date], ['Availability', (d) => f.pct(d.availability_pct)],
    ['QPS avg / max', (d) => `${f.number(d.qps_avg)} / ${f.number(d.qps_max)}`],
    ['p99 avg', (d) => f.ms(d.latency_p99_avg)], ['CPU avg / max', (d) => `${f.pct(d.cpu_avg)} / ${f.pct(d.cpu_max)}`],
    ['Memory avg', (d) => f.pct(d.memory_avg)], ['Disk avg', (d) => f.pct(d.disk_usage_avg)],
    ['Queries', (d) => f.number(d.queries)], ['Errors', (d) => f.number(d.errors)],
    ['Data growth', (d) => f.bytes(d.data_growth)],
  ];
  return h('div', { class: 'table-wrap' }, h('table', { class: 'daily' },
    h('caption', {}, 'The last 30 days, newest first'),
    h('thead', {}, h('tr', {}, cols.map(([c]) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, [...days].reverse().map((d) => h('tr', {}, cols.map(([, show]) => h('td', {}, show(d))))))));
}

export function render(main, id) {
  let range = remembered(RANGE_KEY, '1h', Object.keys(RANGE_MS));
  let utc = remembered(UTC_KEY, 'false') === 'true';
  const title = h('h1', {}, `Cluster ${id}`);
  const badge = h('span', { class: 'head-badge' });
  const why = h('p', { class: 'reason' });
  const alerts = h('div', {});
  const cards = h('div', { class: 'kpis' });
  const charts = CHARTS.map(([group, t, unit, series]) => ({
    group, series,
    chart: new TimeChart({ title: t, format: f.UNITS[unit], binary: unit === 'bytesRate',
      series: series.map(([, key, label]) => ({ key, label })) }),
  }));
  const custom = new CustomCharts();
  const everyChart = () => [...charts.map((c) => c.chart), ...custom.all()];
  const stats = h('div', {});
  const nodes = new NodesTable();
  const daily = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const content = h('div', { class: 'cluster-content' });

  const refresher = new Refresher(async () => {
    const [overview, definitions, nodeRows, summaries, days, active] = await Promise.all([
      get(`/api/clusters/${id}/overview?time_range=${range}&max_points=${MAX_POINTS}`),
      get('/api/custom-metrics'),
      get(`/api/clusters/${id}/nodes`),
      get('/api/clusters/overview'),
      get(`/api/clusters/${id}/daily`),
      get(`/api/alerts?cluster_id=${id}`),
    ]);
    document.title = `${overview.cluster_name} · rockscope`;
    title.textContent = overview.cluster_name;
    const row = summaries.find((r) => r.id === id);
    fill(badge, row ? statusBadge(row) : null);
    why.textContent = row ? [reason(row), row.last_error ? `Last error: ${row.last_error}` : null].filter(Boolean).join(' ') : '';
    fill(alerts, alertsTable(active.alerts, { caption: 'Firing and pending alerts of this cluster', withCluster: false }));
    const elsewhere = row ? otherShard(row) : null;
    fill(cards, elsewhere
      ? h('p', { class: 'muted kpis-note' }, `Not collected by this instance: shard ${elsewhere} collects it (any history below is from before it moved there).`)
      : kpis(overview.latest_snapshot));
    const to = Date.now();
    const from = to - RANGE_MS[range];
    const started = performance.now();
    const span = { from, to, bucketMs: RANGE_MS[range] / MAX_POINTS };
    for (const { chart, series } of charts) {
      chart.setData({ ...span, series: Object.fromEntries(series.map(([group, key]) => [key, overview[group][key]])) });
    }
    custom.update(definitions.custom_metrics || [], overview.custom_trends || {}, span);
    const took = performance.now() - started;
    performance.measure('rockscope:charts', { start: started, duration: took });
    main.dataset.chartMs = took.toFixed(1);
    main.dataset.timeRange = range;
    fill(stats, statsTable(overview.statistics, custom.statistics(overview.custom_statistics || {})));
    nodes.set(nodeRows);
    fill(daily, dailyTable(days));
  }, content);

  const rangeControl = select('Time range', RANGES, range, (v) => {
    range = v;
    remember(RANGE_KEY, v);
    for (const chart of everyChart()) chart.setZoom(null);
    refresher.run();
  });
  const utcId = uid('utc');
  const utcBox = h('input', { type: 'checkbox', id: utcId, checked: utc, onchange: () => {
    utc = utcBox.checked;
    remember(UTC_KEY, String(utc));
    for (const { chart } of charts) chart.setUtc(utc);
    custom.setUtc(utc);
  } });
  for (const { chart } of charts) chart.utc = utc;
  custom.utc = utc;
  const section = (heading, group) => h('section', { 'aria-label': heading }, h('h2', {}, heading),
    h('div', { class: 'charts' }, charts.filter((c) => c.group === group).map((c) => c.chart.el)));

  fill(content,
    h('section', { class: 'cluster-alerts', 'aria-labelledby': 'cluster-alerts-title' },
      h('h2', { id: 'cluster-alerts-title' }, 'Alerts ', h('a', { class: 'more', href: `/alerts` }, 'all alerts and history')),
      alerts),
    h('section', { 'aria-label': 'Latest snapshot' }, cards),
    section('Performance', 'Performance'),
    section('Resources', 'Resources'),
    custom.el,
    h('section', {}, h('h2', {}, 'Statistics'), stats),
    h('section', {}, h('h2', {}, 'Nodes'), nodes.el),
    h('section', {}, h('h2', {}, 'Daily'), daily));
  fill(main,
    h('p', { class: 'crumbs' }, h('a', { href: '/' }, 'Clusters'), ' / '),
    h('div', { class: 'page-head' }, h('div', { class: 'title-line' }, title, badge),
      h('div', { class: 'controls' }, rangeControl,
        h('span', { class: 'control' }, utcBox, h('label', { for: utcId }, 'UTC')),
        refresher.controls())),
    why, content);
  refresher.start();
}
