// Stage: train the multi-label CAM classifier on image-level labels (optionally on adversarially erased
// images). Checkpoints every epoch and resumes from the last one.
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { augment, type Rng } from "../data/augment.js";
import type { DatasetItem } from "../data/dataset.js";
import { loadRgb } from "../data/image.js";
import { BatchLoader } from "../data/loader.js";
import { readIndexedPng } from "../data/png.js";
import type { RgbImage } from "../data/types.js";
import { loadCheckpoint, loadModelWeights, saveCheckpoint } from "../engine/checkpoint.js";
import { bceWithLogits, manualSeed, tensor } from "../engine/ops.js";
import { SGD, polyLr } from "../engine/optim.js";
import { tidy } from "../engine/tensor.js";
import { meanAveragePrecision } from "../eval/metrics.js";
import { CamClassifier } from "../nn/cam-classifier.js";
import type { OutputStride } from "../nn/mobilenetv2.js";
import { isDone, markDone, writeJson } from "./run-dir.js";
import { eraseRegions, imagesToTensor } from "./tensorize.js";

export interface ClassifierConfig {
  outputStride: OutputStride;
  cropSize: number;
  scaleRange: [number, number];
  batchSize: number;
  epochs: number;
  lrBackbone: number;
  lrHead: number;
  weightDecay: number;
  momentum: number;
}

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

export interface ClassifierMetrics {
  epochs: Array<{ epoch: number; loss: number; map: number; seconds: number; dataWaitFraction: number }>;
  imagesPerSecond: number;
  seconds: number;
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
  const log = o.log ?? (() => {});
  const cfg = o.config;
  const numFg = o.numClasses - 1;
  const items = o.items.filter((it) => it.labels.length > 0);
  if (items.length < cfg.batchSize)
    throw new Error(`train-cls: ${items.length} labelled image(s), fewer than one batch of ${cfg.batchSize}`);
  await mkdir(o.dir, { recursive: true });
  manualSeed(o.seed);
  const model = new CamClassifier(numFg, { outputStride: cfg.outputStride, imagenet: !o.initFrom });
  if (o.initFrom) loadModelWeights(o.initFrom, model);
  const optimizer = new SGD(model.paramGroups(cfg.lrBackbone, cfg.lrHead), {
    lr: cfg.lrHead,
    momentum: cfg.momentum,
    weightDecay: cfg.weightDecay,
  });
  const fill = o.eraseFill ?? [124, 116, 104];
  const loaderOptions = {
    items,
    batchSize: cfg.batchSize,
    seed: o.seed,
    epochs: cfg.epochs,
    prepare: async (item: DatasetItem, rng: Rng) => {
      const img = await loadTrainingImage(item, o.eraseDir, fill);
      const aug = augment({ image: img }, { scale: cfg.scaleRange, crop: cfg.cropSize, fill }, rng);
      return { image: aug.image, target: multiHot(item.labels, numFg) };
    },
  };
  const stepsPerEpoch = Math.floor(items.length / cfg.batchSize);
  const schedule = polyLr(stepsPerEpoch * cfg.epochs, 0.9);
  const metrics: ClassifierMetrics = { epochs: [], imagesPerSecond: 0, seconds: 0 };

  const resumed = loadCheckpoint(o.dir, model, optimizer);
  let startEpoch = 0;
  if (resumed) {
    startEpoch = resumed.epoch;
    metrics.epochs = (resumed.metrics as ClassifierMetrics["epochs"]) ?? [];
    log(`train-cls: resuming after epoch ${startEpoch} (step ${resumed.step})`);
  }
  const run = new BatchLoader<DatasetItem, Sample>({
    ...loaderOptions,
    start: { epoch: startEpoch, batch: 0 },
  });
  let trainMs = 0;
  let trainImages = 0;
  model.train();
  try {
    for (let epoch = startEpoch; epoch < cfg.epochs; epoch++) {
      const t0 = performance.now();
      const wait0 = run.stats().waitMs;
      let lossSum = 0;
      const scores: Float32Array[] = [];
      const targets: Float32Array[] = [];
      for (let b = 0; b < stepsPerEpoch; b++) {
        const batch = await run.next();
        if (!batch) break;
        optimizer.setLrFactor(schedule.factor(optimizer.stepCount));
        const loss = tidy(() => {
          optimizer.zeroGrad();
          const x = imagesToTensor(batch.samples.map((s) => s.image));
          const y = tensor(concat(batch.samples.map((s) => s.target)), [batch.samples.length, numFg]);
          const logits = model.forward(x);
          const l = bceWithLogits(logits, y);
          l.backward();
          optimizer.step();
          const probs = logits.detach().sigmoid().toArray() as Float32Array;
          batch.samples.forEach((s, i) => {
            scores.push(probs.slice(i * numFg, (i + 1) * numFg));
            targets.push(s.target);
          });
          return l.item();
        });
        if (!Number.isFinite(loss))
          throw new Error(`train-cls: loss became ${loss} at step ${optimizer.stepCount}`);
        lossSum += loss;
        trainImages += batch.samples.length;
        o.onStep?.(epoch * stepsPerEpoch + b + 1, cfg.epochs * stepsPerEpoch, { loss });
      }
      const seconds = (performance.now() - t0) / 1000;
      trainMs += seconds * 1000;
      const waitMs = run.stats().waitMs - wait0;
      const entry = {
        epoch: epoch + 1,
        loss: lossSum / stepsPerEpoch,
        map: meanAveragePrecision(scores, targets),
        seconds,
        dataWaitFraction: waitMs / (seconds * 1000),
      };
      metrics.epochs.push(entry);
      log(
        `train-cls epoch ${entry.epoch}/${cfg.epochs}: loss ${entry.loss.toFixed(4)}, train mAP ${(entry.map * 100).toFixed(1)}, ` +
          `${seconds.toFixed(0)} s, waiting for data ${(entry.dataWaitFraction * 100).toFixed(1)}%`,
      );
      await saveCheckpoint(o.dir, model, optimizer, {
        epoch: epoch + 1,
        step: optimizer.stepCount,
        metrics: metrics.epochs,
      });
    }
  } finally {
    run.close();
    optimizer.dispose();
    model.dispose();
  }
  metrics.seconds = metrics.epochs.reduce((a, e) => a + e.seconds, 0);
  metrics.imagesPerSecond = trainMs > 0 ? trainImages / (trainMs / 1000) : 0;
  await writeJson(join(o.dir, "metrics.json"), metrics);
  await markDone(o.dir, {
    epochs: cfg.epochs,
    final_loss: metrics.epochs.at(-1)?.loss,
    final_map: metrics.epochs.at(-1)?.map,
  });
  return metrics;
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

export { isDone };
