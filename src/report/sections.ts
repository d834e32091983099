// The report's sections other than the sample images: headline numbers, training curves, evaluation
// charts, mining quality, timings and configuration. Each returns HTML and says "not available yet"
// where the run has not produced its inputs.
import { HEADLINE_CLASSES } from "../eval/metrics.js";
import { duration, esc, paletteCss, pct, unavailable } from "./html.js";
import type { PseudoLabelQuality } from "./quality.js";
import type { EvalJson, MiningRecord, RunData, SegEval } from "./run-data.js";
import { barChart, lineChart, matrixHeatmap, type Series } from "./svg.js";
import { ERASING_PARTS } from "../stages/run-dir.js";

const num = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

function chart(svg: string, caption: string): string {
  const w = Number(/width="(\d+(?:\.\d+)?)"/.exec(svg)?.[1] ?? 0);
  const style = w ? ` style="width:${Math.ceil(w) + 30}px"` : "";
  return `<figure class="chart"${style}>${svg}<figcaption>${caption}</figcaption></figure>`;
}

/** The headline cards: mIoU, 7-class mIoU, pixel accuracy (with CRF beside), erasing, mining. */
export function headline(run: RunData): string {
  const ev = run.mainEval();
  const cards: string[] = [];
  const card = (label: string, value: string, sub: string, title?: string) =>
    `<div class="card"${title ? ` title="${esc(title)}"` : ""}><div class="label">${label}</div><div class="value">${value}</div><div class="sub">${sub}</div></div>`;
  if (ev) {
    const e = ev.value;
    const crf = e.crf_result ?? null;
    const split = esc(e.split ?? ev.name);
    const metric = (label: string, key: "miou" | "miou7" | "pixel_acc", title?: string) =>
      card(
        label,
        `${pct(e[key])}<small>%</small>`,
        crf && num(crf[key])
          ? `with CRF <b>${pct(crf[key])}%</b> · ${split}`
          : `${split}${num(e.images) ? `, ${e.images} images` : ""}`,
        title,
      );
    cards.push(metric("mIoU", "miou", "mean intersection-over-union over the classes present"));
    if (e.headline) {
      const h = e.headline;
      const c = crf?.headline;
      cards.push(
        card(
          `${h.classes.length}-class mIoU`,
          `${pct(h.miou)}<small>%</small>`,
          c && num(c.miou) ? `with CRF <b>${pct(c.miou)}%</b> · ${split}` : split,
          `classes: ${h.classes.join(", ")} (eval.headlineClasses)`,
        ),
      );
    } else if (!("headline" in e) && num(e.miou7)) {
      // An eval file from before eval.headlineClasses: its 7-class VOC subset.
      cards.push(metric("7-class mIoU", "miou7", `classes: ${HEADLINE_CLASSES.join(", ")}`));
    }
    cards.push(metric("Pixel accuracy", "pixel_acc"));
  } else {
    cards.push(card("mIoU", "–", "evaluation not available yet"));
  }
  const steps = run.steps();
  const dones = steps.map((t) => ({ t, d: run.stepDone(t) })).filter((s) => s.d);
  const used = dones.filter((s) => !s.d!.stopped);
  const stopped = dones.find((s) => s.d!.stopped);
  if (dones.length) {
    const last = used.at(-1)?.d;
    cards.push(
      card(
        "Erasing steps",
        `${used.length}`,
        stopped
          ? `stopped at step ${stopped.t}`
          : num(last?.final_map)
            ? `last classifier mAP ${pct(last.final_map)}%`
            : "finished",
        stopped?.d?.reason,
      ),
    );
  } else cards.push(card("Erasing steps", "–", "not available yet"));
  const mining = ev?.value.mining;
  if (Array.isArray(mining) && mining.length) {
    const m = mining.at(-1)!;
    cards.push(
      card(
        "Mined regions IoU",
        `${pct(m.iou)}<small>%</small>`,
        `precision ${pct(m.precision)} · recall ${pct(m.recall)}`,
        `foreground quality of the union of regions mined up to step ${m.t}`,
      ),
    );
  }
  return `<div class="cards">${cards.join("")}</div>`;
}

