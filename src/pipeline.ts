// The whole method as one resumable pipeline over a run folder: classifier + adversarial erasing →
// pseudo-labels → segmentation with PSL → evaluation. Each stage is skipped when its folder is DONE.
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { imageSize } from "./data/image.js";
import { openDataset, validateDataset, type DatasetItem } from "./data/dataset.js";
import { meanPixel } from "./data/stats.js";
import type { CrfOptions } from "./postprocess/crf.js";
import { Segmenter } from "./segmenter.js";
import { evaluateMining } from "./stages/eval-mine.js";
import { evaluateSegmenter } from "./stages/evaluate.js";
import { completedSteps, runErasing } from "./stages/mine.js";
import { makePseudoLabels, needsSaliency } from "./stages/pseudo-labels.js";
import { computeSaliencyMaps, readSaliencyMap } from "./stages/saliency.js";
import {
  ERASING_PARTS,
  isDone,
  readJson,
  stageTimer,
  stepDir,
  writeJson,
  type RunTimings,
} from "./stages/run-dir.js";
import { imageLevelScores, pslNeedsScores, pslScoreStepOf, trainSegmentation } from "./stages/train-seg.js";
import { defaultConfig, type Config } from "./util/config.js";
import type { Logger } from "./util/log.js";
import type { ProgressBar } from "./util/progress.js";
import { useConfiguredDevice } from "./stages/device.js";

export interface DatasetInfo {
  root: string;
  classNames: string[];
  palette: number[];
  meanPixel: [number, number, number];
  trainSplit: string;
  /** Split whose ids were left out of training. */
  trainExclude?: string;
  trainImages: number;
  evalSplit?: string;
  evalImages: number;
}

export interface PreparedData {
  info: DatasetInfo;
  palette: Uint8Array;
  train: DatasetItem[];
  evaluation: DatasetItem[];
}

/** Opens and validates the dataset (all problems at once, or skipped with --skip-bad into skipped.json). */
export async function prepareData(runDir: string, config: Config, log: Logger): Promise<PreparedData> {
  const dir = config.data.dir;
  const load = async (split: string, exclude?: Set<string>, splitOptional = false) => {
    const ds = await openDataset(dir, { split, splitOptional });
    if (exclude) ds.items = ds.items.filter((it) => !exclude.has(it.id));
    const { items, skipped } = await validateDataset(ds, { skipBad: config.data.skipBad });
    return { ds, items, skipped };
  };
  const train = await load(
    config.data.trainSplit,
    await excludedIds(dir, config.data.trainExclude),
    config.data.trainSplit === defaultConfig().data.trainSplit, // only a split the user named must exist
  );
  const evaluation = config.data.evalSplit ? await load(config.data.evalSplit) : null;
  const skipped = [...train.skipped, ...(evaluation?.skipped ?? [])];
  if (skipped.length) {
    log.warn(`skipped ${skipped.length} bad item(s); see ${join(runDir, "skipped.json")}`);
    await writeJson(join(runDir, "skipped.json"), skipped);
  }
  // After the dataset checks, so a refused dataset leaves nothing but the saved configuration.
  const device = await useConfiguredDevice(runDir, config);
  log.info(`device: ${device.device} (${device.reason})${config.amp ? ", amp bf16" : ""}`);
  const infoPath = join(runDir, "dataset.json");
  const info: DatasetInfo = existsSync(infoPath)
    ? readJson<DatasetInfo>(infoPath)
    : {
        root: train.ds.root,
        classNames: train.ds.classes.names,
        palette: Array.from(train.ds.classes.palette),
        meanPixel: await meanPixel(train.items),
        trainSplit: config.data.trainSplit,
        ...(config.data.trainExclude ? { trainExclude: config.data.trainExclude } : {}),
        trainImages: train.items.length,
        evalSplit: config.data.evalSplit,
        evalImages: evaluation?.items.length ?? 0,
      };
  await writeJson(infoPath, info);
  return { info, palette: train.ds.classes.palette, train: train.items, evaluation: evaluation?.items ?? [] };
}

/** The ids of data.trainExclude's split (a missing or empty split file is an error, not "exclude nothing"). */
async function excludedIds(dir: string, split: string | undefined): Promise<Set<string> | undefined> {
  if (!split) return undefined;
  const ds = await openDataset(dir, { split });
  const fatal = ds.problems.find((p) => p.id === undefined);
  if (fatal) throw fatal.error;
  return new Set(ds.items.map((it) => it.id));
}

/** Progress bars keyed by stage label, created on first report and finished on the last. */
export function stageProgress(log: Logger) {
  const bars = new Map<string, ProgressBar>();
  return (stage: string, done: number, total: number, metrics?: Record<string, number>) => {
    let bar = bars.get(stage);
    if (!bar) {
      bar = log.progress({ label: stage, total, unit: stage.includes("train") ? "step" : "img" });
      bars.set(stage, bar);
    }
    bar.update(done, metrics);
    if (done >= total) {
      bar.done();
      bars.delete(stage);
    }
  };
}

