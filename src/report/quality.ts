// Pseudo-label quality against the ground truth, measured by the report itself on the images of the
// sampled split that have both (pseudo-labels are made for every image the run mined, eval ones included).
import { existsSync } from "node:fs";
import { readIndexedPng } from "../data/png.js";
import { readGroundTruthMask } from "../data/mask.js";
import { IGNORE_INDEX } from "../data/types.js";
import type { RunData } from "./run-data.js";

export interface PseudoLabelQuality {
  images: number;
  /** Fraction of (non-void) ground-truth pixels the pseudo-label labels (i.e. does not ignore). */
  coverage: number;
  /** Fraction of labelled pixels whose class is right. */
  accuracy: number;
  /** Of the pixels labelled with a foreground class, the fraction that is that class in the ground truth. */
  fgPrecision: number;
  /** Of the ground-truth foreground pixels, the fraction labelled with their class. */
  fgRecall: number;
  /** Images compared at most (the first ones by id). */
  limit: number;
}

export async function pseudoLabelQuality(
  run: RunData,
  items: ReadonlyArray<{ id: string; maskPath?: string }>,
  limit = 300,
): Promise<PseudoLabelQuality | undefined> {
  let images = 0;
  let total = 0;
  let labelled = 0;
  let correct = 0;
  let plFg = 0;
  let fgCorrect = 0;
  let gtFg = 0;
  const sorted = [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const item of sorted) {
    if (images >= limit) break;
    const plPath = run.path("pseudo-labels", `${item.id}.png`);
    if (!item.maskPath || !existsSync(item.maskPath) || !existsSync(plPath)) continue;
    let gt: Uint8Array;
    let pl: Uint8Array;
    try {
      const g = await readGroundTruthMask(item);
      const p = await readIndexedPng(plPath);
      if (g.width !== p.width || g.height !== p.height) continue;
      gt = g.indices;
      pl = p.indices;
    } catch {
      continue;
    }
    images++;
    for (let i = 0; i < gt.length; i++) {
      const g = gt[i];
      if (g === IGNORE_INDEX) continue;
      const p = pl[i];
      total++;
      if (g > 0) gtFg++;
      if (p === IGNORE_INDEX) continue;
      labelled++;
      if (p === g) correct++;
      if (p > 0) {
        plFg++;
        if (p === g) fgCorrect++;
      }
    }
  }
  if (!images || !total) return undefined;
  return {
    images,
    coverage: labelled / total,
    accuracy: labelled ? correct / labelled : 0,
    fgPrecision: plFg ? fgCorrect / plFg : 0,
    fgRecall: gtFg ? fgCorrect / gtFg : 0,
    limit,
  };
}
