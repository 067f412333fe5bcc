/**
 * Small SVG chart helpers for the HTML report: a line chart with shaded background bands, a
 * grouped or stacked bar chart, and an HTML table. Pure string building: every text is escaped,
 * every number is formatted deterministically, so one input gives one byte-identical output.
 * Data marks carry `class="mark"` and a `<title>` (native tooltip, no script needed).
 */

/** Escapes text for HTML/SVG element content and attribute values. */
export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Formats a coordinate: at most two decimals, no exponent, no `-0`. */
export function coord(n: number): string {
  const r = Math.round(n * 100) / 100;
  return Object.is(r, -0) ? '0' : String(r);
}

/** Formats a value for labels: integers as is, others with up to 3 significant decimals; thousands not grouped. */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return String(n);
  const a = Math.abs(n);
  const digits = a >= 100 ? 1 : a >= 1 ? 2 : 3;
  const s = String(Number(n.toFixed(digits)));
  return s === '-0' ? '0' : s;
}

/** "Nice" axis ticks covering [0, max] (or [min, max]): 1/2/5 × 10^k steps. */
export function niceTicks(min: number, max: number, target = 5): number[] {
  if (!(max > min)) max = min + 1;
  const raw = (max - min) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const lo = Math.floor(min / step) * step;
  const hi = Math.ceil(max / step) * step;
  const out: number[] = [];
  for (let i = 0; lo + i * step <= hi + step * 1e-9 && i < 100; i++) out.push(Number((lo + i * step).toPrecision(12)));
  return out;
}

/** Smallest and largest of `xs` (loop: safe for arrays of any length); [fallbackMin, fallbackMax] when empty. */
export function extent(xs: Iterable<number>, fallbackMin = 0, fallbackMax = 1): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of xs) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return lo === Infinity ? [fallbackMin, fallbackMax] : [lo, hi];
}

/** Most points drawn per line series; longer series are thinned evenly (first and last kept). */
export const MAX_POINTS_PER_SERIES = 1500;

function thin<T>(xs: readonly T[]): readonly T[] {
  if (xs.length <= MAX_POINTS_PER_SERIES) return xs;
  const out: T[] = [];
  const step = (xs.length - 1) / (MAX_POINTS_PER_SERIES - 1);
  for (let i = 0; i < MAX_POINTS_PER_SERIES; i++) out.push(xs[Math.round(i * step)]);
  return out;
}

/** The series palette (colour-blind-friendly, Okabe–Ito). */
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];