export function crfOptions(config: Config): CrfOptions {
  const { iterations, w1, thetaAlpha, thetaBeta, w2, thetaGamma } = config.crf;
  return { iterations, w1, thetaAlpha, thetaBeta, w2, thetaGamma };
}

export interface PipelineResult {
  runDir: string;
  steps: number[];
  evaluation?: Record<string, unknown>;
  timings: RunTimings;
}

/** Pipeline stages in order; `until` stops after one of them (the per-stage CLI commands). */
export const STAGES = ["train-cls", "cam", "mine", "saliency", "pseudo-labels", "train-seg", "eval"] as const;
export type Stage = (typeof STAGES)[number];

export async function runPipeline(
  runDir: string,
  config: Config,
  log: Logger,
  until: Stage = "eval",
): Promise<PipelineResult> {
  const reached = (stage: Stage) => STAGES.indexOf(stage) >= STAGES.indexOf(until);
  await mkdir(runDir, { recursive: true });
  const timingsPath = join(runDir, "timings.json");
  const timings: RunTimings = existsSync(timingsPath) ? readJson(timingsPath) : {};
  const erasingParts = (timings[ERASING_PARTS] ??= {}) as Record<string, number>;
  const timed = stageTimer(timingsPath, timings, timings as Record<string, number>);
  const onStep = stageProgress(log);
  const data = await timed("prepare", () => prepareData(runDir, config, log));
  const { info } = data;
  log.info(
    `data: ${info.trainImages} training images${info.trainExclude ? ` ('${info.trainSplit}' minus '${info.trainExclude}')` : ""}${info.evalSplit ? `, ${info.evalImages} in '${info.evalSplit}'` : ""}; ` +
      `${info.classNames.length} classes; mean pixel ${info.meanPixel.join(",")}`,
  );
  const numClasses = info.classNames.length;

  if (until === "train-cls") {
    const { trainClassifier } = await import("./stages/train-cls.js");
    const dir = join(stepDir(runDir, 1), "classifier");
    if (!isDone(dir))
      await timed("train-cls", () =>
        trainClassifier({
          dir,
          items: data.train,
          numClasses,
          config: config.classifier,
          seed: config.seed + 1,
          log: (l) => log.info(l),
          onStep: (d, n, m) => onStep("step 1 train-cls", d, n, m),
        }),
      );
    return { runDir, steps: [], timings };
  }

  await timed("erasing", () =>
    runErasing({
      runDir,
      trainItems: data.train,
      extraItems: data.evaluation,
      numClasses,
      palette: data.palette,
      classifier: config.classifier,
      erasing: until === "cam" ? { ...config.erasing, steps: 1 } : config.erasing,
      cam: { scales: config.cam.scales, flip: config.cam.flip },
      seed: config.seed,
      fill: info.meanPixel,
      log: (l) => log.info(l),
      onStep,
      time: stageTimer(timingsPath, timings, erasingParts),
    }),
  );
  const steps = completedSteps(runDir);
  if (!steps.length) throw new Error("erasing produced no usable step");
  if (until === "cam") {
    const evaluation = data.evaluation.some((it) => it.maskPath)
      ? await timed("eval-cam", () =>
          evaluateSeeds(runDir, info, data.evaluation, config.eval.headlineClasses, log),
        )
      : undefined;
    return { runDir, steps, evaluation, timings };
  }
  if (until === "mine") return { runDir, steps, timings };

  const labelItems = [...data.train, ...data.evaluation];
  const saliencyDir = join(runDir, "saliency");
  const pseudoDir = join(runDir, "pseudo-labels");
  const wantSaliency = needsSaliency(config.pseudoLabels) || until === "saliency";
  if (wantSaliency && !(isDone(saliencyDir) && isDone(pseudoDir))) {
    log.info(
      `saliency maps: ${config.saliency.detector}${config.saliency.detector === "u2netp" ? ` at ${config.saliency.inputSize} px` : ""}`,
    );
    await timed("saliency", () =>
      computeSaliencyMaps({
        dir: saliencyDir,
        items: labelItems,
        config: config.saliency,
        onImage: (d, n) => onStep("saliency", d, n),
      }),
    );
  }
  if (until === "saliency") return { runDir, steps, timings };

  if (!isDone(pseudoDir)) {
    log.info(
      `pseudo-labels from steps ${steps.join(", ")} (background cue: ${config.pseudoLabels.background})`,
    );
    await timed("pseudo-labels", () =>
      makePseudoLabels({
        runDir,
        outDir: pseudoDir,
        items: labelItems,
        steps,
        overlap: config.erasing.overlap,
        palette: data.palette,
        config: config.pseudoLabels,
        saliency: async (item) => readSaliencyMap(saliencyDir, item.id, await imageSize(item.imagePath)),
        onImage: (d, n) => onStep("pseudo-labels", d, n),
      }),
    );
  }

  if (reached("pseudo-labels")) return { runDir, steps, timings };

  const segDir = join(runDir, "segmentation");
  if (!isDone(segDir)) {
    const scoreStep = pslScoreStepOf(steps, config.segmentation.pslScoreStep);
    const scores = pslNeedsScores(config.segmentation)
      ? await timed("psl-scores", () =>
          imageLevelScores(
            join(stepDir(runDir, scoreStep), "classifier"),
            data.train,
            numClasses,
            config.classifier.outputStride,
            // Keyed by the step: another pslScoreStep on resume must not reuse these scores.
            join(runDir, `psl-scores-step${scoreStep}.json`),
          ),
        )
      : undefined;
    log.info(`training the segmentation network${config.segmentation.psl ? " with PSL" : ""}`);
    await timed("train-seg", () =>
      trainSegmentation({
        dir: segDir,
        items: data.train,
        numClasses,
        classNames: info.classNames,
        palette: data.palette,
        labels: pseudoDir,
        scores,
        config: config.segmentation,
        seed: config.seed,
        fill: info.meanPixel,
        log: (l) => log.info(l),
        onStep: (d, n, m) => onStep("train-seg", d, n, m),
      }),
    );
  }

  if (reached("train-seg")) return { runDir, steps, timings };
  let evaluation: Record<string, unknown> | undefined;
  if (data.evaluation.length && info.evalSplit) {
    evaluation = await timed("eval", () => evaluateRun(runDir, info, data.evaluation, steps, config, log));
  }
  return { runDir, steps, evaluation, timings };
}

