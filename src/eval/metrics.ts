// Segmentation and multi-label classification metrics, as the WSSS literature reports them.
import { IGNORE_INDEX } from "../data/types.js";

/** The 7-class headline subset of this project's VOC protocol (the classes the data actually covers). */
export const HEADLINE_CLASSES = ["background", "person", "cat", "dog", "horse", "cow", "sheep"] as const;

/** A confusion matrix over numClasses labels: rows ground truth, columns prediction. Ignore pixels skipped. */
export class ConfusionMatrix {
  readonly counts: Float64Array;

  constructor(readonly numClasses: number) {
    this.counts = new Float64Array(numClasses * numClasses);
  }

  /** Adds one image: gt and pred are label maps of the same size; gt 255 (ignore) is skipped. */
  add(gt: Uint8Array, pred: Uint8Array): void {
    if (gt.length !== pred.length)
      throw new Error(`confusion: gt has ${gt.length} pixels, prediction ${pred.length}`);
    const n = this.numClasses;
    for (let i = 0; i < gt.length; i++) {
      const g = gt[i];
      if (g === IGNORE_INDEX) continue;
      const p = pred[i];
      if (g >= n) throw new Error(`confusion: ground-truth label ${g} is not a class (0..${n - 1}) or 255`);
      if (p >= n) continue; // an ignore/invalid prediction counts as a miss for g
      this.counts[g * n + p]++;
    }
  }

  merge(other: ConfusionMatrix): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i] += other.counts[i];
  }

  /** IoU per class; NaN for a class that occurs neither in ground truth nor in prediction. */
  iou(): number[] {
    const n = this.numClasses;
    const out: number[] = [];
    for (let c = 0; c < n; c++) {
      let tp = 0;
      let row = 0;
      let col = 0;
      tp = this.counts[c * n + c];
      for (let k = 0; k < n; k++) {
        row += this.counts[c * n + k];
        col += this.counts[k * n + c];
      }
      const union = row + col - tp;
      out.push(union > 0 ? tp / union : NaN);
    }
    return out;
  }

  /** Mean IoU over the classes that occur in ground truth or prediction (optionally a subset of classes). */
  meanIou(subset?: readonly number[]): number {
    const ious = this.iou();
    const take = (subset ?? ious.map((_, i) => i)).map((c) => ious[c]).filter((v) => !Number.isNaN(v));
    return take.length ? take.reduce((a, b) => a + b, 0) / take.length : NaN;
  }

  pixelAccuracy(): number {
    const n = this.numClasses;
    let correct = 0;
    let total = 0;
    for (let c = 0; c < n; c++) correct += this.counts[c * n + c];
    for (const v of this.counts) total += v;
    return total ? correct / total : NaN;
  }

  /** Precision and recall of one class (e.g. foreground in a 2-class matrix). */
  precisionRecall(c: number): { precision: number; recall: number } {
    const n = this.numClasses;
    let row = 0;
    let col = 0;
    for (let k = 0; k < n; k++) {
      row += this.counts[c * n + k];
      col += this.counts[k * n + c];
    }
    const tp = this.counts[c * n + c];
    return { precision: col ? tp / col : NaN, recall: row ? tp / row : NaN };
  }
}

export interface SegmentationReport {
  miou: number;
  pixel_acc: number;
  per_class: Record<string, number | null>;
  /** Mean IoU over the configured headline classes (eval.headlineClasses); null when none are set. */
  headline: { classes: string[]; miou: number } | null;
}

export function segmentationReport(
  cm: ConfusionMatrix,
  classNames: readonly string[],
  headlineClasses: readonly string[] = [],
): SegmentationReport {
  const lower = classNames.map((n) => n.toLowerCase());
  const headline = headlineClasses.map((n) => lower.indexOf(n.toLowerCase())).filter((i) => i >= 0);
  const ious = cm.iou();
  const perClass: Record<string, number | null> = {};
  classNames.forEach((name, i) => (perClass[name] = Number.isNaN(ious[i]) ? null : ious[i]));
  return {
    miou: cm.meanIou(),
    pixel_acc: cm.pixelAccuracy(),
    per_class: perClass,
    headline: headline.length
      ? { classes: headline.map((i) => classNames[i]), miou: cm.meanIou(headline) }
      : null,
  };
}

/**
 * Average precision of one class from scores and binary targets (the area under the precision-recall
 * curve as scikit-learn's average_precision_score computes it). NaN when the class has no positives.
 */
export function averagePrecision(scores: ArrayLike<number>, targets: ArrayLike<number>): number {
  const order = Array.from(scores, (s, i) => [s, i] as const).sort((a, b) => b[0] - a[0]);
  let positives = 0;
  for (let i = 0; i < targets.length; i++) if (targets[i] > 0.5) positives++;
  if (!positives) return NaN;
  let tp = 0;
  let fp = 0;
  let ap = 0;
  let prevRecall = 0;
  for (let k = 0; k < order.length; k++) {
    if (targets[order[k][1]] > 0.5) tp++;
    else fp++;
    // Tied scores form one threshold: only take a point after the last of a tie.
    if (k + 1 < order.length && order[k + 1][0] === order[k][0]) continue;
    const recall = tp / positives;
    ap += (recall - prevRecall) * (tp / (tp + fp));
    prevRecall = recall;
  }
  return ap;
}

/** Mean AP over classes with at least one positive; scores/targets are [numSamples][numClasses]. */
export function meanAveragePrecision(
  scores: Float32Array[],
  targets: Float32Array[],
  classes?: number[],
): number {
  const k = scores[0]?.length ?? 0;
  const aps: number[] = [];
  for (const c of classes ?? Array.from({ length: k }, (_, i) => i)) {
    const ap = averagePrecision(
      scores.map((s) => s[c]),
      targets.map((t) => t[c]),
    );
    if (!Number.isNaN(ap)) aps.push(ap);
  }
  return aps.length ? aps.reduce((a, b) => a + b, 0) / aps.length : NaN;
}
