// Readable numbers, units and times. `null`/`undefined` is shown as an em dash, never as 0.

export const DASH = '—';

function isNum(v) {
  return typeof v === 'number' && Number.isFinite(v);
}

export function number(v, digits = 1) {
  if (!isNum(v)) return DASH;
  const abs = Math.abs(v);
  if (abs >= 1e9) return `${(v / 1e9).toFixed(digits)} G`;
  if (abs >= 1e6) return `${(v / 1e6).toFixed(digits)} M`;
  if (abs >= 1e4) return `${(v / 1e3).toFixed(digits)} k`;
  if (Number.isInteger(v)) return String(v);
  return v.toFixed(abs < 10 ? Math.max(digits, 2) : digits);
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
export function bytes(v) {
  if (!isNum(v)) return DASH;
  let i = 0;
  let x = Math.abs(v);
  while (x >= 1024 && i < BYTE_UNITS.length - 1) {
    x /= 1024;
    i += 1;
  }
  const sign = v < 0 ? '-' : '';
  return `${sign}${i === 0 ? x.toFixed(0) : x.toFixed(x < 10 ? 2 : 1)} ${BYTE_UNITS[i]}`;
}

export const pct = (v) => (isNum(v) ? `${v.toFixed(1)} %` : DASH);
export const ms = (v) => (isNum(v) ? (v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(v < 10 ? 1 : 0)} ms`) : DASH);
export const perSecond = (v) => (isNum(v) ? `${number(v)}/s` : DASH);
export const bytesPerSecond = (v) => (isNum(v) ? `${bytes(v)}/s` : DASH);

/** A duration in seconds, in the unit that reads best: "850 µs", "12.5 ms", "4.20 s", "3.5 min", "2.0 h". */
export function seconds(v) {
  if (!isNum(v)) return DASH;
  const abs = Math.abs(v);
  if (abs === 0) return '0 s';
  if (abs < 1e-3) return `${number(v * 1e6)} µs`;
  if (abs < 1) return `${number(v * 1e3)} ms`;
  if (abs < 120) return `${number(v)} s`;
  if (abs < 7200) return `${number(v / 60)} min`;
  return `${number(v / 3600)} h`;
}

/** Formatter of a unit name used by charts and statistics. */
export const UNITS = {
  pct,
  ms,
  rate: perSecond,
  bytesRate: bytesPerSecond,
  bytes,
  number,
};

/** A custom metric's `unit` as written (issue 16): its formatter, and whether axis steps should
 *  be round in KiB, MiB, … A unit not listed is shown after the number as written. */
export function forUnit(unit) {
  const scaled = (k) => (v) => (isNum(v) ? seconds(v * k) : DASH);
  switch (unit || '') {
    case '': return { format: number, binary: false };
    case 'ratio': return { format: (v) => (isNum(v) ? pct(v * 100) : DASH), binary: false };
    case 'percent': case 'pct': return { format: pct, binary: false };
    case 'bytes': return { format: bytes, binary: true };
    case 'per_second': return { format: perSecond, binary: false };
    case 'bytes_per_second': return { format: bytesPerSecond, binary: true };
    case 'seconds': case 's': return { format: seconds, binary: false };
    case 'milliseconds': case 'ms': return { format: scaled(1e-3), binary: false };
    case 'microseconds': case 'us': case 'µs': return { format: scaled(1e-6), binary: false };
    case 'nanoseconds': case 'ns': return { format: scaled(1e-9), binary: false };
    default: return { format: (v) => (isNum(v) ? `${number(v)} ${unit}` : DASH), binary: false };
  }
}

const pad = (n) => String(n).padStart(2, '0');

/** "2025-03-01 10:00:05" in the browser's zone, or with " UTC" when `utc`. */
export function dateTime(value, utc = false) {
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return DASH;
  const p = utc
    ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
    : [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()];
  return `${p[0]}-${pad(p[1])}-${pad(p[2])} ${pad(p[3])}:${pad(p[4])}:${pad(p[5])}${utc ? ' UTC' : ''}`;
}

/** "12 s ago", "5 min ago", "3 h ago", "2 d ago"; a dash for null. */
export function ago(value, now = Date.now()) {
  if (!value) return DASH;
  const t = new Date(value).getTime();
  if (Number.isNaN(t)) return DASH;
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** "3/4" alive out of total; a dash when unknown. */
export function ratio(alive, total) {
  if (!isNum(total)) return DASH;
  return `${isNum(alive) ? alive : DASH}/${total}`;
}
