// The cluster page's "Custom" chart group (issue 16): one chart per custom metric, titled by its
// name, described by its description, formatted by its unit, marked when its definition has
// warnings. The group is absent, heading included, when there is no custom metric to show.

import { TimeChart } from '../chart.js';
import { h, fill } from '../dom.js';
import * as f from '../format.js';

/** The definition read as PromQL, for the legend: `sum(rate(x{path=~"/d"})) / lookups`. */
function expression(def) {
  const selector = def.match && def.match !== '{}' ? `${def.metric}${def.match}` : def.metric;
  const value = `${def.aggregate}(${def.rate ? `rate(${selector})` : selector})`;
  const over = (def.node_types || []).map((t) => t.toUpperCase()).join('/');
  return `${def.ratio_of ? `${value} / ${def.ratio_of}` : value}${over ? ` on ${over}` : ''}`;
}

function warningText(w) {
  return typeof w === 'string' ? w : (w && w.message) || JSON.stringify(w);
}

/** A small marker whose tooltip (and accessible name) is the definition's warnings. */
function warningMark(def) {
  const warnings = (def && def.warnings) || [];
  if (!warnings.length) return null;
  const text = warnings.map(warningText).join('\n');
  return h('span', { class: 'warn-mark', role: 'img', tabindex: '0', title: text, 'aria-label': `Warning: ${text}` }, '⚠');
}

function customChart(name, def, utc) {
  const { format, binary } = f.forUnit(def && def.unit);
  const chart = new TimeChart({
    title: name, format, binary,
    subtitle: def ? def.description : 'No longer defined: its history is kept until retention.',
    marks: [warningMark(def)].filter(Boolean),
    series: [{ key: name, label: def ? expression(def) : name }],
  });
  chart.utc = utc;
  chart.el.dataset.custom = name;
  return { chart, format, signature: JSON.stringify(def || null) };
}

export class CustomCharts {
  constructor() {
    /** Holds the group's <section>, or nothing. */
    this.el = h('div', {});
    /** name → {chart, format, signature}, in the order shown. */
    this.charts = new Map();
    this.utc = false;
  }

  /** Every chart, for the page's UTC and zoom controls. */
  all() {
    return [...this.charts.values()].map((c) => c.chart);
  }

  setUtc(utc) {
    this.utc = utc;
    for (const chart of this.all()) chart.setUtc(utc);
  }

  /**
   * `definitions`: `/api/custom-metrics`' list; `trends`: the overview's `custom_trends`;
   * `span`: `{from, to, bucketMs}` as the built-in charts get it. A chart per definition, then
   * per name that only has history; a changed definition gets a new chart.
   */
  update(definitions, trends, span) {
    const defs = new Map(definitions.map((d) => [d.name, d]));
    const historyOnly = Object.keys(trends).filter((n) => !defs.has(n)).sort();
    const names = [...defs.keys(), ...historyOnly];
    const before = [...this.charts.keys()].join('\n');
    const next = new Map();
    let rebuilt = false;
    for (const name of names) {
      const def = defs.get(name);
      let entry = this.charts.get(name);
      if (entry && entry.signature !== JSON.stringify(def || null)) {
        entry.chart.destroy();
        entry = null;
      }
      if (!entry) {
        entry = customChart(name, def, this.utc);
        rebuilt = true;
      }
      next.set(name, entry);
    }
    for (const [name, { chart }] of this.charts) if (!next.has(name)) chart.destroy();
    this.charts = next;
    if (rebuilt || names.join('\n') !== before) this.draw();
    for (const [name, { chart }] of this.charts) {
      chart.setData({ ...span, series: { [name]: trends[name] || [] } });
    }
  }

  draw() {
    if (!this.charts.size) {
      fill(this.el);
      return;
    }
    fill(this.el, h('section', { class: 'custom-group', 'aria-label': 'Custom' }, h('h2', {}, 'Custom'),
      h('div', { class: 'charts' }, this.all().map((c) => c.el))));
  }

  /** The statistics table's rows: [label, formatter, statistics, name] per chart. */
  statistics(custom) {
    return [...this.charts].map(([name, { format }]) => [name, format, custom[name], name]);
  }
}
