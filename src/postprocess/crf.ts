// Fully connected CRF refinement of segmentation probabilities (Krähenbühl & Koltun, NIPS 2011), with the
// permutohedral-lattice filter of Adams et al. (Eurographics 2010). The inference runs in the native addon
// (native/src/crf.cc); this module only types and validates the call.
import { native } from "../engine/native.js";
import { argmaxLabels } from "./labels.js";

export { argmaxLabels };

/** An 8-bit RGB image, HWC interleaved: data[(y * width + x) * 3 + c] (structurally the data layer's RgbImage). */
export interface CrfImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * Mean-field parameters. Energy per pixel pair (Potts compatibility):
 *   w1·exp(−|p_i−p_j|²/2θα² − |I_i−I_j|²/2θβ²) + w2·exp(−|p_i−p_j|²/2θγ²)
 * with positions p in pixels and colours I in 0..255 units. The defaults are DeepLab v1's
 * (bi_w=4, bi_xy_std=67, bi_rgb_std=3, pos_w=3, pos_xy_std=3): tuned for VOC-sized images and
 * network outputs upsampled to image resolution.
 */
export interface CrfOptions {
  /** Mean-field iterations; 0 returns the (clipped, renormalised) input. Default 10. */
  iterations?: number;
  /** Appearance (bilateral) kernel weight w1. Default 4. */
  w1?: number;
  /** Appearance kernel spatial std θα, pixels. Default 67. */
  thetaAlpha?: number;
  /** Appearance kernel colour std θβ, 0..255 intensity units. Default 3. */
  thetaBeta?: number;
  /** Smoothness (spatial Gaussian) kernel weight w2. Default 3. */
  w2?: number;
  /** Smoothness kernel spatial std θγ, pixels. Default 3. */
  thetaGamma?: number;
  /** Probabilities are clipped to at least this before −log, so a confidently wrong pixel can still flip. Default 1e-5. */
  minProb?: number;
  /** Worker threads (split over labels); 0 uses every core. Default 0. */
  threads?: number;
}

export const CRF_DEFAULTS: Readonly<Required<CrfOptions>> = Object.freeze({
  iterations: 10,
  w1: 4,
  thetaAlpha: 67,
  thetaBeta: 3,
  w2: 3,
  thetaGamma: 3,
  minProb: 1e-5,
  threads: 0,
});

/**
 * Refines a softmax probability map `probs` (numClasses × height × width, planar float32) with a dense CRF
 * over `image`. Returns the refined probabilities in the same layout; each pixel's column sums to 1.
 * Throws an Error naming the mismatch when the sizes disagree.
 */
export function denseCrf(
  image: CrfImage,
  probs: Float32Array,
  numClasses: number,
  options: CrfOptions = {},
): Float32Array {
  const opts = { ...CRF_DEFAULTS, ...stripUndefined(options) };
  return native.denseCrf(image.data, image.width, image.height, probs, numClasses, opts) as Float32Array;
}

/** denseCrf followed by argmax: the refined label map, H×W. */
export function crfLabels(
  image: CrfImage,
  probs: Float32Array,
  numClasses: number,
  options: CrfOptions = {},
): Uint8Array {
  if (numClasses > 256) throw new Error(`crfLabels: ${numClasses} classes do not fit a Uint8Array label map`);
  const refined = denseCrf(image, probs, numClasses, options);
  return argmaxLabels(refined, numClasses, image.width * image.height);
}

// `{ iterations: undefined }` must mean "default", not override it.
function stripUndefined(o: CrfOptions): CrfOptions {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as CrfOptions;
}
