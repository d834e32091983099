// npm run bench:quality — the segmentation quality table on the VOC protocol (continues bench:mine's run):
// segmentation networks trained on pseudo-labels from 1, 2, 3 erasing steps, with and without PSL, and
// the fully-supervised bound, each evaluated on the 440 train.txt images with and without dense CRF.
// Each row trains in its own resumable folder: <run>/quality/<row> (runs/voc by default).
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { packageRoot } from "../src/engine/native.js";
import { engineInfo } from "../src/engine/ops.js";
import type { DatasetItem } from "../src/data/dataset.js";
import { imageSize } from "../src/data/image.js";
import { readGroundTruthMask } from "../src/data/mask.js";
import { readIndexedPng, writeIndexedPng } from "../src/data/png.js";
import { Segmenter } from "../src/segmenter.js";
import { evaluateSegmenter, type EvaluationResult } from "../src/stages/evaluate.js";
import { completedSteps, type StepSummary } from "../src/stages/mine.js";
import { makePseudoLabels, needsSaliency } from "../src/stages/pseudo-labels.js";
import { computeSaliencyMaps, readSaliencyMap } from "../src/stages/saliency.js";
import { readDone, readJson, stepDir, writeJson } from "../src/stages/run-dir.js";
import {
  imageLevelScores,
  pslNeedsScores,
  pslScoreStepOf,
  trainSegmentation,
} from "../src/stages/train-seg.js";
import { CRF_DEFAULTS } from "../src/postprocess/crf.js";
import { applyOverrides, defaultConfig } from "../src/util/config.js";
import { writeFileAtomicSync } from "../src/util/fs.js";
import { benchSegmentation, keepSupersededResults, sectionOverrides, writeBenchResults } from "./common.js";
import {
  setupDifferences,
  TWO_SEED_FIELDS,
  twoSeedFields,
  type SeedResult,
  type TwoSeedFields,
} from "./two-seed.js";
import { oracleFill, type OracleScope } from "./erasing-ceiling.js";
import { CLASSIFIER, ERASING, fmt, HEADLINE_CLASSES, HEADLINE_LABEL, loadProtocol, RUN_DIR } from "./voc.js";

// BENCH_PSEUDO="background=both-multiclass,bgThreshold=0.3" trains the pseudo-label rows on other
// pseudoLabels settings (--set style, validated like the CLI's), in their own folder and result files
// (quality-pl-<settings>…); the fully-supervised rows, which do not depend on them, stay in quality.*.
const PSEUDO_SET = process.env.BENCH_PSEUDO?.trim() ?? "";
const PSEUDO = applyOverrides(
  defaultConfig(),
  sectionOverrides("pseudoLabels", PSEUDO_SET, "bench:quality (BENCH_PSEUDO)"),
).pseudoLabels;
// AEPSL_BENCH_RUN=<another run folder> (e.g. bench:mining-rules' runs/voc-ungated): its rows go to
// quality-run-<folder>… so they never overwrite the protocol run's files.
const OTHER_RUN = resolve(RUN_DIR) !== resolve(packageRoot, "runs", "voc");
const RUN_SUFFIX = OTHER_RUN ? `-run-${basename(RUN_DIR).replace(/[^A-Za-z0-9.]+/g, "-")}` : "";
// BENCH_PSL_STEP=t: PSL's scores from step t's classifier (see pslStep below).
const PSL_STEP_SET = process.env.BENCH_PSL_STEP?.trim() ?? "";
const PSEUDO_SUFFIX = PSEUDO_SET ? `-pl-${PSEUDO_SET.replace(/[^A-Za-z0-9.]+/g, "-")}` : "";
// The default segmentation settings at 2 epochs; BENCH_SEG="pslMinConfidence=0.5" or "epochs=4" trains
// the rows on other settings (benchSegmentation), in their own folder and result files (quality-seg-…).
const SEG_SET = process.env.BENCH_SEG?.trim() ?? "";
const SEG_SUFFIX = SEG_SET ? `-seg-${SEG_SET.replace(/[^A-Za-z0-9.]+/g, "-")}` : "";
const SALIENCY = defaultConfig().saliency;
const SEG = benchSegmentation(SEG_SET);

