// Inline SVG charts for the report, generated as strings (no chart library): line charts, grouped
// horizontal bars and a matrix heat map. Every chart scales with its container (viewBox + width 100%)
// and carries a <title> for screen readers; points and bars have <title> tooltips with their values.
import { esc } from "./html.js";

/** Categorical colours (Tableau 10), readable on white. */
export const SERIES_COLOURS = [
  "#4e79a7",
  "#f28e2b",
  "#e15759",
  "#59a14f",
  "#b07aa1",
  "#76b7b2",
  "#edc948",
  "#9c755f",
  "#ff9da7",
  "#bab0ac",
];

const FONT = `font-family="system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"`;
const AXIS = "#59636e";
const GRID = "#e6eaef";

const f = (v: number): string => (Math.round(v * 10) / 10).toString();

/** About `count` round tick values from at or below `min` to at or above `max`. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (max <= min) max = min + 1;
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  const first = Math.floor(min / step + 1e-9);
  const last = Math.ceil(max / step - 1e-9);
  for (let k = first; k <= last; k++) out.push(k === 0 ? 0 : +(k * step).toPrecision(12));
  return out;
}

function tickLabel(v: number, percent: boolean): string {
  if (percent) return `${Math.round(v * 100)}%`;
  if (Math.abs(v) >= 1000) return v.toFixed(0);
  return (+v.toPrecision(4)).toString();
}

export interface Series {
  name: string;
  points: Array<[number, number]>;
  colour?: string;
  dashed?: boolean;
}

export interface LineChartOptions {
  title: string;
  series: Series[];
  xLabel: string;
  yLabel?: string;
  /** Y values are fractions shown as percentages (axis 0–100%). */
  percent?: boolean;
  yMin?: number;
  yMax?: number;
  /** Only integer x ticks (epochs, steps). */
  integerX?: boolean;
  width?: number;
  height?: number;
}

function legend(
  items: Array<{ name: string; colour: string; dashed?: boolean }>,
  x0: number,
  y: number,
): string {
  let x = x0;
  return items
    .map((it) => {
      const w = 26 + it.name.length * 6.6;
      const s =
        `<g transform="translate(${f(x)},${f(y)})">` +
        `<line x1="0" y1="0" x2="16" y2="0" stroke="${it.colour}" stroke-width="2.5"${it.dashed ? ' stroke-dasharray="4 3"' : ""}/>` +
        `<text x="21" y="4" font-size="11.5" fill="#1f2328">${esc(it.name)}</text></g>`;
      x += w;
      return s;
    })
    .join("");
}

