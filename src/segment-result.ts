// What every segmenter returns, whichever runtime computes it (the engine on libtorch, or onnxruntime on an
// exported .onnx model), and the last step both share. Importing this file loads no native code: the dense
// CRF (in the addon) is imported only when a caller asks for it.
import type { RgbImage } from "./data/types.js";
import type { CrfOptions } from "./postprocess/crf.js";
import { argmaxLabels } from "./postprocess/labels.js";

export interface SegmentOptions {
  /** Dense CRF post-processing: true for the defaults, or parameters (runs in the native addon). */
  crf?: boolean | CrfOptions;
  /** Average with the horizontally flipped image (test-time augmentation). */
  flip?: boolean;
}

export interface SegmentResult {
  /** Class index per pixel, row-major, at the image's original size. */
  labelMap: Uint8Array;
  width: number;
  height: number;
  classes: string[];
  /** Per-class probabilities [C × H × W] (after the CRF when it ran). */
  probabilities: Float32Array;
}

/** A loaded segmentation model: `loadSegmenter()` returns one for a run folder or an exported .onnx file. */
export interface ImageSegmentationModel {
  readonly classes: string[];
  /** 256-entry RGB palette (768 bytes) for writing indexed PNGs. */
  readonly palette: Uint8Array;
  /** Segments an image file, an encoded image buffer, or decoded RGB pixels. */
  segment(input: string | Uint8Array | RgbImage, o?: SegmentOptions): Promise<SegmentResult>;
  /** Frees the model (native tensors or the onnxruntime session). */
  dispose(): void;
}

/** Class probabilities [C × H × W] → the result: the optional dense CRF, then the per-pixel argmax. */
export async function finishSegmentation(
  img: RgbImage,
  probabilities: Float32Array,
  classes: string[],
  crf: SegmentOptions["crf"],
): Promise<SegmentResult> {
  let refined = probabilities;
  if (crf) {
    const { denseCrf } = await import("./postprocess/crf.js");
    refined = denseCrf(img, probabilities, classes.length, crf === true ? {} : crf);
  }
  return {
    labelMap: argmaxLabels(refined, classes.length, img.width * img.height),
    width: img.width,
    height: img.height,
    classes,
    probabilities: refined,
  };
}
