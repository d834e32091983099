// Stage: pseudo-labels from the union of mined regions (foreground) and a background cue; uncertain
// pixels are ignored (255). Written as indexed PNGs with the dataset palette.
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { DatasetItem } from "../data/dataset.js";
import { readIndexedPng, writeIndexedPng } from "../data/png.js";
import { readGroundTruthMask } from "../data/mask.js";
import { loadRgb } from "../data/image.js";
import { IGNORE_INDEX, type RgbImage } from "../data/types.js";
import { denseCrf, type CrfOptions } from "../postprocess/crf.js";
import { ConfusionMatrix } from "../eval/metrics.js";
import { loadStepRegions } from "./mine.js";
import {
  camBackground,
  gateBySaliency,
  maxInto,
  synthesizePseudoLabel,
  unionRegions,
  type MinedRegions,
  type OverlapRule,
} from "./regions.js";
import { markDone } from "./run-dir.js";
import { stopIfRequested } from "../util/interrupt.js";
import type { PseudoLabelConfig } from "../util/config.js";

export type BackgroundCue = PseudoLabelConfig["background"];
/** The cue of one image, "both-multiclass" resolved (backgroundCueFor). */
export type ImageBackgroundCue = Exclude<BackgroundCue, "both-multiclass">;

export type { PseudoLabelConfig } from "../util/config.js";

export interface PseudoLabelOptions {
  runDir: string;
  /** Output folder (e.g. <run>/pseudo-labels). */
  outDir: string;
  items: DatasetItem[];
  /** Erasing steps whose regions form the union. */
  steps: number[];
  overlap: OverlapRule;
  palette: Uint8Array;
  config: PseudoLabelConfig;
  /** An image's salient-object map at its own size (the saliency stage's, or computed on the fly). */
  saliency?: (item: DatasetItem) => Promise<Float32Array>;
  onImage?: (done: number, total: number) => void;
}

/** Saliency gates on mined regions: step 1's pixels need `first`, later steps' `later` (0 = no gate). */
export interface RegionGate {
  saliency: Float32Array;
  first: number;
  later: number;
}

/** One erasing step's mined regions of an image and the strongest CAM of its labelled classes. */
export type StepRegions = MinedRegions & { maxCam: Float32Array };

/**
 * The object regions (union over steps) and the strongest CAM over steps. With a gate, each step's mined
 * pixels count only where the saliency map reaches that step's minimum.
 */
export function unionOfSteps(perStep: readonly StepRegions[], overlap: OverlapRule, gate?: RegionGate) {
  if (!perStep.length) throw new Error("pseudo-labels: no erasing step to take regions from");
  const gated = perStep.map((r, k) => {
    const min = gate ? (k > 0 ? Math.max(gate.first, gate.later) : gate.first) : 0;
    return min > 0 ? gateBySaliency(r, gate!.saliency, min) : r;
  });
  const maxCam = perStep[0]!.maxCam.slice();
  for (const r of perStep.slice(1)) maxInto(maxCam, r.maxCam);
  return { regions: unionRegions(gated, overlap), maxCam };
}

/** The salient-object map of an image (for the saliency cues and the region gates). */
async function saliencyOf(
  item: DatasetItem,
  o: Pick<PseudoLabelOptions, "saliency" | "config">,
): Promise<Float32Array> {
  if (!o.saliency)
    throw new Error(
      `pseudo-labels: background cue '${o.config.background}' and the saliency gates need saliency maps`,
    );
  return o.saliency(item);
}

/** Whether pseudo-labels with these settings read saliency maps. */
export function needsSaliency(config: PseudoLabelConfig): boolean {
  return (
    config.background !== "cam" ||
    config.laterStepSaliency > 0 ||
    config.regionSaliency > 0 ||
    config.singleClassSaliency > 0
  );
}

/**
 * The cue one image's background comes from: "both-multiclass" is saliency alone in an image tagged with
 * one class (its salient object is that class) and saliency and CAM both in an image tagged with several,
 * where an object beside another is often not salient (people beside animals) and low saliency alone
 * would make it background.
 */