/** Legend of the dataset's classes in their palette colours (all of them, or the used ones when many). */
export function classLegend(classNames: string[], palette: Uint8Array, used?: Set<number>): string {
  const indices = classNames
    .map((_, i) => i)
    .filter((i) => classNames.length <= 40 || !used || used.has(i) || i === 0);
  const items = indices.map(
    (i) =>
      `<li><span class="swatch" style="background:${paletteCss(palette, i)}"></span>${esc(classNames[i])}</li>`,
  );
  items.push(
    `<li><span class="swatch" style="background:${paletteCss(palette, 255)}"></span>ignore / ambiguous (255)</li>`,
  );
  return `<ul class="legend" aria-label="Class colours">${items.join("")}</ul>`;
}

/** Classifier loss and training mAP per erasing step, and a table of the steps. */
export function classifierSection(run: RunData): string {
  const steps = run.steps();
  const loss: Series[] = [];
  const map: Series[] = [];
  const rows: string[] = [];
  const problems: string[] = [];
  for (const t of steps) {
    let m;
    try {
      m = run.classifierMetrics(t);
    } catch (err) {
      problems.push((err as Error).message);
    }
    const done = run.stepDone(t);
    const epochs = (m?.epochs ?? []).filter((e) => num(e.epoch));
    const lossPts = epochs.filter((e) => num(e.loss)).map((e): [number, number] => [e.epoch, e.loss!]);
    const mapPts = epochs.filter((e) => num(e.map)).map((e): [number, number] => [e.epoch, e.map!]);
    if (lossPts.length) loss.push({ name: `step ${t}`, points: lossPts });
    if (mapPts.length) map.push({ name: `step ${t}`, points: mapPts });
    const last = epochs.at(-1);
    const status = done
      ? done.stopped
        ? `stopped: ${esc(done.reason ?? "")}`
        : "done"
      : m
        ? "in progress"
        : "not started";
    rows.push(
      `<tr><td>${t}</td><td class="num">${epochs.length || "–"}</td><td class="num">${num(last?.loss) ? last.loss.toFixed(4) : "–"}</td>` +
        `<td class="num">${pct(last?.map ?? done?.final_map)}</td><td class="num">${num(m?.imagesPerSecond) ? m.imagesPerSecond.toFixed(1) : "–"}</td>` +
        `<td class="num">${num(m?.seconds) ? duration(m.seconds) : "–"}</td><td>${status}</td></tr>`,
    );
  }
  if (!steps.length) return unavailable("Classifier training", "no erasing step has started");
  const charts: string[] = [];
  charts.push(
    loss.length
      ? chart(
          lineChart({
            title: "Classifier loss per erasing step",
            series: loss,
            xLabel: "epoch",
            yLabel: "loss",
            integerX: true,
          }),
          "Multi-label classification loss per epoch; one curve per erasing step (steps ≥ 2 train on erased images).",
        )
      : unavailable("Classifier loss curves"),
  );
  charts.push(
    map.length
      ? chart(
          lineChart({
            title: "Classifier training mAP per erasing step",
            series: map,
            xLabel: "epoch",
            yLabel: "training mAP",
            percent: true,
            yMin: 0,
            yMax: 1,
            integerX: true,
          }),
          "Training mAP per epoch. As regions are erased the classifier finds less evidence, so mAP drops; " +
            "erasing stops when it falls below <code>erasing.stopMapRatio</code> × step 1's.",
        )
      : unavailable("Classifier mAP curves"),
  );
  return (
    `<div class="charts">${charts.join("")}</div>` +
    problems.map((p) => `<p class="na err">${esc(p)}</p>`).join("") +
    `<div class="scroll" style="margin-top:16px"><table><thead><tr><th>Step</th><th class="num">Epochs</th><th class="num">Final loss</th><th class="num">Final mAP %</th><th class="num">Images/s</th><th class="num">Time</th><th>Status</th></tr></thead><tbody>${rows.join("")}</tbody></table></div>`
  );
}