/** Evaluates a finished run on a split: segmentation (± CRF), and mining quality per erasing step. */
export async function evaluateRun(
  runDir: string,
  info: DatasetInfo,
  items: DatasetItem[],
  steps: number[],
  config: Config,
  log: Logger,
): Promise<Record<string, unknown>> {
  const split = info.evalSplit ?? "eval";
  const out = join(runDir, "eval", `${split}.json`);
  if (existsSync(out)) return readJson(out);
  const onStep = stageProgress(log);
  const seg = await Segmenter.load(runDir);
  try {
    const plain = await evaluateSegmenter(seg, items, {
      predictionsDir: join(runDir, "predictions", split),
      headlineClasses: config.eval.headlineClasses,
      onImage: (d, n) => onStep(`eval ${split}`, d, n),
    });
    const withCrf = config.crf.enabled
      ? await evaluateSegmenter(seg, items, {
          crf: crfOptions(config),
          predictionsDir: join(runDir, "predictions", `${split}-crf`),
          headlineClasses: config.eval.headlineClasses,
          onImage: (d, n) => onStep(`eval ${split} + CRF`, d, n),
        })
      : undefined;
    const mining = await evaluateMining(runDir, steps, items, info.classNames, config.erasing.overlap);
    const result = { split, ...plain, crf_result: withCrf ?? null, mining };
    await writeJson(out, result);
    log.info(
      `${split}: mIoU ${(plain.miou * 100).toFixed(1)}${headlineText(plain)}, pixel accuracy ${(plain.pixel_acc * 100).toFixed(1)}` +
        (withCrf ? `; with CRF ${(withCrf.miou * 100).toFixed(1)}${headlineText(withCrf)}` : ""),
    );
    return result;
  } finally {
    seg.dispose();
  }
}

/** " (7-class 45.4)" for a report with headline classes, "" without. */
export function headlineText(r: { headline?: { classes: string[]; miou: number } | null }): string {
  return r.headline ? ` (${r.headline.classes.length}-class ${(r.headline.miou * 100).toFixed(1)})` : "";
}

/** CAM seed quality of step 1 on the evaluation split (the standard WSSS seed metric). */
async function evaluateSeeds(
  runDir: string,
  info: DatasetInfo,
  items: DatasetItem[],
  headlineClasses: readonly string[],
  log: Logger,
) {
  const { CamStore } = await import("./stages/cam.js");
  const { evaluateCamSeeds } = await import("./stages/eval-cam.js");
  const ev = await evaluateCamSeeds(new CamStore(join(stepDir(runDir, 1), "cams")), items, info.classNames, {
    headlineClasses,
  });
  await writeJson(join(runDir, "eval", "cam-seeds.json"), ev);
  log.info(
    `CAM seeds on '${info.evalSplit}': best θ ${ev.best.threshold} → mIoU ${(ev.best.miou * 100).toFixed(1)} ` +
      headlineText(ev.best),
  );
  return ev as unknown as Record<string, unknown>;
}
