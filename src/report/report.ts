// The run report: one static HTML page (<run>/report/index.html) with its pictures beside it in
// report/img/. It opens from disk: no server, no external URLs, the stylesheet inlined and the charts
// inline SVG. Every section works from whatever the run has produced so far and says "not available
// yet" for the rest, so the report can be written at any stage. Writes only under <run>/report/.
import { existsSync, readdirSync } from "node:fs";
import { rm } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import type { OverlapRule } from "../stages/regions.js";
import { writeFileAtomic } from "../util/fs.js";
import {
  classLegend,
  classifierSection,
  configSection,
  evaluationSection,
  headline,
  miningSection,
  pseudoLabelBox,
  segmentationSection,
  timingsSection,
} from "./sections.js";
import { esc, failed, STYLESHEET, unavailable } from "./html.js";
import { pseudoLabelQuality, type PseudoLabelQuality } from "./quality.js";
import { RunData } from "./run-data.js";
import { ImageSink, renderSample, selectSamples } from "./samples.js";

export interface ReportOptions {
  /** How many images to show in detail (default 8). */
  sample?: number;
}

export const DEFAULT_SAMPLE = 8;

/** Runs a section builder; an unreadable input becomes a note in that section instead of an error. */
async function safely(what: string, build: () => string | Promise<string>): Promise<string> {
  try {
    return await build();
  } catch (err) {
    return failed(what, err);
  }
}

/**
 * Writes <runDir>/report/index.html (and report/img/*) for a run folder at any stage; returns the
 * page's path. `o.sample` images are shown in detail, from the eval split when the run has one.
 */
export async function writeReport(runDir: string, o: ReportOptions = {}): Promise<string> {
  const dir = resolve(runDir);
  if (!existsSync(dir)) throw new Error(`${dir}: run folder not found`);
  const reportDir = join(dir, "report");
  const page = join(reportDir, "index.html");
  const count = Math.max(0, Math.min(200, Math.floor(o.sample ?? DEFAULT_SAMPLE)));
  const run = new RunData(dir);
  const classNames = run.classNames;
  const palette = run.palette;
  const sink = new ImageSink(reportDir);

  // Sample images.
  let samplesHtml: string;
  let sampleNote = "";
  let used: Set<number> | undefined;
  let plQuality: PseudoLabelQuality | undefined;
  let plSplit: string | null = null;
  try {
    const sel = await selectSamples(run, count);
    const predictionSplit = sel.split ?? undefined;
    plSplit = sel.split;
    plQuality = await pseudoLabelQuality(run, sel.all).catch(() => undefined);
    const overlap: OverlapRule = run.config?.erasing?.overlap === "ignore" ? "ignore" : "higher-cam";
    const cards: string[] = [];
    used = new Set();
    for (let k = 0; k < sel.items.length; k++) {
      const item = sel.items[k];
      for (const c of item.labels) used.add(c);
      cards.push(
        await safely(`Image ${item.id}`, () =>
          renderSample({ run, sink, classNames, palette, predictionSplit, overlap }, item, k),
        ),
      );
    }
    const from =
      sel.role === "eval"
        ? `the evaluation split <b>${esc(sel.split)}</b>`
        : sel.role === "train"
          ? `the training images${sel.split ? ` (split <b>${esc(sel.split)}</b>)` : ""}`
          : "the images the run holds";
    sampleNote =
      `${sel.items.length} image${sel.items.length === 1 ? "" : "s"} from ${from}, spread evenly over the split (sorted by id). ` +
      "Each row of a card is one erasing step: the CAM of every labelled class on the image the classifier saw at that step " +
      "(blue low, red high; the classifier's score for the class below it), the regions mined at that step, and the image with all regions " +
      "mined so far erased (filled with the mean pixel) — the next step's input." +
      (sel.note ? ` <span class="why">Note: ${esc(sel.note)}.</span>` : "");
    samplesHtml = cards.length
      ? cards.join("")
      : unavailable("Sample images", count ? "no images found" : "--sample 0");
  } catch (err) {
    samplesHtml = failed("Sample images", err);
  }

  const sections: Array<{ id: string; title: string; body: string; lead?: string }> = [
    {
      id: "samples",
      title: "Images, step by step",
      lead: sampleNote,
      body: `<div class="legend-box">${classLegend(classNames, palette, used)}</div>` + samplesHtml,
    },
    {
      id: "classifier",
      title: "Classifier (adversarial erasing)",
      body: await safely("Classifier training", () => classifierSection(run)),
    },
    {
      id: "mining",
      title: "Mined regions",
      body: await safely("Mining quality", () => miningSection(run)),
    },
    {
      id: "segmentation",
      title: "Pseudo-labels and segmentation",
      body: await safely("Segmentation training", () =>
        segmentationSection(run, pseudoLabelBox(plQuality, plSplit)),
      ),
    },
    {
      id: "evaluation",
      title: "Evaluation",
      body: await safely("Evaluation", () => evaluationSection(run, classNames, palette)),
    },
    { id: "timings", title: "Timings", body: await safely("Timings", () => timingsSection(run)) },
    { id: "config", title: "Configuration", body: await safely("Configuration", () => configSection(run)) },
  ];

  const ds = run.dataset;
  const subtitle = [
    `run <code>${esc(dir)}</code>`,
    ds?.root ? `dataset <code>${esc(ds.root)}</code>` : "",
    ds && typeof ds.trainImages === "number"
      ? `${ds.trainImages} training images${ds.evalSplit ? `, ${ds.evalImages ?? "?"} in “${esc(ds.evalSplit)}”` : ""}`
      : "",
    `written ${esc(new Date().toISOString().replace("T", " ").slice(0, 16))} UTC`,
  ].filter(Boolean);
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="aepsl report">
<title>${esc(basename(dir))} · aepsl report</title>
<style>${STYLESHEET}</style>
</head>
<body>
<header class="top"><div class="wrap">
<h1>AE-PSL run report · ${esc(basename(dir))}</h1>
<p>${subtitle.join(" · ")}</p>
</div></header>
<nav class="toc" aria-label="Sections"><div class="wrap"><ul>
<li><a href="#summary">Summary</a></li>
${sections.map((s) => `<li><a href="#${s.id}">${esc(s.title)}</a></li>`).join("\n")}
</ul></div></nav>
<main class="wrap">
<section id="summary" aria-label="Summary">${await safely("Summary", () => headline(run))}</section>
${sections
  .map(
    (s) =>
      `<section id="${s.id}">\n<h2>${esc(s.title)}</h2>\n${s.lead ? `<p class="lead">${s.lead}</p>\n` : ""}${s.body}\n</section>`,
  )
  .join("\n")}
</main>
<footer><div class="wrap">Made by <code>aepsl report</code> from the files in the run folder; regenerate with <code>aepsl report --run ${esc(dir)}</code>. Object Region Mining with Adversarial Erasing (Wei et al., CVPR 2017).</div></footer>
</body>
</html>
`;

  // Pictures from an earlier report that this one no longer shows.
  const imgDir = join(reportDir, "img");
  if (existsSync(imgDir))
    for (const f of readdirSync(imgDir))
      if (!sink.written.has(`img/${f}`)) await rm(join(imgDir, f), { force: true, recursive: true });
  await writeFileAtomic(page, html);
  return page;
}
