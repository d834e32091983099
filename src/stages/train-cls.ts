// Stage: train the multi-label CAM classifier on image-level labels (optionally on adversarially erased
// images). Checkpoints every epoch and resumes from the last one.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { augment } from "../data/augment.js";
import type { DatasetItem } from "../data/dataset.js";
import { loadRgb } from "../data/image.js";
import { readIndexedPng } from "../data/png.js";
import { IMAGENET_MEAN_U8, type RgbImage } from "../data/types.js";
import { loadModelWeights } from "../engine/checkpoint.js";
import { autocastForward } from "../engine/device.js";
import { bceWithLogits, manualSeed, tensor } from "../engine/ops.js";
import { meanAveragePrecision } from "../eval/metrics.js";
import { CamClassifier } from "../nn/cam-classifier.js";
import type { ClassifierConfig } from "../util/config.js";
import { markDone, writeJson } from "./run-dir.js";
import { eraseRegions, imagesToTensor } from "./tensorize.js";
import { runTrainingLoop, type EpochRecord, type TrainingResult } from "./training-loop.js";

export type { ClassifierConfig } from "../util/config.js";

export interface TrainClassifierOptions {
  /** Stage folder: checkpoints, metrics.json, DONE.json. */
  dir: string;
  items: DatasetItem[];
  /** Number of classes including background (index 0); the classifier scores the numClasses − 1 others. */
  numClasses: number;
  config: ClassifierConfig;
  seed: number;
  /** Start from this stage folder's weights instead of ImageNet (fine-tuning between erasing steps). */
  initFrom?: string;
  /** Folder of cumulative erase masks (<id>.png, non-zero = erase) applied before augmentation. */
  eraseDir?: string;
  /** Colour that erased pixels get: the training set's mean pixel. */
  eraseFill?: readonly [number, number, number];
  log?: (line: string) => void;
  onStep?: (done: number, total: number, metrics: Record<string, number>) => void;
}

export interface ClassifierMetrics extends TrainingResult {
  epochs: Array<EpochRecord & { map: number }>;
}

interface Sample {
  image: RgbImage;
  target: Float32Array;
}

export async function loadTrainingImage(
  item: DatasetItem,
  eraseDir: string | undefined,
  fill: readonly [number, number, number],
): Promise<RgbImage> {
  const img = await loadRgb(item.imagePath);
  if (!eraseDir) return img;
  const maskPath = join(eraseDir, `${item.id}.png`);
  if (!existsSync(maskPath)) return img;
  const mask = await readIndexedPng(maskPath);
  if (mask.width !== img.width || mask.height !== img.height)
    throw new Error(
      `${maskPath}: erase mask ${mask.width}×${mask.height} does not match image ${img.width}×${img.height}`,
    );
  return eraseRegions(img, mask.indices, fill);
}

export function multiHot(labels: readonly number[], numFg: number): Float32Array {
  const t = new Float32Array(numFg);
  for (const c of labels) t[c - 1] = 1;
  return t;
}

export async function trainClassifier(o: TrainClassifierOptions): Promise<ClassifierMetrics> {
  const cfg = o.config;
  const numFg = o.numClasses - 1;
  const items = o.items.filter((it) => it.labels.length > 0);
  manualSeed(o.seed);
  const model = new CamClassifier(numFg, { outputStride: cfg.outputStride, imagenet: !o.initFrom });
  if (o.initFrom) loadModelWeights(o.initFrom, model);
  const fill = o.eraseFill ?? IMAGENET_MEAN_U8;
  let scores: Float32Array[] = [];
  let targets: Float32Array[] = [];
  try {
    const result = await runTrainingLoop<DatasetItem, Sample>({
      name: "train-cls",
      dir: o.dir,
      model,
      items,
      hyper: cfg,
      seed: o.seed,
      log: o.log,
      onStep: o.onStep,
      prepare: async (item, rng) => {
        const img = await loadTrainingImage(item, o.eraseDir, fill);
        const aug = augment({ image: img }, { scale: cfg.scaleRange, crop: cfg.cropSize, fill }, rng);
        return { image: aug.image, target: multiHot(item.labels, numFg) };
      },
      step: (samples) => {
        const x = imagesToTensor(samples.map((s) => s.image));
        const y = tensor(concat(samples.map((s) => s.target)), [samples.length, numFg]);
        const logits = autocastForward(() => model.forward(x));
        const loss = bceWithLogits(logits, y);
        loss.backward();
        const probs = logits.detach().sigmoid().toArray() as Float32Array;
        samples.forEach((s, i) => {
          scores.push(probs.slice(i * numFg, (i + 1) * numFg));
          targets.push(s.target);
        });
        return { loss: loss.item() };
      },
      // Training mAP over the epoch's batches: cheap, and it tells when erased images stop being learnable.
      epochMetrics: () => {
        const map = meanAveragePrecision(scores, targets);
        scores = [];
        targets = [];
        return { map };
      },
    });
    await writeJson(join(o.dir, "metrics.json"), result);
    await markDone(o.dir, {
      epochs: cfg.epochs,
      final_loss: result.epochs.at(-1)?.loss,
      final_map: result.epochs.at(-1)?.map,
    });
    return result as ClassifierMetrics;
  } finally {
    model.dispose();
  }
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