/** A line chart with one polyline (and dots) per series, axes with round ticks, and a legend on top. */
export function lineChart(o: LineChartOptions): string {
  const W = o.width ?? 560;
  const H = o.height ?? 290;
  const m = { l: 54, r: 16, t: 34, b: 42 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const pts = o.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  let xMin = xs.length ? Math.min(...xs) : 0;
  let xMax = xs.length ? Math.max(...xs) : 1;
  if (xMax === xMin) {
    xMin -= 1;
    xMax += 1;
  }
  let yMin = o.yMin ?? (ys.length ? Math.min(0, ...ys) : 0);
  let yMax = o.yMax ?? (ys.length ? Math.max(...ys) : 1);
  if (yMax <= yMin) yMax = yMin + 1;
  const yTicks = niceTicks(yMin, yMax, 5);
  if (o.yMax === undefined) yMax = Math.max(yMax, yTicks.at(-1)!);
  if (o.yMin === undefined) yMin = Math.min(yMin, yTicks[0]);
  let xTicks = niceTicks(xMin, xMax, Math.min(8, Math.max(2, Math.round(xMax - xMin))));
  if (o.integerX) xTicks = xTicks.filter((v) => Number.isInteger(v));
  const sx = (x: number) => m.l + ((x - xMin) / (xMax - xMin)) * pw;
  const sy = (y: number) => m.t + ph - ((y - yMin) / (yMax - yMin)) * ph;

  const parts: string[] = [];
  parts.push(`<title>${esc(o.title)}</title>`);
  for (const v of yTicks) {
    if (v < yMin - 1e-9 || v > yMax + 1e-9) continue;
    parts.push(
      `<line x1="${m.l}" x2="${m.l + pw}" y1="${f(sy(v))}" y2="${f(sy(v))}" stroke="${GRID}"/>` +
        `<text x="${m.l - 7}" y="${f(sy(v) + 4)}" text-anchor="end" font-size="11" fill="${AXIS}">${tickLabel(v, !!o.percent)}</text>`,
    );
  }
  for (const v of xTicks) {
    if (v < xMin - 1e-9 || v > xMax + 1e-9) continue;
    parts.push(
      `<line x1="${f(sx(v))}" x2="${f(sx(v))}" y1="${m.t + ph}" y2="${m.t + ph + 4}" stroke="${AXIS}"/>` +
        `<text x="${f(sx(v))}" y="${m.t + ph + 17}" text-anchor="middle" font-size="11" fill="${AXIS}">${tickLabel(v, false)}</text>`,
    );
  }
  parts.push(
    `<line x1="${m.l}" x2="${m.l + pw}" y1="${m.t + ph}" y2="${m.t + ph}" stroke="${AXIS}"/>` +
      `<text x="${m.l + pw / 2}" y="${H - 6}" text-anchor="middle" font-size="12" fill="${AXIS}">${esc(o.xLabel)}</text>`,
  );
  if (o.yLabel)
    parts.push(
      `<text transform="translate(13,${f(m.t + ph / 2)}) rotate(-90)" text-anchor="middle" font-size="12" fill="${AXIS}">${esc(o.yLabel)}</text>`,
    );
  o.series.forEach((s, k) => {
    const colour = s.colour ?? SERIES_COLOURS[k % SERIES_COLOURS.length];
    const p = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (p.length > 1)
      parts.push(
        `<polyline fill="none" stroke="${colour}" stroke-width="2" stroke-linejoin="round"${s.dashed ? ' stroke-dasharray="5 4"' : ""} points="${p.map(([x, y]) => `${f(sx(x))},${f(sy(y))}`).join(" ")}"/>`,
      );
    for (const [x, y] of p)
      parts.push(
        `<circle cx="${f(sx(x))}" cy="${f(sy(y))}" r="${p.length > 40 ? 1.5 : 3}" fill="${colour}"><title>${esc(s.name)}: ${esc(tickLabel(x, false))} → ${o.percent ? `${(y * 100).toFixed(1)}%` : esc(+y.toPrecision(4))}</title></circle>`,
      );
  });
  parts.push(
    legend(
      o.series.map((s, k) => ({
        name: s.name,
        colour: s.colour ?? SERIES_COLOURS[k % SERIES_COLOURS.length],
        dashed: s.dashed,
      })),
      m.l,
      14,
    ),
  );
  return svgRoot(W, H, o.title, parts.join(""));
}

function svgRoot(W: number, H: number, title: string, body: string): string {
  return (
    `<svg class="chart-svg" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" ` +
    `role="img" aria-label="${esc(title)}" ${FONT}>${body}</svg>`
  );
}

export interface BarGroup {
  label: string;
  /** A swatch drawn before the label (e.g. the class colour). */
  swatch?: string;
  /** One value per series; null = no value. */
  values: Array<number | null>;
  bold?: boolean;
}

export interface BarChartOptions {
  title: string;
  groups: BarGroup[];
  seriesNames: string[];
  /** Values are fractions in [0, 1], shown as percentages. */
  percent?: boolean;
  width?: number;
}

/** Horizontal grouped bars: one row per group (class), one bar per series, values printed at the ends. */
export function barChart(o: BarChartOptions): string {
  const W = o.width ?? 560;
  const bar = 11;
  const gap = 3;
  const groupH = o.seriesNames.length * (bar + gap) + 9;
  const labelW = Math.min(180, 34 + Math.max(6, ...o.groups.map((g) => g.label.length)) * 6.8);
  const m = { l: labelW, r: 46, t: 30, b: 26 };
  const pw = W - m.l - m.r;
  const H = m.t + o.groups.length * groupH + m.b;
  const max = o.percent
    ? 1
    : Math.max(1e-9, ...o.groups.flatMap((g) => g.values.filter((v): v is number => v !== null)));
  const sx = (v: number) => m.l + (Math.max(0, v) / max) * pw;
  const parts: string[] = [`<title>${esc(o.title)}</title>`];
  for (const v of niceTicks(0, max, 4)) {
    if (v > max + 1e-9) continue;
    parts.push(
      `<line x1="${f(sx(v))}" x2="${f(sx(v))}" y1="${m.t - 4}" y2="${H - m.b}" stroke="${GRID}"/>` +
        `<text x="${f(sx(v))}" y="${H - m.b + 15}" text-anchor="middle" font-size="11" fill="${AXIS}">${tickLabel(v, !!o.percent)}</text>`,
    );
  }
  o.groups.forEach((g, gi) => {
    const y0 = m.t + gi * groupH;
    const mid = y0 + (o.seriesNames.length * (bar + gap) - gap) / 2;
    const tx = g.swatch ? 22 : 4;
    if (g.swatch)
      parts.push(
        `<rect x="4" y="${f(mid - 6)}" width="12" height="12" rx="2" fill="${esc(g.swatch)}" stroke="rgba(0,0,0,.3)"/>`,
      );
    parts.push(
      `<text x="${tx}" y="${f(mid + 4)}" font-size="12" fill="#1f2328"${g.bold ? ' font-weight="700"' : ""}>${esc(g.label)}</text>`,
    );
    g.values.forEach((v, k) => {
      const y = y0 + k * (bar + gap);
      const colour = SERIES_COLOURS[k % SERIES_COLOURS.length];
      if (v === null || !Number.isFinite(v)) {
        parts.push(`<text x="${m.l + 4}" y="${f(y + bar - 2)}" font-size="10.5" fill="${AXIS}">n/a</text>`);
        return;
      }
      const text = o.percent ? (v * 100).toFixed(1) : (+v.toPrecision(3)).toString();
      parts.push(
        `<rect x="${m.l}" y="${f(y)}" width="${f(Math.max(0.5, sx(v) - m.l))}" height="${bar}" rx="2" fill="${colour}">` +
          `<title>${esc(g.label)} · ${esc(o.seriesNames[k])}: ${text}${o.percent ? "%" : ""}</title></rect>` +
          `<text x="${f(sx(v) + 4)}" y="${f(y + bar - 2)}" font-size="10.5" fill="#1f2328">${text}</text>`,
      );
    });
  });
  parts.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t - 4}" y2="${H - m.b}" stroke="${AXIS}"/>`);
  if (o.seriesNames.length > 1)
    parts.push(
      legend(
        o.seriesNames.map((name, k) => ({ name, colour: SERIES_COLOURS[k % SERIES_COLOURS.length] })),
        m.l,
        13,
      ),
    );
  return svgRoot(W, H, o.title, parts.join(""));
}

