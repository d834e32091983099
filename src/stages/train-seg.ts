// Stage: segmentation network trained on pseudo-labels, with Prohibitive Segmentation Learning (PSL,
// Wei et al. 2017 §3.3): besides the erasing pseudo-labels, the network learns from an online label —
// the argmax of its own per-class probabilities weighted by the classifier's image-level scores, where
// classes absent from the image label get weight 0 (prohibited) and background weight 1.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { augment } from "../data/augment.js";
import type { DatasetItem } from "../data/dataset.js";
import { loadRgb } from "../data/image.js";
import { readIndexedPng } from "../data/png.js";
import { readGroundTruthMask } from "../data/mask.js";
import { IGNORE_INDEX, IMAGENET_MEAN_U8, type RgbImage } from "../data/types.js";
import { loadModelWeights } from "../engine/checkpoint.js";
import { autocastForward } from "../engine/device.js";
import {
  crossEntropy,
  manualSeed,
  noGrad,
  softmax,
  tensor,
  tidy,
  where,
  type Tensor,
} from "../engine/index.js";
import { CamClassifier } from "../nn/cam-classifier.js";
import { DeepLabLargeFov } from "../nn/deeplab.js";
import type { OutputStride } from "../nn/mobilenetv2.js";
import type { SegmentationConfig } from "../util/config.js";
import { markDone, readJson, writeJson } from "./run-dir.js";
import { imagesToTensor } from "./tensorize.js";
import { runTrainingLoop, type TrainingResult } from "./training-loop.js";

export type { SegmentationConfig } from "../util/config.js";

/**
 * PSL's online label: argmax over classes of probs × per-image class weights ([N, C]: 1 for background,
 * the classifier's score for labelled classes, 0 for prohibited ones); 255 where the winning weighted
 * probability is below minConfidence. probs [N, C, H, W] → int64 [N, H, W].
 */
export function pslOnlineLabel(probs: Tensor, classWeights: Tensor, minConfidence = 0): Tensor {
  return tidy(() => {
    const [n, c] = classWeights.shape;
    const weighted = probs.mul(classWeights.reshape([n, c, 1, 1]));
    const { values, indices } = weighted.max(1);
    // where() with a number operand promotes to float; cross-entropy needs int64 targets.
    return minConfidence > 0 ? where(values.lt(minConfidence), IGNORE_INDEX, indices).to("int64") : indices;
  });
}

/**
 * Class weights of one image for PSL: [1, s_1 … s_K] with s_c = 0 for classes not in the label; without
 * scores (segmentation.pslClassWeights "labels") every labelled class weighs 1.
 */
export function pslClassWeights(
  labels: readonly number[],
  scores: ArrayLike<number> | null,
  numClasses: number,
): Float32Array {
  const w = new Float32Array(numClasses);
  w[0] = 1;
  for (const c of labels) w[c] = scores ? scores[c - 1] : 1;
  return w;
}

/** Whether PSL needs the classifier's image-level scores under this configuration. */
export function pslNeedsScores(cfg: SegmentationConfig): boolean {
  return cfg.psl && cfg.pslClassWeights === "scores";
}

/** The erasing step whose classifier scores the images for PSL (segmentation.pslScoreStep). */
export function pslScoreStepOf(steps: readonly number[], which: "first" | "last"): number {
  if (!steps.length) throw new Error("PSL needs a finished erasing step for its image-level scores");
  return which === "first" ? steps[0]! : steps[steps.length - 1]!;
}

/**
 * The classifier's image-level sigmoid scores for every image, computed once from one erasing
 * step's classifier on the un-erased image and cached in scoresPath: they do not change while the
 * segmentation network trains, so computing them online would only repeat work.
 */
export async function imageLevelScores(
  classifierDir: string,
  items: DatasetItem[],
  numClasses: number,
  outputStride: OutputStride,
  scoresPath: string,
): Promise<Map<string, number[]>> {
  const cached = existsSync(scoresPath) ? readJson<Record<string, number[]>>(scoresPath) : {};
  const todo = items.filter((it) => !cached[it.id]);
  if (todo.length) {
    const model = new CamClassifier(numClasses - 1, { outputStride, imagenet: false });
    try {
      loadModelWeights(classifierDir, model);
      model.eval();
      for (const it of todo) {
        const img = await loadRgb(it.imagePath);
        cached[it.id] = noGrad(() =>
          tidy(() =>
            Array.from(
              model
                .forward(imagesToTensor([img]))
                .sigmoid()
                .toArray() as Float32Array,
              (v) => +v.toFixed(5),
            ),
          ),
        );
      }
    } finally {
      model.dispose();
    }
    await writeJson(scoresPath, cached);
  }
  return new Map(items.map((it) => [it.id, cached[it.id]]));
}

