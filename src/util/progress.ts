// Progress reporting for long stages: a redrawn bar on a terminal, occasional plain lines in logs and CI,
// and only a summary line in quiet mode.

/** Where progress goes: process.stderr, or a fake in tests. */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export type Metrics = Record<string, number | string>;

export interface ProgressOptions {
  label: string;
  /** Units expected in all; unknown leaves out the bar, percentage and ETA. */
  total?: number;
  /** e.g. "img", "batch"; default "it". */
  unit?: string;
  /** Default process.stderr. */
  stream?: ProgressStream;
  /** Print nothing but the summary line at done(). */
  quiet?: boolean;
  /** Redraw in place (true) or print plain lines (false); default: whether the stream is a TTY. */
  tty?: boolean;
  /** Millisecond clock; default performance.now. */
  now?: () => number;
  /** Receives each plain line and the summary (not the in-place redraws), e.g. to copy them into a log file. */
  onLine?: (line: string) => void;
  /** Least time between in-place redraws; default 100 ms. */
  redrawMs?: number;
  /** Plain mode: print every this many percent…; default 10. */
  plainEveryPercent?: number;
  /** …or after this long without a line; default 30 s. */
  plainEveryMs?: number;
}

export interface ProgressBar {
  /** Adds n (default 1) done units and merges metrics into the ones shown. */
  tick(n?: number, metrics?: Metrics): void;
  /** Sets the done count (rather than adding to it). */
  update(current: number, metrics?: Metrics): void;
  /** Prints the summary line; later calls (and ticks) do nothing. Returns the summary. */
  done(metrics?: Metrics): string;
  readonly current: number;
  /** Units per second over the last few seconds. */
  rate(): number;
  /** The status line as it would be drawn now. */
  render(): string;
}

// ---- formatting ----

/** A duration for people: "0.4s", "42s", "1m 05s", "2h 03m", "1d 04h"; "?" when not finite. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "?";
  const tenths = Math.round(ms / 100) / 10;
  if (tenths < 10) return `${tenths.toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  const pad = (n: number): string => String(n).padStart(2, "0");
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  const h = Math.floor(s / 3600);
  if (h < 24) return `${h}h ${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(h / 24)}d ${pad(h % 24)}h`;
}

/** "23.1 img/s", or time per unit ("2.5s/img") when slower than one a second. */
export function formatRate(perSecond: number, unit: string): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return `- ${unit}/s`;
  if (perSecond < 1) return `${formatDuration(1000 / perSecond)}/${unit}`;
  const digits = perSecond < 10 ? 2 : perSecond < 100 ? 1 : 0;
  return `${perSecond.toFixed(digits)} ${unit}/s`;
}

function formatValue(v: number | string): string {
  if (typeof v === "string" || Number.isInteger(v)) return String(v);
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 1000 ? v.toFixed(0) : String(Number(v.toPrecision(4)));
}

/** "loss=0.3124 acc=0.9" */
export function formatMetrics(m: Metrics): string {
  return Object.entries(m)
    .map(([k, v]) => `${k}=${formatValue(v)}`)
    .join(" ");
}

// ---- keeping log lines and a live bar apart ----

const liveBars = new Set<{ stream: ProgressStream; redraw(): void }>();

/**
 * Runs write (which prints whole lines to stream) with any in-place bar on that stream cleared first and
 * redrawn after, so log messages don't get glued to a half-drawn bar.
 */
export function writeAboveProgress(stream: ProgressStream, write: () => void): void {
  const bars = [...liveBars].filter((b) => b.stream === stream);
  if (bars.length > 0) stream.write("\r\x1b[K");
  write();
  bars.at(-1)?.redraw();
}

// ---- the bar ----

const RATE_WINDOW_MS = 10_000;
const SAMPLE_EVERY_MS = 250;
const BAR_WIDTH = 20;