/** A line series. */
export interface LineSeries {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

/** A shaded background band on the x axis. */
export interface Band {
  readonly from: number;
  readonly to: number;
  readonly label: string;
  /** Fill colour. */
  readonly color: string;
}

/** Options for {@link lineChart}. */
export interface LineChartOptions {
  readonly id: string;
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly LineSeries[];
  readonly bands?: readonly Band[];
  readonly width?: number;
  readonly height?: number;
}

const M = { l: 64, r: 20, t: 56, b: 48 };

function frame(id: string, title: string, w: number, h: number, kind: string, body: string): string {
  return (
    `<figure class="chart"><svg data-chart="${esc(id)}" data-kind="${kind}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${esc(title)}">` +
    `<text class="chart-title" x="${M.l}" y="20">${esc(title)}</text>${body}</svg></figure>`
  );
}

function legend(items: readonly { name: string; color: string; shape?: 'line' | 'box' }[], x0: number, y: number, maxX: number): string {
  let x = x0;
  let row = y;
  let out = '<g class="legend">';
  for (const it of items) {
    const wItem = 26 + Math.min(it.name.length, 40) * 6.5;
    if (x + wItem > maxX && x > x0) {
      x = x0;
      row += 16;
    }
    out +=
      it.shape === 'line'
        ? `<line x1="${coord(x)}" y1="${row - 4}" x2="${coord(x + 16)}" y2="${row - 4}" stroke="${it.color}" stroke-width="3"/>`
        : `<rect x="${coord(x)}" y="${row - 10}" width="12" height="12" fill="${it.color}" fill-opacity="${it.shape === 'box' ? 1 : 0.35}"/>`;
    out += `<text x="${coord(x + 20)}" y="${row}">${esc(it.name.length > 40 ? it.name.slice(0, 39) + '…' : it.name)}</text>`;
    x += wItem;
  }
  return out + '</g>';
}

function yAxis(ticks: number[], y: (v: number) => number, w: number, h: number, label: string): string {
  let out = '<g class="axis y-axis">';
  for (const t of ticks) {
    out += `<line class="grid" x1="${M.l}" x2="${w - M.r}" y1="${coord(y(t))}" y2="${coord(y(t))}"/>`;
    out += `<text x="${M.l - 6}" y="${coord(y(t) + 4)}" text-anchor="end">${esc(fmt(t))}</text>`;
  }
  out += `<line x1="${M.l}" x2="${M.l}" y1="${M.t}" y2="${h - M.b}"/>`;
  const cy = (M.t + h - M.b) / 2;
  out += `<text class="axis-label" x="14" y="${coord(cy)}" text-anchor="middle" transform="rotate(-90 14 ${coord(cy)})">${esc(label)}</text>`;
  return out + '</g>';
}

/** Draws a line chart with one path per series, point markers, bands and axes; throws RangeError on non-finite data. */
export function lineChart(o: LineChartOptions): string {
  const w = o.width ?? 760;
  const h = o.height ?? 320;
  const pts = o.series.flatMap((s) => s.points);
  for (const [x, y] of pts) if (!Number.isFinite(x) || !Number.isFinite(y)) throw new RangeError(`${o.id}: non-finite point (${x}, ${y})`);
  for (const b of o.bands ?? []) if (!Number.isFinite(b.from) || !Number.isFinite(b.to)) throw new RangeError(`${o.id}: non-finite band ${b.label}`);
  let [xMin, xMax] = extent([...pts.map((p) => p[0]), ...(o.bands ?? []).flatMap((b) => [b.from, b.to])]);
  if (xMax <= xMin) xMax = xMin + 1;
  const [yLo, yHi] = extent(pts.map((p) => p[1]), 0, 0);
  const yMax = Math.max(0, yHi);
  const yMin = Math.min(0, yLo);
  const yt = niceTicks(yMin, yMax > yMin ? yMax : yMin + 1);
  const xt = niceTicks(xMin, xMax, 8).filter((t) => t >= xMin - 1e-9 && t <= xMax + 1e-9);
  const [y0, y1] = [yt[0], yt[yt.length - 1]];
  [xMin, xMax] = [Math.min(xMin, xt[0] ?? xMin), Math.max(xMax, xt[xt.length - 1] ?? xMax)];
  const X = (v: number) => M.l + ((v - xMin) / (xMax - xMin)) * (w - M.l - M.r);
  const Y = (v: number) => h - M.b - ((v - y0) / (y1 - y0)) * (h - M.t - M.b);
  let body = '<g class="bands">';
  for (const b of o.bands ?? []) {
    const bx0 = X(Math.max(xMin, b.from));
    const bx1 = X(Math.min(xMax, b.to));
    if (bx1 - bx0 <= 0) continue;
    body += `<rect class="band mark" x="${coord(bx0)}" y="${M.t}" width="${coord(bx1 - bx0)}" height="${h - M.t - M.b}" fill="${b.color}" fill-opacity="0.18"><title>${esc(`${b.label}: ${fmt(b.from)}–${fmt(b.to)}`)}</title></rect>`;
  }
  body += '</g>' + yAxis(yt, Y, w, h, o.yLabel) + '<g class="axis x-axis">';
  for (const t of xt) body += `<text x="${coord(X(t))}" y="${h - M.b + 16}" text-anchor="middle">${esc(fmt(t))}</text>`;
  body += `<line x1="${M.l}" x2="${w - M.r}" y1="${h - M.b}" y2="${h - M.b}"/>`;
  body += `<text class="axis-label" x="${coord((M.l + w - M.r) / 2)}" y="${h - 10}" text-anchor="middle">${esc(o.xLabel)}</text></g>`;
  body += '<g class="series">';
  o.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    const sorted = thin([...s.points].sort((a, b) => a[0] - b[0]));
    if (sorted.length === 0) return;
    const d = sorted.map(([x, y], k) => `${k ? 'L' : 'M'}${coord(X(x))} ${coord(Y(y))}`).join('');
    body += `<path class="line mark" d="${d}" fill="none" stroke="${color}" stroke-width="2"><title>${esc(s.name)}</title></path>`;
    if (sorted.length <= 60)
      for (const [x, y] of sorted)
        body += `<circle class="point mark" cx="${coord(X(x))}" cy="${coord(Y(y))}" r="3" fill="${color}"><title>${esc(`${s.name} @ ${fmt(x)}: ${fmt(y)}`)}</title></circle>`;
  });
  body += '</g>';
  const bandLegend = [...new Map((o.bands ?? []).map((b) => [b.label, b.color])).entries()].map(([name, color]) => ({ name, color }));
  body += legend([...o.series.map((s, i) => ({ name: s.name, color: PALETTE[i % PALETTE.length], shape: 'line' as const })), ...bandLegend], M.l, 40, w - M.r);
  return frame(o.id, o.title, w, h, 'line', body);
}

