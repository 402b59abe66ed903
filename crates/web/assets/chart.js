// Time-series line charts on <canvas>, written for rockscope's overview: a time axis in the
// browser's zone or UTC, hover with exact values and units, `null` drawn as a gap, series
// hidden from the legend, drag to zoom and double-click (or the button) to reset.
//
// Each chart records how many line segments it drew per series in `data-segments` on its
// <figure> (a gap splits a line into two), and `data-empty` when no value is in view (the chart
// then says "No data in this range" and has no value axis), for tests and for anyone inspecting
// the page.

import { h } from './dom.js';
import { dateTime } from './format.js';

const PALETTE = ['#2563eb', '#d97706', '#059669', '#db2777', '#7c3aed', '#0891b2'];
const HEIGHT = 190;
const PAD = { left: 70, right: 12, top: 10, bottom: 24 };
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const TIME_STEPS = [10 * SECOND, 30 * SECOND, MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE,
  15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY];

const pad2 = (n) => String(n).padStart(2, '0');

function niceStep(range, count) {
  const raw = range / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const n = raw / mag;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 2.5 ? 2.5 : n <= 5 ? 5 : 10) * mag;
}

/** The index in sorted `times` nearest to `t`. */
function nearest(times, t) {
  let lo = 0;
  let hi = times.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (times[mid] < t) lo = mid;
    else hi = mid;
  }
  return Math.abs(times[lo] - t) <= Math.abs(times[hi] - t) ? lo : hi;
}

/** Three times the usual spacing of the points (or of the buckets): a longer step is a gap. */
function gapThreshold(times, bucketMs) {
  const steps = [];
  for (let i = 1; i < times.length; i += 1) steps.push(times[i] - times[i - 1]);
  steps.sort((a, b) => a - b);
  const median = steps.length ? steps[steps.length >> 1] : 0;
  return 3 * Math.max(median, bucketMs || 0) || Infinity;
}

export class TimeChart {
  /**
   * @param {{title: string, format: (v: number) => string,
   *          series: {key: string, label: string}[], binary?: boolean,
   *          subtitle?: string, marks?: Node[]}} spec
   *   `binary`: the values are bytes, so axis steps are round in KiB, MiB, GiB.
   *   `subtitle`: a line under the title (also the title's tooltip); `marks`: nodes after it.
   */
  constructor(spec) {
    this.title = spec.title;
    this.format = spec.format;
    this.binary = Boolean(spec.binary);
    this.series = spec.series.map((s, i) => ({
      ...s, color: PALETTE[i % PALETTE.length], hidden: false, t: new Float64Array(0), v: new Float64Array(0),
    }));
    this.utc = false;
    this.zoom = null;
    this.domain = [Date.now() - HOUR, Date.now()];
    this.bucketMs = 0;
    this.base = h('canvas', { class: 'chart-base', 'aria-hidden': 'true' });
    this.overlay = h('canvas', { class: 'chart-overlay', role: 'img', 'aria-label': spec.title });
    this.tip = h('div', { class: 'chart-tip', hidden: true });
    this.wrap = h('div', { class: 'chart-area' }, this.base, this.overlay, this.tip);
    this.reset = h('button', { type: 'button', class: 'link chart-reset', hidden: true,
      onclick: () => this.setZoom(null) }, 'Reset zoom');
    const legend = h('div', { class: 'legend' }, this.series.map((s) => {
      const button = h('button', { type: 'button', class: 'legend-item', 'aria-pressed': 'true',
        title: `Show or hide ${s.label}`, dataset: { series: s.key } },
      h('span', { class: `swatch swatch-${this.series.indexOf(s)}` }), s.label);
      button.addEventListener('click', () => {
        s.hidden = !s.hidden;
        button.setAttribute('aria-pressed', String(!s.hidden));
        this.draw();
      });
      return button;
    }));
    const subtitle = spec.subtitle ? h('p', { class: 'chart-subtitle muted' }, spec.subtitle) : null;
    this.el = h('figure', { class: 'chart', dataset: { title: spec.title } },
      h('figcaption', {}, h('span', { class: 'chart-name' },
        h('span', { class: 'chart-title', title: spec.subtitle || null }, spec.title), spec.marks || null), this.reset),
      subtitle, legend, this.wrap);
    this.listen();
    this.resizeObserver = new ResizeObserver(() => this.scheduleDraw());
    this.resizeObserver.observe(this.wrap);
  }