interface Row {
  name: string;
  /** Erasing steps whose regions make the pseudo-labels; null = ground-truth masks. */
  steps: number[] | null;
  psl: boolean;
  crf: boolean;
  /** Row whose trained model this row reuses (CRF rows evaluate the same network). */
  model: string;
  /**
   * A ceiling, not a method: the pseudo-labels' ignored pixels within this scope get their ground-truth
   * class (bench:erasing-ceiling's oracleFill), i.e. what a perfect extra mining step could add.
   */
  oracle?: OracleScope;
}

/** The pseudo-labels of `from` with oracleFill applied, into `to` (resumable image by image). */
async function writeOracleLabels(
  from: string,
  to: string,
  items: DatasetItem[],
  palette: Uint8Array,
  scope: OracleScope,
  salDir: string,
): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const item of items) {
    const out = join(to, `${item.id}.png`);
    if (existsSync(out)) continue;
    if (!item.maskPath) throw new Error(`${item.imagePath}: an oracle row needs the image's mask`);
    const label = await readIndexedPng(join(from, `${item.id}.png`));
    const gt = (await readGroundTruthMask(item)).indices;
    const sal = await readSaliencyMap(salDir, item.id, label);
    const filled = oracleFill(label.indices, gt, sal, item.labels, scope);
    await writeIndexedPng(out, filled, label.width, label.height, palette);
  }
}

