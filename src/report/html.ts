// Small HTML helpers for the report: escaping, number formatting, and the page's stylesheet.

/** Escapes text for HTML element content and (double- or single-quoted) attribute values. */
export function esc(value: unknown): string {
  return String(value)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** A fraction as a percentage with one decimal ("23.4"), or "–" when missing. */
export function pct(v: number | null | undefined, digits = 1): string {
  return typeof v === "number" && Number.isFinite(v) ? (v * 100).toFixed(digits) : "–";
}

/** Seconds as "12.3 s", "4 min 05 s" or "1 h 02 min". */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "–";
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(2) : seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

/** "rgb(r g b)" for palette entry `index` of a flat RGB palette. */
export function paletteCss(palette: ArrayLike<number>, index: number): string {
  const r = palette[index * 3] ?? 0;
  const g = palette[index * 3 + 1] ?? 0;
  const b = palette[index * 3 + 2] ?? 0;
  return `rgb(${r} ${g} ${b})`;
}

/** The note shown where a section's inputs do not exist (yet). */
export function unavailable(what: string, detail?: string): string {
  return `<p class="na">${esc(what)}: not available yet${detail ? ` <span class="why">(${esc(detail)})</span>` : ""}.</p>`;
}

/** The note shown where a section's inputs exist but could not be read. */
export function failed(what: string, err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return `<p class="na err">${esc(what)}: could not be read <span class="why">(${esc(msg)})</span>.</p>`;
}

export const STYLESHEET = `
:root {
  --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #ffffff; --panel: #f6f8fa;
  --accent: #0969da; --warn: #9a6700;
  color-scheme: light;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; color: var(--fg); background: var(--bg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif;
}
header.top { background: #24292f; color: #fff; padding: 20px 0 18px; }
header.top h1 { margin: 0; font-size: 22px; font-weight: 600; }
header.top p { margin: 4px 0 0; color: #d0d7de; font-size: 13px; }
header.top code { color: #fff; background: rgba(255,255,255,.12); }
.wrap { max-width: 1280px; margin: 0 auto; padding: 0 24px; }
nav.toc { position: sticky; top: 0; z-index: 5; background: rgba(255,255,255,.95); border-bottom: 1px solid var(--line); backdrop-filter: blur(4px); }
nav.toc ul { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 18px; margin: 0; padding: 9px 0; font-size: 14px; }
nav.toc a { color: var(--accent); text-decoration: none; }
nav.toc a:hover { text-decoration: underline; }
main { padding: 8px 0 48px; }
section { margin-top: 34px; }
h2 { font-size: 19px; font-weight: 600; margin: 0 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; font-weight: 600; margin: 0 0 8px; }
p.lead { color: var(--muted); margin: 0 0 14px; max-width: 90ch; }
code, pre { font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px; }
code { background: var(--panel); padding: 1px 5px; border-radius: 4px; }
pre { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 12px; overflow: auto; max-height: 520px; margin: 8px 0 0; }
details { margin-top: 12px; }
summary { cursor: pointer; color: var(--accent); font-weight: 500; }
.na { color: var(--warn); background: #fff8c5; border: 1px solid #eed888; border-radius: 6px; padding: 8px 12px; margin: 6px 0; font-size: 14px; }
.na.err { color: #82071e; background: #ffebe9; border-color: #ffcecb; }
.na .why { color: var(--muted); font-size: 12.5px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(190px, 1fr)); gap: 14px; margin-top: 20px; }
.card { border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; background: var(--bg); }
.card .label { color: var(--muted); font-size: 13px; }
.card .value { font-size: 30px; font-weight: 650; line-height: 1.15; font-variant-numeric: tabular-nums; }
.card .value small { font-size: 16px; font-weight: 500; color: var(--muted); }
.card .sub { color: var(--muted); font-size: 13px; margin-top: 2px; }
.card .sub b { color: #1a7f37; font-weight: 600; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 14px; margin: 0; padding: 0; list-style: none; font-size: 13px; }
.legend li { display: inline-flex; align-items: center; gap: 6px; }
.swatch { display: inline-block; width: 14px; height: 14px; border-radius: 3px; border: 1px solid rgba(0,0,0,.25); flex: none; }
.legend-box { position: sticky; top: 41px; z-index: 4; background: rgba(255,255,255,.96); padding: 8px 0; border-bottom: 1px solid var(--line); margin-bottom: 14px; }
.sample { border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px 16px; margin: 0 0 22px; background: var(--bg); }
.sample-head { display: flex; flex-wrap: wrap; align-items: baseline; gap: 6px 12px; margin-bottom: 10px; }
.sample-head h3 { margin: 0; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 15px; }
.tag { display: inline-flex; align-items: center; gap: 5px; border: 1px solid var(--line); border-radius: 999px; padding: 0 9px 0 5px; font-size: 13px; background: var(--panel); }
.tag .swatch { width: 11px; height: 11px; border-radius: 50%; }
.sample-body { display: flex; flex-wrap: wrap; gap: 16px 30px; align-items: flex-start; }
.overview { flex: 1 1 400px; max-width: 480px; display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 10px; }
.stepsbox { flex: 1 1 560px; min-width: 0; border-left: 1px solid var(--line); padding-left: 22px; }
.steps { display: grid; gap: 8px 10px; align-items: start; }
.steps .rowhead { font-size: 13px; color: var(--muted); padding-top: 4px; }
.steps .rowhead b { display: block; color: var(--fg); font-size: 14px; }
.scroll { overflow-x: auto; }
figure { margin: 0; min-width: 0; }
figure img, figure .ph { display: block; width: 100%; height: auto; border-radius: 4px; background: var(--panel); }
figure .ph { aspect-ratio: 4 / 3; display: flex; align-items: center; justify-content: center; text-align: center; color: var(--muted); font-size: 12px; border: 1px dashed var(--line); padding: 6px; }
figure img.labels { image-rendering: pixelated; }
figcaption { font-size: 12.5px; color: var(--muted); margin-top: 4px; line-height: 1.35; }
.charts { display: flex; flex-wrap: wrap; gap: 18px 22px; align-items: flex-start; }
.chart { flex: 0 1 auto; max-width: 100%; border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px 10px; background: var(--bg); }
.chart svg { display: block; max-width: 100%; height: auto; }
.chart figcaption { max-width: 560px; }
table { border-collapse: collapse; font-size: 14px; }
th, td { padding: 5px 12px 5px 0; text-align: left; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 13px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: 600; border-bottom: none; }
.bar { height: 9px; background: var(--accent); border-radius: 2px; opacity: .75; min-width: 1px; }
.bar-cell { width: 260px; }
footer { color: var(--muted); font-size: 12.5px; border-top: 1px solid var(--line); padding: 14px 0 30px; }
@media (max-width: 640px) {
  .wrap { padding: 0 12px; }
  .card .value { font-size: 24px; }
  .legend-box, nav.toc { position: static; }
  .stepsbox { border-left: none; padding-left: 0; }
  .overview { max-width: none; grid-template-columns: repeat(2, minmax(0, 1fr)); }
}
@media print { nav.toc, .legend-box { position: static; } }
`;