/** Segmentation training loss (and the PSL loss when present). */
/** Pseudo-label quality against the ground truth, as a small table. */
export function pseudoLabelBox(pl: PseudoLabelQuality | undefined, plSplit?: string | null): string {
  return pl
    ? `<figure class="chart" style="width:330px"><table><tbody>` +
        `<tr><td>pixels labelled</td><td class="num">${pct(pl.coverage)}%</td></tr>` +
        `<tr><td>of those, correct</td><td class="num">${pct(pl.accuracy)}%</td></tr>` +
        `<tr><td>foreground precision</td><td class="num">${pct(pl.fgPrecision)}%</td></tr>` +
        `<tr><td>foreground recall</td><td class="num">${pct(pl.fgRecall)}%</td></tr>` +
        `</tbody></table><figcaption>Pseudo-labels against the ground truth of ${pl.images} image${pl.images === 1 ? "" : "s"}${plSplit ? ` of <b>${esc(plSplit)}</b>` : ""}` +
        `${pl.images >= pl.limit ? ` (the first ${pl.limit} by id)` : ""}; unlabelled (ignored) pixels are left out of training.</figcaption></figure>`
    : "";
}

/** Pseudo-label quality and the segmentation training loss (and the PSL loss when present). */
export function segmentationSection(run: RunData, plBox = ""): string {
  const m = run.json<{
    epochs?: Array<{ epoch: number; loss?: number; pslLoss?: number; seconds?: number }>;
  }>("segmentation/metrics.json");
  const epochs = (m?.epochs ?? []).filter((e) => num(e.epoch));
  if (!epochs.length)
    return (
      unavailable("Segmentation training", "segmentation/metrics.json has no epochs") +
      (plBox ? `<div class="charts">${plBox}</div>` : "")
    );
  const series: Series[] = [
    { name: "total loss", points: epochs.filter((e) => num(e.loss)).map((e) => [e.epoch, e.loss!]) },
  ];
  const psl = epochs.filter((e) => num(e.pslLoss)).map((e): [number, number] => [e.epoch, e.pslLoss!]);
  if (psl.length) series.push({ name: "PSL loss", points: psl, dashed: true });
  const secs = epochs.reduce((a, e) => a + (num(e.seconds) ? e.seconds : 0), 0);
  return (
    `<div class="charts">` +
    chart(
      lineChart({
        title: "Segmentation training loss",
        series,
        xLabel: "epoch",
        yLabel: "loss",
        integerX: true,
      }),
      `Segmentation network trained on the pseudo-labels${psl.length ? "; the dashed curve is the PSL (image-level classification) term" : ""}. ` +
        `${epochs.length} epochs${secs ? `, ${duration(secs)}` : ""}.`,
    ) +
    plBox +
    `</div>`
  );
}

function iouChart(e: EvalJson, classNames: string[], palette: Uint8Array): string {
  const crf = e.crf_result ?? null;
  const per = e.per_class ?? {};
  const perCrf = crf?.per_class ?? {};
  const names = classNames.filter((n) => (per[n] ?? null) !== null || (perCrf[n] ?? null) !== null);
  const extra = Object.keys(per).filter((n) => !classNames.includes(n) && per[n] !== null);
  const all = [...names, ...extra];
  if (!all.length) return unavailable("Per-class IoU", "no class has an IoU");
  const groups = all.map((n) => {
    const i = classNames.indexOf(n);
    return {
      label: n,
      swatch: i >= 0 ? paletteCss(palette, i) : undefined,
      values: crf ? [per[n] ?? null, perCrf[n] ?? null] : [per[n] ?? null],
    };
  });
  groups.push({
    label: "mean (mIoU)",
    swatch: undefined,
    values: crf ? [e.miou, crf.miou] : [e.miou],
    bold: true,
  } as never);
  const skipped = classNames.length - names.length;
  return chart(
    barChart({
      title: "Per-class IoU",
      groups,
      seriesNames: crf ? ["without CRF", "with CRF"] : ["IoU"],
      percent: true,
    }),
    `Intersection over union per class on <b>${esc(e.split ?? "")}</b>` +
      (skipped > 0
        ? ` (${skipped} class${skipped > 1 ? "es" : ""} absent from both ground truth and prediction left out)`
        : "") +
      ".",
  );
}

