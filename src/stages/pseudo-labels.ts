// Stage: pseudo-labels from the union of mined regions (foreground) and a background cue; uncertain
// pixels are ignored (255). Written as indexed PNGs with the dataset palette.
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { DatasetItem } from "../data/dataset.js";
import { loadRgb } from "../data/image.js";
import { readIndexedPng, writeIndexedPng } from "../data/png.js";
import type { FloatMap, RgbImage } from "../data/types.js";
import { ConfusionMatrix } from "../eval/metrics.js";
import { loadStepRegions } from "./mine.js";
import {
  camBackground,
  maxInto,
  synthesizePseudoLabel,
  unionRegions,
  type MinedRegions,
  type OverlapRule,
} from "./regions.js";
import { markDone } from "./run-dir.js";
import type { PseudoLabelConfig } from "../util/config.js";

export type BackgroundCue = "cam" | "saliency" | "both";

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
  /** Salient-object detector for the "saliency" and "both" cues. */
  saliency?: (img: RgbImage) => FloatMap;
  onImage?: (done: number, total: number) => void;
}

/** The object regions (union over steps) and the strongest CAM over steps for one image. */
export async function unionForImage(runDir: string, steps: number[], id: string, overlap: OverlapRule) {
  const perStep: MinedRegions[] = [];
  let maxCam: Float32Array | null = null;
  let size = { width: 0, height: 0 };
  for (const t of steps) {
    const r = await loadStepRegions(runDir, t, id);
    size = { width: r.width, height: r.height };
    perStep.push(r);
    if (!maxCam) maxCam = r.maxCam.slice();
    else maxInto(maxCam, r.maxCam);
  }
  return { regions: unionRegions(perStep, overlap), maxCam: maxCam!, ...size };
}

/** Background confidence in [0, 1] from the configured cue. */
export async function backgroundConfidence(
  item: DatasetItem,
  maxCam: Float32Array,
  o: Pick<PseudoLabelOptions, "config" | "saliency">,
): Promise<Float32Array> {
  const fromCam = camBackground(maxCam);
  if (o.config.background === "cam") return fromCam;
  if (!o.saliency)
    throw new Error(`pseudo-labels: background cue '${o.config.background}' needs a saliency detector`);
  const sal = o.saliency(await loadRgb(item.imagePath)).data;
  if (sal.length !== maxCam.length)
    throw new Error(`${item.imagePath}: saliency map size does not match the CAMs`);
  const out = new Float32Array(sal.length);
  for (let i = 0; i < out.length; i++) {
    const s = 1 - sal[i];
    out[i] = o.config.background === "saliency" ? s : Math.min(s, fromCam[i]);
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
  const { regions, maxCam, width, height } = await unionForImage(o.runDir, o.steps, item.id, o.overlap);
  const background = await backgroundConfidence(item, maxCam, o);
  const data = synthesizePseudoLabel({
    regions: regions.cls,
    background,
    backgroundConfidence: 1 - o.config.bgThreshold,
  });
  return { data, width, height };
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
    const gt = (await readIndexedPng(item.maskPath)).indices;
    const pl = (await readIndexedPng(join(dir, `${item.id}.png`))).indices;
    const gtMasked = gt.slice();
    for (let i = 0; i < pl.length; i++) {
      if (pl[i] === 255) gtMasked[i] = 255;
      else labelled++;
      total++;
    }
    cm.add(gtMasked, pl);
  }
  return { miou: cm.meanIou(), coverage: total ? labelled / total : 0, cm };
}