export function progress(opts: ProgressOptions): ProgressBar {
  const stream = opts.stream ?? process.stderr;
  const now = opts.now ?? (() => performance.now());
  const unit = opts.unit ?? "it";
  const total = opts.total !== undefined && opts.total > 0 ? opts.total : undefined;
  const quiet = opts.quiet ?? false;
  const tty = opts.tty ?? stream.isTTY === true;
  const redrawMs = opts.redrawMs ?? 100;
  const everyPct = opts.plainEveryPercent ?? 10;
  const everyMs = opts.plainEveryMs ?? 30_000;

  const start = now();
  let current = 0;
  let metrics: Metrics = {};
  let finished = false;
  let lastDraw = -Infinity;
  let lastPlain = start;
  let nextPct = everyPct;
  // (time, count) samples over the last RATE_WINDOW_MS (plus one older): the rate follows speed changes
  // (warm-up, a new erasing step) within seconds but doesn't jitter from batch to batch.
  const samples: [number, number][] = [[start, 0]];

  function rate(): number {
    const t = now();
    while (samples.length > 1 && t - samples[1]![0] >= RATE_WINDOW_MS) samples.shift();
    const [t0, c0] = samples[0]!;
    return t > t0 ? ((current - c0) * 1000) / (t - t0) : 0;
  }

  function render(): string {
    const r = rate();
    const parts = [opts.label];
    if (total !== undefined) {
      const frac = Math.min(1, current / total);
      const filled = Math.floor(frac * BAR_WIDTH);
      parts.push(`${String(Math.floor(frac * 100)).padStart(3)}%`);
      parts.push(`[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}]`);
      parts.push(`${String(current).padStart(String(total).length)}/${total} ${unit}`);
    } else {
      parts.push(`${current} ${unit}`);
    }
    parts.push(formatRate(r, unit));
    if (total !== undefined)
      parts.push(`ETA ${r > 0 ? formatDuration(((total - current) * 1000) / r) : "?"}`);
    if (Object.keys(metrics).length > 0) parts.push(formatMetrics(metrics));
    return parts.join("  ");
  }

  function plainLine(): string {
    const r = rate();
    const head =
      total !== undefined
        ? `${Math.floor(Math.min(1, current / total) * 100)}% (${current}/${total} ${unit})`
        : `${current} ${unit}`;
    const parts = [`${opts.label}: ${head}`, formatRate(r, unit)];
    if (total !== undefined)
      parts.push(`ETA ${r > 0 ? formatDuration(((total - current) * 1000) / r) : "?"}`);
    if (Object.keys(metrics).length > 0) parts.push(formatMetrics(metrics));
    return parts.join(", ");
  }

  function draw(): void {
    let line = render();
    // A line wider than the terminal wraps, and \r then only returns to the start of the last row.
    if (stream.columns && line.length > stream.columns - 1)
      line = line.slice(0, Math.max(0, stream.columns - 1));
    stream.write(`\r${line}\x1b[K`);
    lastDraw = now();
  }

  const live = { stream, redraw: draw };
  if (tty && !quiet) {
    liveBars.add(live);
    draw();
  }

  function emit(line: string): void {
    stream.write(`${line}\n`);
    opts.onLine?.(line);
  }

  function changed(): void {
    const t = now();
    const last = samples[samples.length - 1]!;
    if (t - last[0] >= SAMPLE_EVERY_MS) samples.push([t, current]);
    if (quiet) return;
    if (tty) {
      if (t - lastDraw >= redrawMs) draw();
      return;
    }
    const pct = total !== undefined ? Math.floor((current / total) * 100) : -1;
    const complete = total !== undefined && current >= total;
    if (!complete && (pct >= nextPct || t - lastPlain >= everyMs)) {
      emit(plainLine());
      lastPlain = t;
      if (pct >= nextPct) nextPct = (Math.floor(pct / everyPct) + 1) * everyPct;
    }
  }

  let summary = "";
  return {
    get current() {
      return current;
    },
    rate,
    render,
    tick(n = 1, m) {
      if (finished) return;
      current += n;
      if (m) metrics = { ...metrics, ...m };
      changed();
    },
    update(value, m) {
      if (finished) return;
      current = value;
      if (m) metrics = { ...metrics, ...m };
      changed();
    },
    done(m) {
      if (finished) return summary;
      finished = true;
      if (m) metrics = { ...metrics, ...m };
      const elapsed = now() - start;
      const avg = elapsed > 0 ? (current * 1000) / elapsed : 0;
      summary = `${opts.label}: done, ${current} ${unit} in ${formatDuration(elapsed)} (${formatRate(avg, unit)})`;
      if (Object.keys(metrics).length > 0) summary += `, ${formatMetrics(metrics)}`;
      if (liveBars.delete(live)) stream.write("\r\x1b[K");
      emit(summary);
      return summary;
    },
  };
}
