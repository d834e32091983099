// Salient-object maps from the pretrained U²-Netp (weights/u2netp, Apache-2.0): the detector AE-PSL's
// background cue calls for (the paper used DRFI). Images are resized to a square input (as U²-Net's own
// test code does), run in batches, and the sigmoid map is resized back to each image's size.
import { join } from "node:path";
import { axisMap, remapF32 } from "../data/resample.js";
import { resizeRgb } from "../data/image.js";
import type { FloatMap, RgbImage } from "../data/types.js";
import { tensor } from "../engine/ops.js";
import { packageRoot } from "../engine/native.js";
import { loadTensors } from "../engine/serialize.js";
import { dispose, noGrad, tidy } from "../engine/tensor.js";
import { normalizeU2NetP, U2NetP } from "../nn/u2netp.js";

export const U2NETP_WEIGHTS = join(packageRoot, "weights", "u2netp", "u2netp.safetensors");

/** U²-Netp in eval mode with the shipped (or given) weights; the caller disposes its stateDict(). */
export function loadU2NetP(weights = U2NETP_WEIGHTS): U2NetP {
  const model = new U2NetP();
  model.training = false;
  const { tensors } = loadTensors(weights);
  try {
    model.loadStateDict(tensors);
  } catch (err) {
    dispose(model.stateDict());
    throw new Error(`${weights}: not U²-Netp weights (${(err as Error).message})`);
  } finally {
    dispose(tensors);
  }
  return model;
}

export interface U2NetPOptions {
  /** Side of the square network input; a multiple of 32 (default 320, the size it was trained at). */
  inputSize?: number;
  weights?: string;
}

export class U2NetPSaliency {
  readonly inputSize: number;
  readonly #model: U2NetP;

  private constructor(model: U2NetP, inputSize: number) {
    this.#model = model;
    this.inputSize = inputSize;
  }

  static load(o: U2NetPOptions = {}): U2NetPSaliency {
    const inputSize = o.inputSize ?? 320;
    if (!Number.isInteger(inputSize) || inputSize < 32 || inputSize % 32)
      throw new RangeError(`U²-Netp input size must be a multiple of 32 (got ${inputSize})`);
    return new U2NetPSaliency(loadU2NetP(o.weights), inputSize);
  }

  /** Saliency in [0, 1] at each image's own size. */
  mapBatch(images: readonly RgbImage[]): FloatMap[] {
    if (!images.length) return [];
    const s = this.inputSize;
    const packed = new Uint8Array(images.length * s * s * 3);
    images.forEach((img, i) => packed.set(resizeRgb(img, s, s).data, i * s * s * 3));
    const maps = noGrad(() =>
      tidy(() => {
        const x = tensor(packed, [images.length, s, s, 3], "uint8").permute([0, 3, 1, 2]);
        return this.#model.forward(normalizeU2NetP(x)).sigmoid().toArray() as Float32Array;
      }),
    );
    return images.map((img, i) => {
      const map = maps.subarray(i * s * s, (i + 1) * s * s);
      const mx = axisMap(img.width, s, img.width);
      const my = axisMap(img.height, s, img.height);
      return { width: img.width, height: img.height, data: remapF32(map, s, mx, my, 0, "bilinear") };
    });
  }

  map(img: RgbImage): FloatMap {
    return this.mapBatch([img])[0]!;
  }

  dispose(): void {
    dispose(this.#model.stateDict());
  }
}
