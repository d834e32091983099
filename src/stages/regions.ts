// Pure functions of adversarial erasing on typed arrays: mining regions from CAMs, cumulative erase
// masks, the union of regions over steps, and pseudo-label synthesis. Kept free of I/O so they are
// tested on hand-built cases.
import { IGNORE_INDEX } from "../data/types.js";

export type OverlapRule = "higher-cam" | "ignore";

export interface MinedRegions {
  /** Class index where mined, 0 where not, 255 where classes collide under the "ignore" rule. */
  cls: Uint8Array;
  /** The winning class's CAM value (0 where not mined). */
  value: Float32Array;
}

/**
 * Mines F_t,c = {pixels whose normalised CAM ≥ τ} (or the top p% of CAM values of each class) for every
 * labelled class, skipping pixels already erased. Overlaps go to the higher CAM, or to ignore (255).
 */
export function mineRegions(
  cams: Float32Array,
  labels: readonly number[],
  pixels: number,
  o: { threshold: number; topPercent?: number | null; overlap: OverlapRule; erased?: Uint8Array },
): MinedRegions {
  const cls = new Uint8Array(pixels);
  const value = new Float32Array(pixels);
  labels.forEach((c, k) => {
    const band = cams.subarray(k * pixels, (k + 1) * pixels);
    const th = o.topPercent ? topPercentThreshold(band, o.topPercent, o.erased) : o.threshold;
    for (let i = 0; i < pixels; i++) {
      const v = band[i];
      if (v < th || v <= 0 || o.erased?.[i]) continue;
      if (cls[i] === 0) {
        cls[i] = c;
        value[i] = v;
      } else if (o.overlap === "ignore") {
        cls[i] = IGNORE_INDEX;
        value[i] = Math.max(value[i], v);
      } else if (v > value[i]) {
        cls[i] = c;
        value[i] = v;
      }
    }
  });
  return { cls, value };
}

/** τ at erasing step t (1-based): the step-1 threshold raised by `increase` per later step, ≤ 0.95. */
export function thresholdAtStep(threshold: number, increase: number, t: number): number {
  return Math.min(0.95, threshold + Math.max(0, t - 1) * increase);
}

/**
 * The labelled classes to mine at step t: all of them at step 1; later, only those the classifier still
 * recognises on the erased image (score of class c at index c − 1 ≥ minScore).
 */
export function classesToMine(
  labels: readonly number[],
  scores: ArrayLike<number>,
  t: number,
  minScore: number,
): number[] {
  if (t <= 1 || minScore <= 0) return [...labels];
  return labels.filter((c) => (scores[c - 1] ?? 0) >= minScore);
}

/** The CAM bands of a subset of the labels (bands are stored in label order). */
export function selectBands(
  cams: Float32Array,
  labels: readonly number[],
  keep: readonly number[],
  pixels: number,
): Float32Array {
  const out = new Float32Array(keep.length * pixels);
  keep.forEach((c, k) => {
    const from = labels.indexOf(c);
    if (from < 0) throw new Error(`class ${c} is not among the image's labels`);
    out.set(cams.subarray(from * pixels, (from + 1) * pixels), k * pixels);
  });
  return out;
}

/** The CAM value above which the top p% of (not yet erased) pixels lie. */
export function topPercentThreshold(band: Float32Array, percent: number, erased?: Uint8Array): number {
  const vals: number[] = [];
  for (let i = 0; i < band.length; i++) if (!erased?.[i]) vals.push(band[i]);
  if (!vals.length) return Infinity;
  vals.sort((a, b) => b - a);
  const k = Math.max(0, Math.min(vals.length - 1, Math.ceil((percent / 100) * vals.length) - 1));
  return vals[k];
}

/** Cumulative erase mask: previous ∪ mined (1 = erase). */
export function accumulateErase(previous: Uint8Array | null, mined: Uint8Array): Uint8Array {
  const out = previous ? previous.slice() : new Uint8Array(mined.length);
  for (let i = 0; i < mined.length; i++) if (mined[i] !== 0) out[i] = 1;
  return out;
}

/** Union of the regions mined at each step; a pixel claimed by different classes goes by the rule. */
export function unionRegions(steps: readonly MinedRegions[], overlap: OverlapRule): MinedRegions {
  const n = steps[0]?.cls.length ?? 0;
  const cls = new Uint8Array(n);
  const value = new Float32Array(n);
  for (const s of steps) {
    for (let i = 0; i < n; i++) {
      const c = s.cls[i];
      if (c === 0) continue;
      if (cls[i] === 0) {
        cls[i] = c;
        value[i] = s.value[i];
      } else if (cls[i] !== c) {
        if (overlap === "ignore" || c === IGNORE_INDEX) cls[i] = IGNORE_INDEX;
        else if (cls[i] !== IGNORE_INDEX && s.value[i] > value[i]) cls[i] = c;
        value[i] = Math.max(value[i], s.value[i]);
      } else value[i] = Math.max(value[i], s.value[i]);
    }
  }
  return { cls, value };
}

export interface PseudoLabelInput {
  /** Union of mined object regions. */
  regions: Uint8Array;
  /** Background confidence per pixel in [0, 1] (1 = surely background), or null when none is available. */
  background: Float32Array | null;
  /** A pixel is background when its background confidence ≥ this. */
  backgroundConfidence: number;
}

/** Mined class where a region claims the pixel; 0 where the background cue is confident; 255 elsewhere. */
export function synthesizePseudoLabel(o: PseudoLabelInput): Uint8Array {
  const n = o.regions.length;
  const out = new Uint8Array(n).fill(IGNORE_INDEX);
  for (let i = 0; i < n; i++) {
    const r = o.regions[i];
    if (r !== 0) out[i] = r;
    else if (o.background && o.background[i] >= o.backgroundConfidence) out[i] = 0;
  }
  return out;
}

/**
 * CAM-derived background confidence: 1 − the strongest labelled-class CAM (max over steps), the CAM
 * multiplied by `scale` first (pseudoLabels.camBgThreshold moves the CAM's own threshold this way).
 */
export function camBackground(maxCam: Float32Array, scale = 1): Float32Array {
  const out = new Float32Array(maxCam.length);
  for (let i = 0; i < maxCam.length; i++) out[i] = 1 - maxCam[i] * scale;
  return out;
}

/** Each pixel's strongest CAM over a stack of bands (band k at cams[k·n … k·n + n)), 0 where there are none. */
export function maxOverBands(cams: Float32Array, n: number): Float32Array {
  if (cams.length % n)
    throw new Error(`maxOverBands: ${cams.length} values are not whole bands of ${n} pixels`);
  const out = new Float32Array(n);
  for (let off = 0; off < cams.length; off += n) maxInto(out, cams.subarray(off, off + n));
  return out;
}

/** Elementwise maximum into acc (for the max CAM over steps). */
export function maxInto(acc: Float32Array, v: Float32Array): void {
  for (let i = 0; i < acc.length; i++) if (v[i] > acc[i]) acc[i] = v[i];
}

/**
 * Keeps a step's mined pixels only where the salient-object map agrees (saliency ≥ min). Used for steps
 * after the first, whose regions tend to bleed into the background once the object's core is erased.
 */
export function gateBySaliency(r: MinedRegions, saliency: Float32Array, min: number): MinedRegions {
  const cls = r.cls.slice();
  const value = r.value.slice();
  for (let i = 0; i < cls.length; i++) {
    if (cls[i] !== 0 && saliency[i] < min) {
      cls[i] = 0;
      value[i] = 0;
    }
  }
  return { cls, value };
}