  /** New data: `series` maps a key to [{timestamp, value}], `from`/`to` in ms. */
  setData({ from, to, bucketMs, series }) {
    this.domain = [from, to];
    this.bucketMs = bucketMs;
    for (const s of this.series) {
      const points = series[s.key] || [];
      s.t = new Float64Array(points.length);
      s.v = new Float64Array(points.length);
      points.forEach((p, i) => {
        s.t[i] = Date.parse(p.timestamp);
        s.v[i] = typeof p.value === 'number' ? p.value : NaN;
      });
      s.gap = gapThreshold(s.t, bucketMs);
    }
    this.draw();
  }

  setUtc(utc) {
    this.utc = utc;
    this.draw();
  }

  setZoom(range) {
    this.zoom = range;
    this.reset.hidden = !range;
    this.draw();
  }

  scheduleDraw() {
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => {
      this.pending = 0;
      this.draw();
    });
  }

  /** Releases the observer (when the page replaces its charts). */
  destroy() {
    this.resizeObserver.disconnect();
  }

  view() {
    return this.zoom || this.domain;
  }

  x(t, width) {
    const [x0, x1] = this.view();
    return PAD.left + ((t - x0) / (x1 - x0 || 1)) * (width - PAD.left - PAD.right);
  }

  timeAt(px, width) {
    const [x0, x1] = this.view();
    return x0 + ((px - PAD.left) / (width - PAD.left - PAD.right)) * (x1 - x0);
  }

  sizeCanvas(canvas, width, ratio) {
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(HEIGHT * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(HEIGHT * ratio);
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    return ctx;
  }

  draw() {
    const width = this.wrap.clientWidth;
    if (!width) return;
    const ratio = window.devicePixelRatio || 1;
    const ctx = this.sizeCanvas(this.base, width, ratio);
    this.sizeCanvas(this.overlay, width, ratio);
    this.width = width;
    ctx.clearRect(0, 0, width, HEIGHT);
    const css = getComputedStyle(this.el);
    const fg = css.getPropertyValue('--muted').trim() || '#555';
    const grid = css.getPropertyValue('--grid').trim() || '#ddd';
    const [x0, x1] = this.view();

    let max = -Infinity;
    let min = Infinity;
    for (const s of this.series) {
      if (s.hidden) continue;
      for (let i = 0; i < s.t.length; i += 1) {
        const v = s.v[i];
        if (s.t[i] < x0 || s.t[i] > x1 || Number.isNaN(v)) continue;
        if (v > max) max = v;
        if (v < min) min = v;
      }
    }
    // Nothing to show: no value axis (it would read as 0), a line saying so instead.
    const empty = max === -Infinity;
    if (empty) {
      max = 1;
      min = 0;
    }
    min = Math.min(0, min);
    if (max <= min) max = min + 1;
    // Bytes get steps that are round in their own unit (KiB, MiB, ...), not in powers of ten.
    const unit = this.binary ? 1024 ** Math.max(0, Math.floor(Math.log(max - min) / Math.log(1024))) : 1;
    const step = niceStep((max - min) / unit, 4) * unit;
    const yMax = Math.ceil(max / step) * step;
    const yMin = Math.floor(min / step) * step;
    const plotH = HEIGHT - PAD.top - PAD.bottom;
    const y = (v) => PAD.top + plotH - ((v - yMin) / (yMax - yMin)) * plotH;
    this.y = y;

    ctx.font = '11px system-ui, sans-serif';
    ctx.lineWidth = 1;
    ctx.strokeStyle = grid;
    ctx.fillStyle = fg;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    ctx.beginPath();
    for (let v = yMin; v <= yMax + step / 2; v += step) {
      const py = Math.round(y(v)) + 0.5;
      ctx.moveTo(PAD.left, py);
      ctx.lineTo(width - PAD.right, py);
      if (!empty) ctx.fillText(this.format(v), PAD.left - 6, py);
    }
    ctx.stroke();
    if (empty && this.series.some((s) => !s.hidden)) {
      ctx.textAlign = 'center';
      ctx.fillText('No data in this range', (PAD.left + width - PAD.right) / 2, PAD.top + plotH / 2);
    }
    this.drawTimeAxis(ctx, width, x0, x1);

    ctx.save();
    ctx.beginPath();
    ctx.rect(PAD.left, PAD.top - 2, width - PAD.left - PAD.right, plotH + 4);
    ctx.clip();
    const segments = {};
    ctx.lineWidth = 1.6;
    for (const s of this.series) {
      segments[s.key] = s.hidden ? 0 : this.drawSeries(ctx, s, width, y);
    }
    ctx.restore();
    this.el.dataset.segments = JSON.stringify(segments);
    this.el.dataset.zoomed = String(Boolean(this.zoom));
    this.el.dataset.empty = String(empty);
    this.el.dataset.points = String(this.series.reduce((n, s) => n + s.t.length, 0));
    this.overlay.setAttribute('aria-label', this.summary());
  }

  /** Draws one series; returns how many separate segments (runs of points) it drew. */
  drawSeries(ctx, s, width, y) {
    ctx.strokeStyle = s.color;
    ctx.fillStyle = s.color;
    ctx.beginPath();
    let segments = 0;
    let run = 0;
    let lastT = -Infinity;
    let lastX = 0;
    let lastY = 0;
    const dots = [];
    for (let i = 0; i < s.t.length; i += 1) {
      const v = s.v[i];
      const t = s.t[i];
      if (Number.isNaN(v) || t - lastT > s.gap) {
        if (run === 1) dots.push(lastX, lastY);
        run = 0;
      }
      if (Number.isNaN(v)) continue;
      const px = this.x(t, width);
      const py = y(v);
      if (run === 0) {
        ctx.moveTo(px, py);
        segments += 1;
      } else {
        ctx.lineTo(px, py);
      }
      run += 1;
      lastT = t;
      lastX = px;
      lastY = py;
    }
    if (run === 1) dots.push(lastX, lastY);
    ctx.stroke();
    for (let i = 0; i < dots.length; i += 2) {
      ctx.beginPath();
      ctx.arc(dots[i], dots[i + 1], 2, 0, 2 * Math.PI);
      ctx.fill();
    }
    return segments;
  }

  drawTimeAxis(ctx, width, x0, x1) {
    const span = x1 - x0;
    const maxTicks = Math.max(2, Math.floor((width - PAD.left - PAD.right) / 95));
    const step = TIME_STEPS.find((s) => span / s <= maxTicks) || TIME_STEPS[TIME_STEPS.length - 1];
    const offset = this.utc ? 0 : -new Date(x0).getTimezoneOffset() * MINUTE;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (let t = Math.ceil((x0 + offset) / step) * step - offset; t <= x1; t += step) {
      ctx.fillText(this.timeLabel(t, step, span), this.x(t, width), HEIGHT - PAD.bottom + 6);
    }
  }

  timeLabel(t, step, span) {
    const d = new Date(t);
    const u = this.utc;
    const hm = `${pad2(u ? d.getUTCHours() : d.getHours())}:${pad2(u ? d.getUTCMinutes() : d.getMinutes())}`;
    const md = `${pad2((u ? d.getUTCMonth() : d.getMonth()) + 1)}-${pad2(u ? d.getUTCDate() : d.getDate())}`;
    if (step >= DAY) return md;
    if (span > DAY) return `${md} ${hm}`;
    if (step < MINUTE) return `${hm}:${pad2(u ? d.getUTCSeconds() : d.getSeconds())}`;
    return hm;
  }

  summary() {
    const parts = this.series.filter((s) => !s.hidden).map((s) => {
      let last = NaN;
      for (let i = s.v.length - 1; i >= 0 && Number.isNaN(last); i -= 1) last = s.v[i];
      return `${s.label} latest ${Number.isNaN(last) ? 'no data' : this.format(last)}`;
    });
    return `${this.title}: ${parts.join(', ')}`;
  }

  listen() {
    const o = this.overlay;
    const px = (e) => e.clientX - o.getBoundingClientRect().left;
    o.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      this.dragFrom = px(e);
      try {
        o.setPointerCapture(e.pointerId);
      } catch {
        // a pointer the browser does not track: the drag still works inside the chart
      }
    });
    o.addEventListener('pointermove', (e) => {
      if (this.dragFrom !== undefined) this.drawSelection(this.dragFrom, px(e));
      else this.hover(px(e));
    });
    o.addEventListener('pointerup', (e) => {
      const from = this.dragFrom;
      this.dragFrom = undefined;
      if (from === undefined) return;
      const to = px(e);
      this.clearOverlay();
      if (Math.abs(to - from) > 6 && this.width) {
        const a = this.timeAt(Math.min(from, to), this.width);
        const b = this.timeAt(Math.max(from, to), this.width);
        this.setZoom([a, b]);
      }
    });
    o.addEventListener('pointerleave', () => {
      if (this.dragFrom === undefined) {
        this.tip.hidden = true;
        this.clearOverlay();
      }
    });
    o.addEventListener('dblclick', () => this.setZoom(null));
  }

  clearOverlay() {
    const ctx = this.overlay.getContext('2d');
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.overlay.width, this.overlay.height);
    const ratio = window.devicePixelRatio || 1;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    return ctx;
  }

  drawSelection(from, to) {
    const ctx = this.clearOverlay();
    ctx.fillStyle = 'rgba(37, 99, 235, 0.18)';
    ctx.fillRect(Math.min(from, to), PAD.top, Math.abs(to - from), HEIGHT - PAD.top - PAD.bottom);
  }

  hover(px) {
    const width = this.width;
    const visible = this.series.filter((s) => !s.hidden && s.t.length);
    if (!width || !visible.length || px < PAD.left || px > width - PAD.right) {
      this.tip.hidden = true;
      this.clearOverlay();
      return;
    }
    const t = this.timeAt(px, width);
    const anchor = visible[0];
    const at = anchor.t[nearest(anchor.t, t)];
    const ctx = this.clearOverlay();
    const x = this.x(at, width);
    ctx.strokeStyle = 'rgba(127, 127, 127, 0.8)';
    ctx.beginPath();
    ctx.moveTo(x + 0.5, PAD.top);
    ctx.lineTo(x + 0.5, HEIGHT - PAD.bottom);
    ctx.stroke();
    const lines = [h('div', { class: 'tip-time' }, dateTime(at, this.utc))];
    for (const s of visible) {
      const i = nearest(s.t, at);
      const v = s.t[i] === at ? s.v[i] : NaN;
      lines.push(h('div', {}, h('span', { class: `swatch swatch-${this.series.indexOf(s)}` }),
        `${s.label}: ${Number.isNaN(v) ? 'no data' : this.format(v)}`));
      if (!Number.isNaN(v)) {
        ctx.fillStyle = s.color;
        ctx.beginPath();
        ctx.arc(x, this.y(v), 3, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
    this.tip.replaceChildren(...lines);
    this.tip.hidden = false;
    const left = x + 12 + 200 > width ? Math.max(0, x - 12 - this.tip.offsetWidth) : x + 12;
    this.tip.style.left = `${left}px`;
  }
}
