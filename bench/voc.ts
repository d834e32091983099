// The project's one benchmark protocol on ../shared/data/voc12-subset: train on train_aug minus
// train.txt (2,694 images, image-level labels only), measure on the 440 train.txt images (their masks).
// All VOC benchmarks share one run folder, runs/voc — the one `aepsl run --config configs/voc-protocol.yaml
// --out runs/voc` writes — so later ones reuse earlier stages and the CLI run counts as their first.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { openDataset, validateDataset, type DatasetItem } from "../src/data/dataset.js";
import { meanPixel } from "../src/data/stats.js";
import { defaultConfig, loadConfig, type PseudoLabelConfig } from "../src/util/config.js";
import { packageRoot } from "../src/engine/native.js";
import { SHARED_DIR } from "./common.js";
import type { CamOptions } from "../src/stages/cam.js";
import { runErasing, type ErasingConfig } from "../src/stages/mine.js";
import type { ClassifierConfig } from "../src/stages/train-cls.js";

export const VOC_DIR = process.env.AEPSL_VOC ?? join(SHARED_DIR, "data", "voc12-subset");
export const RUN_DIR = process.env.AEPSL_BENCH_RUN ?? join(packageRoot, "runs", "voc");

/** The protocol's configuration; the benchmarks take its eval.headlineClasses. */
export const PROTOCOL_CONFIG = join(packageRoot, "configs", "voc-protocol.yaml");

/** eval.headlineClasses of configs/voc-protocol.yaml: background and the 6 classes the subset covers. */
export const HEADLINE_CLASSES: readonly string[] = loadConfig(PROTOCOL_CONFIG).eval.headlineClasses;
if (HEADLINE_CLASSES.length === 0) throw new Error(`${PROTOCOL_CONFIG}: eval.headlineClasses is not set`);

/** "7-class": how tables and logs name the headline mean. */
export const HEADLINE_LABEL = `${HEADLINE_CLASSES.length}-class`;

export interface Protocol {
  classNames: string[];
  /** Indices of HEADLINE_CLASSES in classNames, in the config's order. */
  headline: number[];
  /** The headline classes other than the background (class 0), by name. */
  headlineForeground: string[];
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
  const lower = all.classes.names.map((n) => n.toLowerCase());
  const headline = HEADLINE_CLASSES.map((name) => {
    const index = lower.indexOf(name.toLowerCase());
    if (index < 0)
      throw new Error(`${PROTOCOL_CONFIG}: headline class "${name}" is not a class of ${VOC_DIR}`);
    return index;
  });
  return {
    meanPixel: await meanPixel(train),
    classNames: all.classes.names,
    headline,
    headlineForeground: headline.filter((c) => c !== 0).map((c) => all.classes.names[c]),
    palette: all.classes.palette,
    train,
    evaluation: items.filter((it) => evalIds.has(it.id)),
  };
}

// The default profile, so the benchmarks measure what `aepsl run` does; epochs/steps can be shortened.
export const CLASSIFIER: ClassifierConfig = {
  ...defaultConfig().classifier,
  epochs: Number(process.env.BENCH_CLS_EPOCHS ?? defaultConfig().classifier.epochs),
};

export const CAM: CamOptions = { scales: defaultConfig().cam.scales, flip: defaultConfig().cam.flip };

export const ERASING: ErasingConfig = {
  ...defaultConfig().erasing,
  steps: Number(process.env.BENCH_STEPS ?? defaultConfig().erasing.steps),
};

/** The paper's plain pseudo-label rule (background where the chosen cue is below 0.2, regions as mined, no
 * gates or CRF fill): the baseline the pseudo-label benchmarks compare cues and variants against. */
export const PLAIN_PSEUDO_LABELS: Omit<PseudoLabelConfig, "background"> = {
  bgThreshold: 0.2,
  camBgThreshold: null,
  laterStepSaliency: 0,
  regionSaliency: 0,
  crfFill: 0,
  singleClassSaliency: 0,
};

export const fmt = (v: number | null | undefined, digits = 1): string =>
  v === null || v === undefined || Number.isNaN(v) ? "–" : (v * 100).toFixed(digits);

/** Timestamped progress lines on stderr. */
export const benchLog = (l: string): void =>
  console.error(`[${new Date().toISOString().slice(11, 19)}] ${l}`);

/** Classifier training + adversarial erasing on the protocol, up to `steps` steps (resumes in runDir). */
export async function runBenchErasing(
  p: Protocol,
  steps: number,
  o: { runDir?: string; erasing?: Partial<ErasingConfig> } = {},
): Promise<void> {
  await runErasing({
    runDir: o.runDir ?? RUN_DIR,
    trainItems: p.train,
    extraItems: p.evaluation,
    numClasses: p.classNames.length,
    palette: p.palette,
    classifier: CLASSIFIER,
    erasing: { ...ERASING, ...o.erasing, steps },
    cam: CAM,
    seed: 0,
    fill: p.meanPixel,
    log: benchLog,
  });
}
