// The project's one benchmark protocol on ../shared/data/voc12-subset: train on train_aug minus
// train.txt (2,694 images, image-level labels only), measure on the 440 train.txt images (their masks).
// All VOC benchmarks share one run folder (runs/bench-voc) so later ones reuse earlier stages.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { openDataset, validateDataset, type DatasetItem } from "../src/data/dataset.js";
import { meanPixel } from "../src/data/stats.js";
import { packageRoot } from "../src/engine/native.js";
import type { CamOptions } from "../src/stages/cam.js";
import { runErasing, type ErasingConfig } from "../src/stages/mine.js";
import type { ClassifierConfig } from "../src/stages/train-cls.js";

export const VOC_DIR = process.env.AEPSL_VOC ?? resolve(packageRoot, "..", "shared", "data", "voc12-subset");
export const RUN_DIR = process.env.AEPSL_BENCH_RUN ?? join(packageRoot, "runs", "bench-voc");

export interface Protocol {
  classNames: string[];
  palette: Uint8Array;
  train: DatasetItem[];
  evaluation: DatasetItem[];
  /** The training images' mean pixel: what erased regions are filled with. */
  meanPixel: [number, number, number];
}

export async function loadProtocol(): Promise<Protocol> {
  const all = await openDataset(VOC_DIR, { split: "train_aug" });
  const { items } = await validateDataset(all, { checkImages: false });
  const evalIds = new Set(
    readFileSync(join(VOC_DIR, "ImageSets", "Segmentation", "train.txt"), "utf8")
      .split(/\s+/)
      .filter(Boolean),
  );
  const train = items.filter((it) => !evalIds.has(it.id));
  return {
    meanPixel: await meanPixel(train),
    classNames: all.classes.names,
    palette: all.classes.palette,
    train,
    evaluation: items.filter((it) => evalIds.has(it.id)),
  };
}

export const CLASSIFIER: ClassifierConfig = {
  outputStride: 16,
  cropSize: 256,
  scaleRange: [0.7, 1.3],
  batchSize: 8,
  epochs: Number(process.env.BENCH_CLS_EPOCHS ?? 5),
  lrBackbone: 0.01,
  lrHead: 0.1,
  weightDecay: 1e-4,
  momentum: 0.9,
};

export const CAM: CamOptions = { scales: [1, 0.5, 1.5], flip: true };

export const ERASING: ErasingConfig = {
  steps: Number(process.env.BENCH_STEPS ?? 3),
  threshold: 0.5,
  topPercent: null,
  retrain: "fine-tune",
  epochsPerStep: 3,
  stopMapRatio: 0.5,
  overlap: "higher-cam",
};

export const fmt = (v: number | null | undefined, digits = 1): string =>
  v === null || v === undefined || Number.isNaN(v) ? "–" : (v * 100).toFixed(digits);

/** Timestamped progress lines on stderr. */
export const benchLog = (l: string): void =>
  console.error(`[${new Date().toISOString().slice(11, 19)}] ${l}`);

/** Classifier training + adversarial erasing on the protocol, up to `steps` steps (resumes in RUN_DIR). */
export async function runBenchErasing(p: Protocol, steps: number): Promise<void> {
  await runErasing({
    runDir: RUN_DIR,
    trainItems: p.train,
    extraItems: p.evaluation,
    numClasses: p.classNames.length,
    palette: p.palette,
    classifier: CLASSIFIER,
    erasing: { ...ERASING, steps },
    cam: CAM,
    seed: 0,
    fill: p.meanPixel,
    log: benchLog,
  });
}
