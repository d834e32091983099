// Measures the paper's claim: with each erasing step the union of mined regions should recall more of
// the objects while staying precise. Compares union-up-to-t against ground-truth masks.
import type { DatasetItem } from "../data/dataset.js";
import { readGroundTruthMask } from "../data/mask.js";
import { IGNORE_INDEX } from "../data/types.js";
import { ConfusionMatrix } from "../eval/metrics.js";
import { loadStepRegions } from "./mine.js";
import { unionRegions, type MinedRegions, type OverlapRule } from "./regions.js";

export interface PrecisionRecall {
  precision: number;
  recall: number;
  iou: number;
}

export interface StepQuality extends PrecisionRecall {
  t: number;
  per_class: Record<string, PrecisionRecall>;
}

function prIou(cm: ConfusionMatrix, c: number): PrecisionRecall {
  const { precision, recall } = cm.precisionRecall(c);
  return { precision, recall, iou: cm.iou()[c] };
}

export async function evaluateMining(
  runDir: string,
  steps: number[],
  items: DatasetItem[],
  classNames: string[],
  overlap: OverlapRule,
): Promise<StepQuality[]> {
  const fg = steps.map(() => new ConfusionMatrix(2));
  const perClass = steps.map(() => new ConfusionMatrix(classNames.length));
  for (const item of items) {
    if (!item.maskPath) continue;
    const gt = (await readGroundTruthMask(item)).indices;
    const gtFg = gt.map((v) => (v === IGNORE_INDEX ? IGNORE_INDEX : v > 0 ? 1 : 0));
    const mined: MinedRegions[] = [];
    for (let k = 0; k < steps.length; k++) {
      mined.push(await loadStepRegions(runDir, steps[k], item.id));
      const union = unionRegions(mined, overlap).cls;
      fg[k].add(
        gtFg,
        union.map((v) => (v === 0 ? 0 : 1)),
      );
      perClass[k].add(
        gt,
        union.map((v) => (v === IGNORE_INDEX ? 0 : v)),
      );
    }
  }
  return steps.map((t, k) => {
    const classes: Record<string, PrecisionRecall> = {};
    classNames.forEach((name, c) => {
      if (c > 0 && !Number.isNaN(perClass[k].iou()[c])) classes[name] = prIou(perClass[k], c);
    });
    return { t, ...prIou(fg[k], 1), per_class: classes };
  });
}