function confusionChart(
  cm: number[][] | undefined,
  classNames: string[],
  title: string,
  caption: string,
): string {
  if (!Array.isArray(cm) || !cm.length) return unavailable(title);
  const n = cm.length;
  const rowSums = cm.map((r) => r.reduce((a, v) => a + (num(v) ? v : 0), 0));
  const colSums = Array.from({ length: n }, (_, c) => cm.reduce((a, r) => a + (num(r[c]) ? r[c] : 0), 0));
  const keep = Array.from({ length: n }, (_, i) => i).filter((i) => rowSums[i] > 0 || colSums[i] > 0);
  if (!keep.length) return unavailable(title, "the matrix is empty");
  const values = keep.map((r) => keep.map((c) => (rowSums[r] > 0 ? (cm[r][c] ?? 0) / rowSums[r] : 0)));
  return chart(
    matrixHeatmap({
      title,
      labels: keep.map((i) => classNames[i] ?? `class ${i}`),
      values,
      rowTotals: keep.map((i) => rowSums[i]),
    }),
    caption +
      (keep.length < n
        ? ` Classes neither in the ground truth nor predicted (${n - keep.length}) are left out.`
        : ""),
  );
}

/** Per-class IoU bars (± CRF) and the confusion matrices. */
export function evaluationSection(run: RunData, classNames: string[], palette: Uint8Array): string {
  const ev = run.mainEval();
  if (!ev)
    return unavailable(
      "Evaluation",
      "no eval/*.json yet (the run has not reached evaluation, or has no eval split)",
    );
  const e = ev.value;
  const crf: SegEval | null = e.crf_result ?? null;
  const parts = [iouChart(e, classNames, palette)];
  parts.push(
    confusionChart(
      e.confusion,
      classNames,
      "Confusion matrix (without CRF)",
      "Rows: ground-truth class, columns: predicted class; each row normalised to 100% (cell = % of that class's pixels).",
    ),
  );
  const crfMatrix = crf?.confusion
    ? `<details><summary>Confusion matrix with CRF</summary><div class="charts" style="margin-top:10px">${confusionChart(
        crf.confusion,
        classNames,
        "Confusion matrix (with CRF)",
        "The same after dense-CRF post-processing.",
      )}</div></details>`
    : "";
  return `<p class="lead">Split <b>${esc(e.split ?? ev.name)}</b>${num(e.images) ? `, ${e.images} images` : ""}${crf ? "; with and without dense CRF" : ""}.</p><div class="charts">${parts.join("")}</div>${crfMatrix}`;
}