export function backgroundCueFor(cue: BackgroundCue, imageClasses: readonly number[]): ImageBackgroundCue {
  if (cue !== "both-multiclass") return cue;
  return imageClasses.filter((c) => c !== 0).length > 1 ? "both" : "saliency";
}

/**
 * Background confidence in [0, 1] from the configured cue ("both-multiclass" resolved per image), to be
 * compared with 1 − bgThreshold. `camScale` = bgThreshold / camBgThreshold rescales the CAM's part so that
 * it passes exactly where the strongest CAM is below camBgThreshold.
 */
export function backgroundConfidence(
  maxCam: Float32Array,
  sal: Float32Array | null,
  cue: ImageBackgroundCue,
  file: string,
  camScale = 1,
): Float32Array {
  const fromCam = camBackground(maxCam, camScale);
  if (cue === "cam") return fromCam;
  if (!sal || sal.length !== maxCam.length)
    throw new Error(`${file}: saliency map missing or not the size of the CAMs`);
  const out = new Float32Array(sal.length);
  for (let i = 0; i < out.length; i++) {
    const s = 1 - sal[i];
    out[i] = cue === "saliency" ? s : Math.min(s, fromCam[i]);
  }
  return out;
}

export async function makePseudoLabels(o: PseudoLabelOptions): Promise<void> {
  if (!o.steps.length) throw new Error("pseudo-labels: no finished erasing step to take regions from");
  await mkdir(o.outDir, { recursive: true });
  let done = 0;
  for (const item of o.items) {
    const out = join(o.outDir, `${item.id}.png`);
    if (!existsSync(out)) {
      stopIfRequested(o.outDir);
      const label = await pseudoLabelFor(item, o);
      await writeIndexedPng(out, label.data, label.width, label.height, o.palette);
    }
    o.onImage?.(++done, o.items.length);
  }
  await markDone(o.outDir, { images: o.items.length, steps: o.steps, ...o.config });
}

export async function pseudoLabelFor(
  item: DatasetItem,
  o: Pick<PseudoLabelOptions, "runDir" | "steps" | "overlap" | "config" | "saliency">,
): Promise<{ data: Uint8Array; width: number; height: number }> {
  const perStep = [];
  for (const t of o.steps) perStep.push(await loadStepRegions(o.runDir, t, item.id));
  const { width, height } = perStep[0] ?? { width: 0, height: 0 };
  const sal = needsSaliency(o.config) ? await saliencyOf(item, o) : null;
  return { data: await pseudoLabelFromSteps(item, perStep, sal, o, { width, height }), width, height };
}

/**
 * One image's pseudo-label from its per-step regions (as the erasing stage stored them, or re-mined by a
 * benchmark) and its saliency map (null when the configuration needs none): gated union of the regions,
 * background from the configured cue, then the single-class salient fill and the CRF fill if enabled.
 */
export async function pseudoLabelFromSteps(
  item: DatasetItem,
  perStep: readonly StepRegions[],
  sal: Float32Array | null,
  o: Pick<PseudoLabelOptions, "overlap" | "config">,
  size: { width: number; height: number },
): Promise<Uint8Array> {
  const { laterStepSaliency: later, regionSaliency: first } = o.config;
  if (!sal && needsSaliency(o.config))
    throw new Error(`${item.imagePath}: these pseudo-label settings need a saliency map`);
  const gate = sal && (first > 0 || later > 0) ? { saliency: sal, first, later } : undefined;
  const { regions, maxCam } = unionOfSteps(perStep, o.overlap, gate);
  const cue = backgroundCueFor(o.config.background, item.labels);
  const { bgThreshold, camBgThreshold } = o.config;
  const camScale = camBgThreshold ? bgThreshold / camBgThreshold : 1;
  const background = backgroundConfidence(maxCam, sal, cue, item.imagePath, camScale);
  const data = synthesizePseudoLabel({
    regions: regions.cls,
    background,
    backgroundConfidence: 1 - bgThreshold,
  });
  const single = o.config.singleClassSaliency;
  if (single > 0 && item.labels.length === 1) fillSalientWithClass(data, sal!, item.labels[0]!, single);
  if (o.config.crfFill > 0) {
    const image = await loadRgb(item.imagePath);
    if (image.width !== size.width || image.height !== size.height)
      throw new Error(
        `${item.imagePath}: ${image.width}×${image.height}, its regions are ${size.width}×${size.height}`,
      );
    return crfFillPseudoLabel(image, data, item.labels, o.config.crfFill);
  }
  return data;
}

