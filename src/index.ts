// The library API:
//   import { loadSegmenter } from "aepsl";
//   const seg = await loadSegmenter("runs/my-run");      // a run folder: the engine (libtorch addon)
//   const seg = await loadSegmenter("model.onnx");       // an `aepsl export` file: onnxruntime-node, no addon
//   const { labelMap, width, height, classes } = await seg.segment("photo.jpg");
// Both runtimes are imported on demand, so a service that only predicts from .onnx never loads libtorch.
import type { OnnxSegmenterOptions } from "./onnx/segmenter.js";
import type { ImageSegmentationModel } from "./segment-result.js";

export type { ImageSegmentationModel, SegmentOptions, SegmentResult } from "./segment-result.js";
export type { RgbImage } from "./data/types.js";
export type { OnnxSegmenterOptions } from "./onnx/segmenter.js";

/** Loads a run folder's segmentation model (engine) or an exported `.onnx` model (onnxruntime-node). */
export async function loadSegmenter(
  path: string,
  o: OnnxSegmenterOptions = {},
): Promise<ImageSegmentationModel> {
  if (path.toLowerCase().endsWith(".onnx")) {
    const { OnnxSegmenter } = await import("./onnx/segmenter.js");
    return OnnxSegmenter.load(path, o);
  }
  const { Segmenter } = await import("./segmenter.js");
  return Segmenter.load(path);
}
