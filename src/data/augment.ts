/**
 * Joint training augmentation: random scale, random crop with padding, horizontal flip, applied with
 * one set of parameters to an RGB image (bilinear), its label maps (nearest) and float maps
 * (bilinear), so they stay aligned. Randomness comes only from the Rng passed in.
 */
import { axisMap, remapF32, remapU8 } from "./resample.js";
import { IGNORE_INDEX, IMAGENET_MEAN_U8, type FloatMap, type LabelMap, type RgbImage } from "./types.js";

/** Uniform [0, 1) generator. */
export type Rng = () => number;

/** mulberry32: tiny, fast, good enough for augmentation, and fully determined by its 32-bit seed. */
export function mulberry32(seed: number): Rng {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixes integers into one 32-bit seed, e.g. (seed, epoch, index) → a per-sample stream. */
export function deriveSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p | 0), 0x9e3779b1);
    h ^= h >>> 16;
    h = Math.imul(h ^ Math.floor(p / 4294967296), 0x85ebca6b);
    h ^= h >>> 13;
  }
  return h >>> 0;
}

/** Integer uniform in [lo, hi]. */
export function randInt(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

export interface AugmentSample {
  image: RgbImage;
  /** Class-index maps (e.g. masks, pseudo-labels): nearest sampling, padded with labelFill. */
  labels?: LabelMap[];
  /** Per-pixel float maps (e.g. scores): bilinear sampling, padded with mapFill. */
  maps?: FloatMap[];
}

export interface AugmentOptions {
  /** Random scale factor range [min, max]; default [1, 1] (no scaling). */
  scale?: readonly [number, number];
  /** Output size after a random crop; padded where the scaled image is smaller. Default: no crop. */
  crop?: number | { width: number; height: number };
  /** Probability of a horizontal flip; default 0.5. */
  flipProbability?: number;
  /** Image padding colour; default the ImageNet mean, so padding normalises to ~0. */
  fill?: readonly [number, number, number];
  /** Label padding; default 255 (ignored by the loss). */
  labelFill?: number;
  /** Float map padding; default 0. */
  mapFill?: number;
}

/** Everything random about one augmentation, so it can be logged, replayed or checked. */
export interface AugmentParams {
  scaledWidth: number;
  scaledHeight: number;
  /** Position of the output's top-left in the scaled image; negative means padding before the image. */
  offsetX: number;
  offsetY: number;
  outWidth: number;
  outHeight: number;
  flip: boolean;
}

/** Draws the parameters; always consumes exactly four numbers from rng. */
export function sampleAugmentParams(
  width: number,
  height: number,
  opts: AugmentOptions,
  rng: Rng,
): AugmentParams {
  const [lo, hi] = opts.scale ?? [1, 1];
  if (!(lo > 0 && hi >= lo)) throw new RangeError(`augment: bad scale range [${lo}, ${hi}]`);
  const s = lo + rng() * (hi - lo);
  const scaledWidth = Math.max(1, Math.round(width * s));
  const scaledHeight = Math.max(1, Math.round(height * s));
  const crop = typeof opts.crop === "number" ? { width: opts.crop, height: opts.crop } : opts.crop;
  const outWidth = crop?.width ?? scaledWidth;
  const outHeight = crop?.height ?? scaledHeight;
  if (!(Number.isInteger(outWidth) && Number.isInteger(outHeight) && outWidth > 0 && outHeight > 0)) {
    throw new RangeError(`augment: bad crop size ${outWidth}×${outHeight}`);
  }
  // Crop inside a bigger image, or place a smaller image at a random spot inside the padded crop.
  const rx = rng();
  const ry = rng();
  const offsetX =
    Math.min(0, scaledWidth - outWidth) + Math.floor(rx * (Math.abs(scaledWidth - outWidth) + 1));
  const offsetY =
    Math.min(0, scaledHeight - outHeight) + Math.floor(ry * (Math.abs(scaledHeight - outHeight) + 1));
  const flip = rng() < (opts.flipProbability ?? 0.5);
  return { scaledWidth, scaledHeight, offsetX, offsetY, outWidth, outHeight, flip };
}

/** Applies given parameters to the image and every map. Maps must have the image's size. */
export function applyAugment(
  sample: AugmentSample,
  p: AugmentParams,
  opts: AugmentOptions = {},
): AugmentSample {
  const { image } = sample;
  const { width, height } = image;
  if (image.data.length !== width * height * 3) throw new RangeError("augment: image data is not HWC RGB");
  for (const m of [...(sample.labels ?? []), ...(sample.maps ?? [])]) {
    if (m.width !== width || m.height !== height || m.data.length !== width * height) {
      throw new RangeError(`augment: map ${m.width}×${m.height} does not match image ${width}×${height}`);
    }
  }
  const mx = axisMap(p.outWidth, width, p.scaledWidth, p.offsetX, p.flip);
  const my = axisMap(p.outHeight, height, p.scaledHeight, p.offsetY, false);
  const size = { width: p.outWidth, height: p.outHeight };
  const labelFill = [opts.labelFill ?? IGNORE_INDEX];
  const out: AugmentSample = {
    image: {
      ...size,
      data: remapU8(image.data, width, 3, mx, my, opts.fill ?? IMAGENET_MEAN_U8, "bilinear"),
    },
  };
  if (sample.labels) {
    out.labels = sample.labels.map((l) => ({
      ...size,
      data: remapU8(l.data, width, 1, mx, my, labelFill, "nearest"),
    }));
  }
  if (sample.maps) {
    out.maps = sample.maps.map((m) => ({
      ...size,
      data: remapF32(m.data, width, mx, my, opts.mapFill ?? 0, "bilinear"),
    }));
  }
  return out;
}

/** Random scale → random crop with padding → random horizontal flip, jointly. */
export function augment(sample: AugmentSample, opts: AugmentOptions, rng: Rng): AugmentSample {
  return applyAugment(sample, sampleAugmentParams(sample.image.width, sample.image.height, opts, rng), opts);
}

/** Horizontal mirror of an RGB image (e.g. for flip test-time augmentation). */
export function flipRgb(img: RgbImage): RgbImage {
  return {
    width: img.width,
    height: img.height,
    data: remapU8(
      img.data,
      img.width,
      3,
      axisMap(img.width, img.width, img.width, 0, true),
      axisMap(img.height, img.height, img.height),
      [0, 0, 0],
      "nearest",
    ),
  };
}