/** White → dark blue, t in [0, 1]. */
function blues(t: number): string {
  const a = [247, 251, 255];
  const b = [8, 48, 107];
  const u = Math.sqrt(Math.min(1, Math.max(0, t)));
  return `rgb(${a.map((v, i) => Math.round(v + (b[i] - v) * u)).join(" ")})`;
}

export interface MatrixOptions {
  title: string;
  labels: string[];
  /** Row-major values in [0, 1] (rows: ground truth, columns: prediction). */
  values: number[][];
  /** Raw counts per row, shown in tooltips. */
  rowTotals?: number[];
  rowTitle?: string;
  colTitle?: string;
}

/** A square matrix as a heat map with class names on both axes and percentages in the cells. */
export function matrixHeatmap(o: MatrixOptions): string {
  const n = o.labels.length;
  const cell = n <= 8 ? 40 : n <= 14 ? 32 : n <= 24 ? 24 : 16;
  const longest = Math.max(4, ...o.labels.map((l) => l.length));
  const labelW = Math.min(150, 16 + longest * 6.6);
  const m = { l: labelW + 22, t: Math.min(140, 22 + longest * 4.9), r: 16, b: 30 };
  const W = m.l + n * cell + m.r;
  const H = m.t + n * cell + m.b;
  const parts: string[] = [`<title>${esc(o.title)}</title>`];
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      const v = o.values[r]?.[c] ?? 0;
      const x = m.l + c * cell;
      const y = m.t + r * cell;
      const tip = `${o.labels[r]} → ${o.labels[c]}: ${(v * 100).toFixed(1)}%`;
      parts.push(
        `<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${blues(v)}" stroke="#fff" stroke-width="1"><title>${esc(tip)}</title></rect>`,
      );
      if (cell >= 24 && v >= 0.005)
        parts.push(
          `<text x="${x + cell / 2}" y="${y + cell / 2 + 3.5}" text-anchor="middle" font-size="${cell >= 32 ? 10.5 : 9}" fill="${v > 0.45 ? "#fff" : "#1f2328"}" pointer-events="none">${Math.round(v * 100)}</text>`,
        );
    }
    parts.push(
      `<text x="${m.l - 6}" y="${f(m.t + r * cell + cell / 2 + 4)}" text-anchor="end" font-size="11.5" fill="#1f2328">${esc(o.labels[r])}</text>`,
    );
  }
  for (let c = 0; c < n; c++) {
    const x = m.l + c * cell + cell / 2;
    parts.push(
      `<text transform="translate(${f(x + 3)},${m.t - 6}) rotate(-50)" font-size="11.5" fill="#1f2328">${esc(o.labels[c])}</text>`,
    );
  }
  parts.push(
    `<rect x="${m.l}" y="${m.t}" width="${n * cell}" height="${n * cell}" fill="none" stroke="${AXIS}"/>` +
      `<text transform="translate(11,${f(m.t + (n * cell) / 2)}) rotate(-90)" text-anchor="middle" font-size="12" fill="${AXIS}">${esc(o.rowTitle ?? "ground truth")}</text>` +
      `<text x="${f(m.l + (n * cell) / 2)}" y="${H - 9}" text-anchor="middle" font-size="12" fill="${AXIS}">${esc(o.colTitle ?? "prediction")}</text>`,
  );
  return svgRoot(W, H, o.title, parts.join(""));
}