/** Precision / recall / IoU of the mined regions (union up to each step) against the ground truth. */
export function miningSection(run: RunData): string {
  const ev = run.mainEval();
  const mining = ev?.value.mining;
  if (!Array.isArray(mining) || !mining.length)
    return unavailable(
      "Mining quality per step",
      "it is measured at evaluation, on images with ground truth",
    );
  const ok = mining.filter((m): m is MiningRecord => num(m?.t));
  const series: Series[] = (["precision", "recall", "iou"] as const).map((k) => ({
    name: k === "iou" ? "IoU" : k,
    points: ok.filter((m) => num(m[k])).map((m): [number, number] => [m.t, m[k]]),
  }));
  const classes = [...new Set(ok.flatMap((m) => Object.keys(m.per_class ?? {})))];
  const head = ok.map((m) => `<th class="num">≤ step ${m.t}</th>`).join("");
  const cell = (q: { precision?: number; recall?: number; iou?: number } | undefined) =>
    q
      ? `<td class="num" title="precision ${pct(q.precision)}%, recall ${pct(q.recall)}%, IoU ${pct(q.iou)}%">${pct(q.precision, 0)} / ${pct(q.recall, 0)} / <b>${pct(q.iou, 0)}</b></td>`
      : `<td class="num">–</td>`;
  const rows = classes.map(
    (c) => `<tr><td>${esc(c)}</td>${ok.map((m) => cell(m.per_class?.[c])).join("")}</tr>`,
  );
  rows.push(`<tr class="total"><td>foreground</td>${ok.map((m) => cell(m)).join("")}</tr>`);
  const split = esc(ev!.value.split ?? ev!.name);
  return (
    `<div class="charts">` +
    chart(
      lineChart({
        title: "Mined-region quality per erasing step",
        series,
        xLabel: "erasing step",
        yLabel: "foreground",
        percent: true,
        yMin: 0,
        yMax: 1,
        integerX: true,
      }),
      `Foreground precision, recall and IoU of the union of regions mined up to each step, against the ground truth of <b>${split}</b>. ` +
        "Adversarial erasing should raise recall step by step while keeping precision.",
    ) +
    (classes.length
      ? `<figure class="chart"><div class="scroll"><table><thead><tr><th>Class</th>${head}</tr></thead><tbody>${rows.join("")}</tbody></table></div>` +
        `<figcaption>Per class: precision / recall / <b>IoU</b> (%) of the mined regions (union up to each step) on <b>${split}</b>.</figcaption></figure>`
      : "") +
    `</div>`
  );
}

/** The finite-number entries of a JSON object (none for anything else). */
const numericEntries = (o: unknown): [string, number][] =>
  o && typeof o === "object" ? Object.entries(o).filter((e): e is [string, number] => num(e[1])) : [];

/** Stage timings as a table with proportional bars. */
export function timingsSection(run: RunData): string {
  const t = run.json<Record<string, unknown>>("timings.json");
  const entries = numericEntries(t);
  if (!entries.length) return unavailable("Timings");
  const total = entries.reduce((a, [, v]) => a + v, 0);
  const max = Math.max(...entries.map(([, v]) => v));
  const row = (label: string, v: number) =>
    `<tr><td>${label}</td><td class="num">${duration(v)}</td><td class="num">${pct(total ? v / total : 0, 0)}%</td>` +
    `<td class="bar-cell"><div class="bar" style="width:${((v / max) * 100).toFixed(1)}%"></div></td></tr>`;
  // The erasing stage's parts follow its row, indented; its own time already includes them.
  const partRows = numericEntries(t?.[ERASING_PARTS]).map(([k, v]) => row(`&emsp;${esc(k)}`, v));
  const rows = entries.map(([k, v]) => row(esc(k), v) + (k === "erasing" ? partRows.join("") : ""));
  return `<div class="scroll"><table><thead><tr><th>Stage</th><th class="num">Time</th><th class="num">Share</th><th></th></tr></thead><tbody>${rows.join("")}<tr class="total"><td>total</td><td class="num">${duration(total)}</td><td></td><td></td></tr></tbody></table></div>`;
}

/** The resolved configuration as pretty JSON, and the end of the log. */
export function configSection(run: RunData): string {
  const cfg = run.json<Record<string, unknown>>("config.json");
  const ds = run.jsonQuiet<Record<string, unknown>>("dataset.json");
  const parts: string[] = [];
  parts.push(
    cfg
      ? `<details><summary>Configuration (<code>config.json</code>)</summary><pre>${esc(JSON.stringify(cfg, null, 2))}</pre></details>`
      : unavailable("Configuration"),
  );
  if (ds) {
    const { palette: _palette, ...rest } = ds;
    parts.push(
      `<details><summary>Dataset (<code>dataset.json</code>, palette left out)</summary><pre>${esc(JSON.stringify(rest, null, 2))}</pre></details>`,
    );
  }
  const log = run.logTail(60);
  if (log)
    parts.push(
      `<details><summary>End of the log (<code>log.txt</code>)</summary><pre>${esc(log)}</pre></details>`,
    );
  return parts.join("");
}
