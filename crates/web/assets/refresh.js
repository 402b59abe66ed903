// Auto-refresh shared by every page: off, 15 s, 30 s or 1 min, remembered in localStorage; a
// manual refresh; "last updated"; on failure a notice, and the last data stays, marked stale.
// Tests (and the curious) may force the period with `?refresh_ms=N` in the page's address.

import { h, select } from './dom.js';
import { notify } from './api.js';
import { dateTime } from './format.js';

const KEY = 'rockscope.refresh_ms';
export const CHOICES = [['0', 'Off'], ['15000', '15 s'], ['30000', '30 s'], ['60000', '1 min']];

function injected() {
  const text = new URLSearchParams(location.search).get('refresh_ms');
  const n = Number(text);
  return text && Number.isFinite(n) && n >= 50 ? n : null;
}

function stored() {
  try {
    const v = localStorage.getItem(KEY);
    return CHOICES.some(([c]) => c === v) ? Number(v) : 15000;
  } catch {
    return 15000;
  }
}

export class Refresher {
  /** `load` fetches and draws; it throws (an ApiError) when the data could not be had. */
  constructor(load, staleTarget) {
    this.load = load;
    this.staleTarget = staleTarget;
    this.period = stored();
    this.forced = injected();
    this.loads = 0;
    this.running = null;
    this.updated = h('span', { class: 'updated muted', 'aria-live': 'polite' }, 'Not loaded yet');
  }

  /** The controls: auto-refresh period, refresh now, last updated. */
  controls() {
    const choices = this.forced
      ? [[String(this.forced), `every ${this.forced} ms (from the address)`], ...CHOICES]
      : CHOICES;
    const period = select('Auto-refresh', choices, String(this.forced || this.period), (v) => {
      this.forced = null;
      this.period = Number(v);
      try {
        localStorage.setItem(KEY, v);
      } catch {
        // not remembered, still applied
      }
      this.schedule();
    });
    const now = h('button', { type: 'button', class: 'secondary', onclick: () => this.run() }, 'Refresh now');
    return h('div', { class: 'refresh' }, period, now, this.updated);
  }

  start() {
    return this.run();
  }

  /** Loads now (at most one load at a time), then schedules the next one. */
  run() {
    if (this.running) return this.running;
    clearTimeout(this.timer);
    this.running = (async () => {
      try {
        await this.load();
        this.loads += 1;
        if (this.loads === 1) performance.mark('rockscope:first-data');
        document.body.dataset.loads = String(this.loads);
        this.lastOk = new Date();
        this.setStale(false);
      } catch (e) {
        this.setStale(true);
        notify(`Refresh failed: ${e.message}. Showing the last data.`);
      } finally {
        this.running = null;
        this.schedule();
      }
    })();
    return this.running;
  }

  schedule() {
    clearTimeout(this.timer);
    const ms = this.forced || this.period;
    if (ms > 0) this.timer = setTimeout(() => this.run(), ms);
  }

  setStale(stale) {
    if (this.staleTarget) this.staleTarget.classList.toggle('stale', stale);
    const when = this.lastOk ? `Last updated ${dateTime(this.lastOk)}` : 'Not loaded';
    this.updated.textContent = stale ? `${when} (stale: the last refresh failed)` : when;
  }
}