async function main(): Promise<void> {
  const p = await loadProtocol();
  const log = (l: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${l}`);
  const steps = completedSteps(RUN_DIR);
  if (!steps.length) throw new Error(`no erasing steps in ${RUN_DIR}: run npm run bench:mine first`);
  // Pseudo-labels as `aepsl run` makes them: the default configuration (U²-Netp cue, gated regions,
  // single-class salient fill), from the run folder's saliency maps (computed here if missing).
  const salDir = join(RUN_DIR, "saliency");
  if (needsSaliency(PSEUDO)) {
    log(
      `saliency maps of the ${p.train.length} training images (${SALIENCY.detector}, ${SALIENCY.inputSize} px)`,
    );
    await computeSaliencyMaps({ dir: salDir, items: p.train, config: SALIENCY });
  }
  const pseudoKey = createHash("sha1")
    .update(JSON.stringify([PSEUDO, SALIENCY]))
    .digest("hex")
    .slice(0, 8);
  const upTo = (t: number) => steps.filter((s) => s <= t);
  const rows: Row[] = [
    { name: "cam-1step", steps: [1], psl: false, crf: false, model: "cam-1step" },
    { name: "ae-1", steps: [1], psl: false, crf: false, model: "cam-1step" },
    ...[2, 3, 4]
      .filter((t) => steps.includes(t))
      .map((t) => ({ name: `ae-${t}`, steps: upTo(t), psl: false, crf: false, model: `ae-${t}` })),
    // AE-3 without PSL, with CRF: beside ae-psl-crf it says what PSL adds once both get the CRF.
    ...(steps.includes(3)
      ? [{ name: "ae-3-crf", steps: upTo(3), psl: false, crf: true, model: "ae-3" }]
      : []),
    // What a perfect extra erasing step could give the segmentation: step 1's pseudo-labels with every
    // ignored pixel that the region gate would let a region reach given its true class.
    {
      name: "ae-1-oracle-ceiling",
      steps: [1],
      psl: false,
      crf: false,
      model: "ae-1-oracle-ceiling",
      oracle: { multiClassOnly: false, minSaliency: PSEUDO.regionSaliency },
    },
    { name: "ae-psl", steps, psl: true, crf: false, model: "ae-psl" },
    { name: "ae-psl-crf", steps, psl: true, crf: true, model: "ae-psl" },
    { name: "fully-supervised", steps: null, psl: false, crf: false, model: "fully-supervised" },
    { name: "fully-supervised-crf", steps: null, psl: false, crf: true, model: "fully-supervised" },
  ].filter((r) => !(PSEUDO_SET || OTHER_RUN) || r.steps);
  const only = process.env.BENCH_ROWS?.split(",");
  // BENCH_SEG_SEED=n retrains rows with another segmentation seed, in their own folder and result files,
  // to see how much one row varies from run to run.
  const seed = Number(process.env.BENCH_SEG_SEED ?? 0);
  const variant = `${RUN_SUFFIX}${PSEUDO_SUFFIX}${SEG_SUFFIX}${PSL_STEP_SET ? `-psl-step${PSL_STEP_SET}` : ""}`;
  const suffix = `${variant}${seed ? `-seed${seed}` : ""}`;
  const qDir = join(RUN_DIR, `quality${suffix}`);
  // BENCH_PSL_STEP=t takes PSL's image-level scores from step t's classifier (default: the step
  // segmentation.pslScoreStep picks, as the pipeline does); rows go to their own folder and files
  // (…-psl-step<t>).
  const pslStep = PSL_STEP_SET ? Number(PSL_STEP_SET) : pslScoreStepOf(steps, SEG.pslScoreStep);
  if (!steps.includes(pslStep))
    throw new Error(`BENCH_PSL_STEP=${pslStep}: no such finished step in ${RUN_DIR}`);
  const pslClassifier = join(RUN_DIR, "steps", String(pslStep), "classifier");
  // The settings each step was actually mined with (null: not recorded), so seeds of two
  // differently-mined runs are never averaged; read once, the steps do not change during the run.
  const mining = steps.map((t) => readDone<StepSummary>(stepDir(RUN_DIR, t)).mining ?? null);
  const results: Array<{
    name: string;
    miou: number;
    miou7: number;
    pixel_acc: number;
    seconds: number;
    train_seconds: number;
    per_class: Record<string, number | null>;
  }> = [];
  // Written after every row, so a partial run still leaves a table of what it measured.
  const report = (): void => {
    const byName = new Map(results.map((r) => [r.name, r]));
    const fs = byName.get("fully-supervised-crf") ?? byName.get("fully-supervised");
    const best = byName.get("ae-psl-crf") ?? byName.get("ae-psl");
    const info = engineInfo();
    // BENCH_ROWS goes into the command only when this run measured every row in the file: rows read
    // back from earlier runs need the full command to be reproduced from a fresh clone.
    const result = {
      command: `${OTHER_RUN ? `AEPSL_BENCH_RUN=${RUN_DIR} ` : ""}${PSEUDO_SET ? `BENCH_PSEUDO=${PSEUDO_SET} ` : ""}${SEG_SET ? `BENCH_SEG=${SEG_SET} ` : ""}${PSL_STEP_SET ? `BENCH_PSL_STEP=${PSL_STEP_SET} ` : ""}${seed ? `BENCH_SEG_SEED=${seed} ` : ""}${only && results.every((r) => only.includes(r.name)) ? `BENCH_ROWS=${only.join(",")} ` : ""}npm run bench:quality`,
      seed,
      date: new Date().toISOString(),
      machine: { threads: info.threads, torch: info.torchVersion },
      protocol: { train_images: p.train.length, eval_images: p.evaluation.length },
      segmentation: SEG,
      pseudo_labels: PSEUDO,
      saliency: SALIENCY,
      erasing_steps: steps,
      erasing: mining,
      psl_score_step: pslStep,
      rows: results,
      rows_not_measured: rows.filter((r) => !byName.has(r.name)).map((r) => r.name),
      ratio_to_fully_supervised_7class: best && fs ? best.miou7 / fs.miou7 : null,
    };
    const summary = twoSeedSummary(variant, seed, result);
    Object.assign(result, summary);
    const md = [
      "# Segmentation quality",
      "",
      `Train on ${p.train.length} images (image-level labels only, except fully-supervised rows), evaluate on the ${p.evaluation.length} train.txt images at original resolution.`,
      `Segmentation: DeepLab-LargeFOV head on MobileNetV2 OS${SEG.outputStride}, ${SEG.epochs} epochs, ${SEG.cropSize} px crops, SGD ${SEG.lrBackbone}/${SEG.lrHead} poly${SEG_SET ? `, ${SEG_SET}` : ""}. Pseudo-labels: ${PSEUDO_SET ? `the default configuration with ${PSEUDO_SET}` : "the default configuration"}, erasing steps ${steps.join(",")}${OTHER_RUN ? ` of ${RUN_DIR}` : ""} (background ${PSEUDO.background} < ${PSEUDO.bgThreshold}, regions gated at saliency ≥ ${PSEUDO.regionSaliency}, single-class salient fill ≥ ${PSEUDO.singleClassSaliency}; ${SALIENCY.detector} at ${SALIENCY.inputSize} px); PSL scores from step ${pslStep}'s classifier. ae-1 is the same network as cam-1step (step-1 regions). ae-1-oracle-ceiling is a ceiling, not a method: step 1's pseudo-labels with every ignored pixel at saliency ≥ ${PSEUDO.regionSaliency} given its ground-truth class (what a perfect extra erasing step could add under the region gate).`,
      "",
      `| row | mIoU (21) | mIoU (${HEADLINE_CLASSES.length}) | pixel acc. | seconds (incl. training) |`,
      "| --- | --- | --- | --- | --- |",
      ...results.map(
        (r) =>
          `| ${r.name} | ${fmt(r.miou)} | ${fmt(r.miou7)} | ${fmt(r.pixel_acc)} | ${r.seconds.toFixed(0)} |`,
      ),
      "",
      result.rows_not_measured.length ? `Not measured yet: ${result.rows_not_measured.join(", ")}.` : "",
      "",
      result.ratio_to_fully_supervised_7class !== null
        ? `AE + PSL (+CRF) reaches ${(result.ratio_to_fully_supervised_7class * 100).toFixed(0)}% of the fully-supervised ${HEADLINE_LABEL} mIoU (paper: 55.0 / 67.6 = 81%).`
        : "",
      summary.ws_fs_ratio_crf !== undefined
        ? `Two-seed means (seeds 0 and 1, same setup): AE + PSL + CRF ÷ fully supervised + CRF = ${summary.ws_fs_ratio_crf.toFixed(3)}.`
        : "",
      summary.ae3_fs_ratio_crf !== undefined
        ? `Two-seed means: AE-3 + CRF (no PSL, the default) ÷ fully supervised + CRF = ${summary.ae3_fs_ratio_crf.toFixed(3)}.`
        : "",
      summary.ae3_minus_ae1 !== undefined
        ? `Two-seed means: AE-3 − AE-1 = ${(summary.ae3_minus_ae1 * 100).toFixed(1)} points.`
        : "",
      summary.psl_gain !== undefined
        ? `Two-seed means: PSL adds ${(summary.psl_gain * 100).toFixed(1)} points to AE-3${summary.psl_gain_crf !== undefined ? ` (${(summary.psl_gain_crf * 100).toFixed(1)} with CRF on both)` : ""}.`
        : "",
      "",
    ].join("\n");
    writeBenchResults(`quality${suffix}`, result, md);
    // The seed-0 file (quality.json for the default) carries the two-seed means whichever seed
    // finished last.
    if (seed === 1) patchSeedZero(variant, summary);
  };
  // This run rewrites its results file from the rows qDir holds; rows measured on a run folder that is
  // gone would vanish from it, so the old file is kept under bench/results/history/ first.
  const kept = keepSupersededResults(join(packageRoot, "bench", "results"), `quality${suffix}`, (name) =>
    existsSync(join(qDir, `${name}.result.json`)),
  );
  if (kept) log(`earlier rows of quality${suffix} measured on a folder that is gone: kept in ${kept}`);
  for (const row of rows) {
    const modelDir = join(qDir, row.model);
    const resultPath = join(qDir, `${row.name}.result.json`);
    if (existsSync(resultPath)) {
      results.push(readJson(resultPath));
      continue;
    }
    if (only && !only.includes(row.name)) continue;
    const t0 = performance.now();
    let labels: string | "ground-truth" = "ground-truth";
    if (row.steps) {
      labels = join(qDir, `pseudo-${pseudoKey}-${row.steps.join("")}`);
      log(
        `${row.name}: pseudo-labels from steps ${row.steps.join(",")} (${PSEUDO_SET || "default configuration"})`,
      );
      await makePseudoLabels({
        runDir: RUN_DIR,
        outDir: labels,
        items: p.train,
        steps: row.steps,
        overlap: ERASING.overlap,
        palette: p.palette,
        config: PSEUDO,
        saliency: async (item) => readSaliencyMap(salDir, item.id, await imageSize(item.imagePath)),
      });
      if (row.oracle) {
        const oracleDir = `${labels}-oracle-${row.oracle.multiClassOnly ? "multi" : "all"}-${row.oracle.minSaliency}`;
        log(`${row.name}: ignored pixels given their true class (a ceiling, from the masks)`);
        await writeOracleLabels(labels, oracleDir, p.train, p.palette, row.oracle, salDir);
        labels = oracleDir;
      }
    }
    const scores = pslNeedsScores({ ...SEG, psl: row.psl })
      ? await imageLevelScores(
          pslClassifier,
          p.train,
          p.classNames.length,
          CLASSIFIER.outputStride,
          // Keyed by the classifier's step: the run folder gains steps between bench runs.
          join(RUN_DIR, `psl-scores-step${pslStep}.json`),
        )
      : undefined;
    log(`${row.name}: training the segmentation network (${SEG.epochs} epochs${row.psl ? ", PSL" : ""})`);
    const train = await trainSegmentation({
      dir: modelDir,
      items: p.train,
      numClasses: p.classNames.length,
      classNames: p.classNames,
      palette: p.palette,
      labels,
      scores,
      config: { ...SEG, psl: row.psl },
      seed,
      fill: p.meanPixel,
      log,
    });
    log(`${row.name}: evaluating on ${p.evaluation.length} images${row.crf ? " with CRF" : ""}`);
    const seg = await Segmenter.load(modelDir);
    let ev: EvaluationResult;
    try {
      ev = await evaluateSegmenter(seg, p.evaluation, {
        crf: row.crf ? CRF_DEFAULTS : false,
        headlineClasses: HEADLINE_CLASSES,
      });
    } finally {
      seg.dispose();
    }
    const r = {
      name: row.name,
      miou: ev.miou,
      miou7: ev.headline!.miou,
      pixel_acc: ev.pixel_acc,
      seconds: (performance.now() - t0) / 1000,
      train_seconds: train.seconds,
      per_class: ev.per_class,
    };
    await writeJson(resultPath, r);
    results.push(r);
    report();
    log(`${row.name}: mIoU ${fmt(r.miou)} (${HEADLINE_LABEL} ${fmt(r.miou7)})`);
  }
  report();
}

const RESULTS_DIR = join(packageRoot, "bench", "results");

/**
 * Issue #11's two-seed fields (bench/two-seed.ts) of this variant, from this seed's result and the other
 * seed's file (seed 0: quality<variant>.json, seed 1: quality<variant>-seed1.json); {} for other seeds,
 * while the other file is missing, or when the two measured different setups (said on stderr).
 */
function twoSeedSummary(variant: string, seed: number, current: SeedResult): TwoSeedFields {
  if (seed > 1) return {};
  const otherFile = join(RESULTS_DIR, `quality${variant}${seed === 0 ? "-seed1" : ""}.json`);
  if (!existsSync(otherFile)) return {};
  const other = readJson<SeedResult>(otherFile);
  other.rows ??= [];
  const differ = setupDifferences(current, other);
  if (differ.length) {
    console.error(
      `bench:quality: ${basename(otherFile)} measured another setup (${differ.join(", ")}): no two-seed means`,
    );
    return {};
  }
  return twoSeedFields(current, other);
}

function patchSeedZero(variant: string, summary: TwoSeedFields): void {
  const file = join(RESULTS_DIR, `quality${variant}.json`);
  if (!existsSync(file)) return;
  const q = readJson<Record<string, unknown>>(file);
  for (const f of TWO_SEED_FIELDS) delete q[f];
  Object.assign(q, summary);
  writeFileAtomicSync(file, JSON.stringify(q, null, 2) + "\n");
}

await main();