/** Ignored pixels at least `min` salient become `cls` (for images tagged with that class alone). */
export function fillSalientWithClass(
  label: Uint8Array,
  saliency: Float32Array,
  cls: number,
  min: number,
): void {
  if (saliency.length !== label.length)
    throw new Error(`saliency map has ${saliency.length} pixels, the pseudo-label ${label.length}`);
  for (let i = 0; i < label.length; i++) if (label[i] === IGNORE_INDEX && saliency[i]! >= min) label[i] = cls;
}

/** How sure a labelled pixel's class is in the CRF's unary (the rest is spread over the other classes). */
const LABELLED_CONFIDENCE = 0.8;

/**
 * Fills ignored pixels of a pseudo-label with a dense CRF over the photo: the unary is the label itself
 * (labelled pixels sure of their class, ignored ones uniform over background and the image's classes), so
 * colour and position carry labels into the gaps. An ignored pixel takes the CRF's label where its
 * probability reaches `confidence`; labelled pixels are kept as they were.
 */
export function crfFillPseudoLabel(
  image: RgbImage,
  label: Uint8Array,
  imageClasses: readonly number[],
  confidence: number,
  crf: CrfOptions = {},
): Uint8Array {
  const classes = [0, ...imageClasses.filter((c) => c !== 0)];
  const k = classes.length;
  const out = label.slice();
  if (k < 2) {
    // Background only: every pixel not labelled otherwise is background.
    for (let i = 0; i < out.length; i++) if (out[i] === IGNORE_INDEX) out[i] = 0;
    return out;
  }
  const slot = new Map(classes.map((c, j) => [c, j]));
  const n = label.length;
  const probs = new Float32Array(k * n);
  const other = (1 - LABELLED_CONFIDENCE) / (k - 1);
  for (let i = 0; i < n; i++) {
    const j = label[i] === IGNORE_INDEX ? undefined : slot.get(label[i]!);
    for (let c = 0; c < k; c++)
      probs[c * n + i] = j === undefined ? 1 / k : c === j ? LABELLED_CONFIDENCE : other;
  }
  const q = denseCrf(image, probs, k, crf);
  for (let i = 0; i < n; i++) {
    if (out[i] !== IGNORE_INDEX) continue;
    let best = 0;
    for (let c = 1; c < k; c++) if (q[c * n + i]! > q[best * n + i]!) best = c;
    if (q[best * n + i]! >= confidence) out[i] = classes[best]!;
  }
  return out;
}

/** Pseudo-label quality against ground truth: mIoU on labelled (non-ignored) pixels and coverage. */
export async function evaluatePseudoLabels(
  dir: string,
  items: DatasetItem[],
  numClasses: number,
): Promise<{ miou: number; coverage: number; cm: ConfusionMatrix }> {
  const cm = new ConfusionMatrix(numClasses);
  let labelled = 0;
  let total = 0;
  for (const item of items) {
    if (!item.maskPath) continue;
    const gt = (await readGroundTruthMask(item)).indices;
    const pl = (await readIndexedPng(join(dir, `${item.id}.png`))).indices;
    labelled += addPseudoLabel(cm, gt, pl);
    total += pl.length;
  }
  return { miou: cm.meanIou(), coverage: total ? labelled / total : 0, cm };
}

/** Adds one pseudo-label to cm over its labelled (non-ignored) pixels; returns how many there were. */
export function addPseudoLabel(cm: ConfusionMatrix, gt: Uint8Array, label: Uint8Array): number {
  const gtMasked = gt.slice();
  let labelled = 0;
  for (let i = 0; i < label.length; i++) {
    if (label[i] === IGNORE_INDEX) gtMasked[i] = IGNORE_INDEX;
    else labelled++;
  }
  cm.add(gtMasked, label);
  return labelled;
}