export interface SegmentationModelInfo {
  architecture: "deeplab-largefov-mobilenetv2";
  outputStride: OutputStride;
  classNames: string[];
  /** RGB triples of the classes' colours. */
  palette: number[];
}

interface Sample {
  image: RgbImage;
  label: Uint8Array;
  weights: Float32Array;
}

export interface TrainSegmentationOptions {
  dir: string;
  items: DatasetItem[];
  numClasses: number;
  /** Class names and palette, saved with the model so a Segmenter can be loaded from the folder alone. */
  classNames: string[];
  palette: Uint8Array;
  /** Folder of label PNGs (<id>.png: pseudo-labels), or "ground-truth" for the fully-supervised bound. */
  labels: string | "ground-truth";
  /** Image-level scores per id (needed when PSL weighs classes by scores: pslNeedsScores). */
  scores?: Map<string, number[]>;
  config: SegmentationConfig;
  seed: number;
  fill?: readonly [number, number, number];
  log?: (line: string) => void;
  onStep?: (done: number, total: number, metrics: Record<string, number>) => void;
}

export async function trainSegmentation(o: TrainSegmentationOptions): Promise<TrainingResult> {
  const cfg = o.config;
  if (pslNeedsScores(cfg) && !o.scores)
    throw new Error("train-seg: PSL needs the classifier's image-level scores");
  const items = o.items.filter((it) => (o.labels === "ground-truth" ? !!it.maskPath : true));
  manualSeed(o.seed);
  const model = new DeepLabLargeFov({ numClasses: o.numClasses, outputStride: cfg.outputStride });
  const fill = o.fill ?? IMAGENET_MEAN_U8;
  let pslLossSum = 0;
  let steps = 0;
  try {
    const result = await runTrainingLoop<DatasetItem, Sample>({
      name: "train-seg",
      dir: o.dir,
      model,
      items,
      hyper: cfg,
      seed: o.seed,
      log: o.log,
      onStep: o.onStep,
      prepare: async (item, rng) => {
        const image = await loadRgb(item.imagePath);
        const fromMasks = o.labels === "ground-truth";
        const path = fromMasks ? item.maskPath! : join(o.labels, `${item.id}.png`);
        const png = fromMasks ? await readGroundTruthMask(item) : await readIndexedPng(path);
        if (png.width !== image.width || png.height !== image.height)
          throw new Error(
            `${path}: label ${png.width}×${png.height} does not match image ${image.width}×${image.height}`,
          );
        const aug = augment(
          { image, labels: [{ width: png.width, height: png.height, data: png.indices }] },
          { scale: cfg.scaleRange, crop: cfg.cropSize, fill },
          rng,
        );
        const scores = pslNeedsScores(cfg) ? o.scores!.get(item.id) : null;
        if (scores === undefined) throw new Error(`train-seg: no PSL image-level score for ${item.id}`);
        return {
          image: aug.image,
          label: aug.labels![0].data,
          weights: pslClassWeights(item.labels, scores, o.numClasses),
        };
      },
      step: (samples) => {
        const n = samples.length;
        const { width, height } = samples[0].image;
        const x = imagesToTensor(samples.map((s) => s.image));
        const packed = new Uint8Array(n * width * height);
        samples.forEach((s, i) => packed.set(s.label, i * width * height));
        const target = tensor(packed, [n, height, width], "uint8").to("int64");
        const logits = autocastForward(() => model.forward(x));
        let loss = crossEntropy(logits, target, { ignoreIndex: IGNORE_INDEX });
        if (cfg.psl) {
          const weights = tensor(Float32Array.from(samples.flatMap((s) => Array.from(s.weights))), [
            n,
            o.numClasses,
          ]);
          const online = pslOnlineLabel(softmax(logits.detach(), 1), weights, cfg.pslMinConfidence);
          const pslLoss = crossEntropy(logits, online, { ignoreIndex: IGNORE_INDEX });
          pslLossSum += pslLoss.item();
          loss = loss.add(pslLoss.mul(cfg.pslLambda));
        }
        steps++;
        loss.backward();
        return { loss: loss.item() };
      },
      epochMetrics: () => {
        const m: Record<string, number> = cfg.psl ? { pslLoss: pslLossSum / Math.max(1, steps) } : {};
        pslLossSum = 0;
        steps = 0;
        return m;
      },
    });
    await writeJson(join(o.dir, "metrics.json"), result);
    await writeJson(join(o.dir, "model.json"), {
      architecture: "deeplab-largefov-mobilenetv2",
      outputStride: cfg.outputStride,
      classNames: o.classNames,
      palette: Array.from(o.palette.subarray(0, 3 * o.numClasses)),
    } satisfies SegmentationModelInfo);
    await markDone(o.dir, {
      epochs: cfg.epochs,
      final_loss: result.epochs.at(-1)?.loss,
      psl: cfg.psl,
      labels: o.labels,
    });
    return result;
  } finally {
    model.dispose();
  }
}