/** Options for {@link barChart}. */
export interface BarChartOptions {
  readonly id: string;
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly categories: readonly string[];
  /** One value per category per series. */
  readonly series: readonly { readonly name: string; readonly values: readonly number[] }[];
  readonly mode: 'grouped' | 'stacked';
  readonly width?: number;
  readonly height?: number;
}

/** Draws a grouped or stacked bar chart; zero values draw no bar; throws RangeError on bad data. */
export function barChart(o: BarChartOptions): string {
  const w = o.width ?? 760;
  const h = o.height ?? 320;
  for (const s of o.series) {
    if (s.values.length !== o.categories.length) throw new RangeError(`${o.id}: series ${s.name} has ${s.values.length} values for ${o.categories.length} categories`);
    for (const v of s.values) if (!Number.isFinite(v) || v < 0) throw new RangeError(`${o.id}: bar values must be finite and ≥ 0, got ${v}`);
  }
  const totals = o.categories.map((_, c) => (o.mode === 'stacked' ? o.series.reduce((a, s) => a + s.values[c], 0) : Math.max(0, ...o.series.map((s) => s.values[c]))));
  const yt = niceTicks(0, Math.max(0, ...totals) || 1);
  const yTop = yt[yt.length - 1];
  const Y = (v: number) => h - M.b - (v / yTop) * (h - M.t - M.b);
  const n = Math.max(1, o.categories.length);
  const slot = (w - M.l - M.r) / n;
  const groupW = slot * 0.72;
  let body = yAxis(yt, Y, w, h, o.yLabel) + '<g class="bars">';
  o.categories.forEach((cat, c) => {
    const gx = M.l + c * slot + (slot - groupW) / 2;
    let acc = 0;
    o.series.forEach((s, i) => {
      const v = s.values[c];
      const color = PALETTE[i % PALETTE.length];
      let x: number, bw: number, top: number, bottom: number;
      if (o.mode === 'stacked') {
        x = gx;
        bw = groupW;
        bottom = Y(acc);
        top = Y(acc + v);
        acc += v;
      } else {
        bw = groupW / Math.max(1, o.series.length);
        x = gx + i * bw;
        bottom = Y(0);
        top = Y(v);
      }
      if (bottom - top <= 0) return;
      body += `<rect class="bar mark" x="${coord(x)}" y="${coord(top)}" width="${coord(Math.max(1, bw - 1))}" height="${coord(bottom - top)}" fill="${color}"><title>${esc(`${cat} · ${s.name}: ${fmt(v)}`)}</title></rect>`;
    });
  });
  body += '</g><g class="axis x-axis">';
  o.categories.forEach((cat, c) => {
    const label = cat.length > 18 ? cat.slice(0, 17) + '…' : cat;
    body += `<text x="${coord(M.l + c * slot + slot / 2)}" y="${h - M.b + 16}" text-anchor="middle">${esc(label)}</text>`;
  });
  body += `<line x1="${M.l}" x2="${w - M.r}" y1="${h - M.b}" y2="${h - M.b}"/>`;
  body += `<text class="axis-label" x="${coord((M.l + w - M.r) / 2)}" y="${h - 10}" text-anchor="middle">${esc(o.xLabel)}</text></g>`;
  body += legend(o.series.map((s, i) => ({ name: s.name, color: PALETTE[i % PALETTE.length], shape: 'box' as const })), M.l, 40, w - M.r);
  return frame(o.id, o.title, w, h, o.mode === 'stacked' ? 'stacked-bar' : 'grouped-bar', body);
}

/** A table cell: text, or text with a CSS class (e.g. an outcome colour). */
export type Cell = string | number | { readonly text: string | number; readonly cls?: string };

/** Renders an HTML table; every cell is escaped. */
export function table(id: string, headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const cell = (c: Cell, tag: 'td' | 'th') => {
    if (typeof c === 'object') return `<${tag}${c.cls ? ` class="${esc(c.cls)}"` : ''}>${esc(typeof c.text === 'number' ? fmt(c.text) : c.text)}</${tag}>`;
    return `<${tag}${typeof c === 'number' ? ' class="num"' : ''}>${esc(typeof c === 'number' ? fmt(c) : c)}</${tag}>`;
  };
  return (
    `<table data-table="${esc(id)}"><thead><tr>${headers.map((x) => cell(x, 'th')).join('')}</tr></thead>` +
    `<tbody>${rows.map((r) => `<tr>${r.map((c) => cell(c, 'td')).join('')}</tr>`).join('')}</tbody></table>`
  );
}
