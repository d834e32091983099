// The standard WSSS "seed" metric: label each pixel with argmax over {background threshold θ, CAMs of the
// image's labelled classes} and measure mIoU against ground truth, for a sweep of θ.
import type { DatasetItem } from "../data/dataset.js";
import { readGroundTruthMask } from "../data/mask.js";
import { ConfusionMatrix, segmentationReport, type SegmentationReport } from "../eval/metrics.js";
import type { CamStore } from "./cam.js";

export const DEFAULT_THRESHOLDS = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6];

/** Per pixel: the strongest labelled class and its CAM value (class 0 and value 0 where no class). */
export function strongestClass(
  cams: Float32Array,
  labels: number[],
  pixels: number,
): { value: Float32Array; cls: Uint8Array } {
  const value = new Float32Array(pixels);
  const cls = new Uint8Array(pixels);
  labels.forEach((c, k) => {
    const band = cams.subarray(k * pixels, (k + 1) * pixels);
    for (let i = 0; i < pixels; i++) {
      if (band[i] > value[i]) {
        value[i] = band[i];
        cls[i] = c;
      }
    }
  });
  return { value, cls };
}

export interface SeedEvaluation {
  thresholds: Array<{ threshold: number } & SegmentationReport>;
  best: { threshold: number } & SegmentationReport;
  images: number;
}

export async function evaluateCamSeeds(
  store: CamStore,
  items: DatasetItem[],
  classNames: string[],
  o: {
    thresholds?: readonly number[];
    /** eval.headlineClasses: the best θ is the one with the best mean over them; without, over all. */
    headlineClasses?: readonly string[];
  } = {},
): Promise<SeedEvaluation> {
  const thresholds = o.thresholds ?? DEFAULT_THRESHOLDS;
  const withMasks = items.filter((it) => it.maskPath && store.has(it.id));
  if (!withMasks.length) throw new Error("eval-cam: no image has both a ground-truth mask and CAMs");
  const cms = thresholds.map(() => new ConfusionMatrix(classNames.length));
  for (const item of withMasks) {
    const { record, cams } = await store.get(item.id);
    const mask = await readGroundTruthMask(item);
    const n = record.width * record.height;
    if (mask.width !== record.width || mask.height !== record.height)
      throw new Error(
        `${item.maskPath}: mask ${mask.width}×${mask.height} does not match CAMs ${record.width}×${record.height}`,
      );
    const { value, cls } = strongestClass(cams, record.labels, n);
    const pred = new Uint8Array(n);
    thresholds.forEach((th, k) => {
      for (let i = 0; i < n; i++) pred[i] = value[i] > th ? cls[i] : 0;
      cms[k].add(mask.indices, pred);
    });
  }
  const rows = thresholds.map((threshold, k) => ({
    threshold,
    ...segmentationReport(cms[k], classNames, o.headlineClasses),
  }));
  const score = (r: SegmentationReport) => r.headline?.miou ?? r.miou;
  const best = rows.reduce((a, b) => (score(b) > score(a) ? b : a));
  return { thresholds: rows, best, images: withMasks.length };
}
