// A run's trained segmentation model on the engine (libtorch). The public entry is loadSegmenter() in
// src/index.ts, which also opens exported .onnx models on onnxruntime.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { buildPalette } from "./data/classes.js";
import { flipRgb } from "./data/augment.js";
import { loadRgb } from "./data/image.js";
import type { RgbImage } from "./data/types.js";
import { loadModelWeights } from "./engine/checkpoint.js";
import { noGrad, softmax, tidy } from "./engine/index.js";
import { DeepLabLargeFov } from "./nn/deeplab.js";
import {
  finishSegmentation,
  type ImageSegmentationModel,
  type SegmentOptions,
  type SegmentResult,
} from "./segment-result.js";
import { readJson } from "./stages/run-dir.js";
import type { SegmentationModelInfo } from "./stages/train-seg.js";
import { imagesToTensor } from "./stages/tensorize.js";

/** A run's segmentation network in eval mode, and what model.json says of it; the caller disposes the model. */
export function loadSegmentationNetwork(dir: string): {
  model: DeepLabLargeFov;
  info: SegmentationModelInfo;
} {
  const segDir = existsSync(join(dir, "segmentation", "model.json")) ? join(dir, "segmentation") : dir;
  const infoPath = join(segDir, "model.json");
  if (!existsSync(infoPath)) throw new Error(`${dir}: no trained segmentation model (missing ${infoPath})`);
  const info = readJson<SegmentationModelInfo>(infoPath);
  const model = new DeepLabLargeFov({
    numClasses: info.classNames.length,
    outputStride: info.outputStride,
    imagenet: false,
  });
  try {
    loadModelWeights(segDir, model);
  } catch (err) {
    model.dispose();
    throw err;
  }
  model.eval();
  return { model, info };
}

export class Segmenter implements ImageSegmentationModel {
  private constructor(
    private readonly model: DeepLabLargeFov,
    readonly classes: string[],
    /** 256-entry RGB palette (768 bytes) for writing indexed PNGs. */
    readonly palette: Uint8Array,
  ) {}

  /** Loads <runDir>/segmentation (or a segmentation folder itself). */
  static async load(dir: string): Promise<Segmenter> {
    const { model, info } = loadSegmentationNetwork(dir);
    const colors: [number, number, number][] = [];
    for (let i = 0; i + 2 < info.palette.length; i += 3)
      colors.push([info.palette[i], info.palette[i + 1], info.palette[i + 2]]);
    return new Segmenter(model, info.classNames, buildPalette(colors));
  }

  /** Segments an image file, an encoded image buffer, or decoded RGB pixels. */
  async segment(input: string | Uint8Array | RgbImage, o: SegmentOptions = {}): Promise<SegmentResult> {
    const img = typeof input === "string" || input instanceof Uint8Array ? await loadRgb(input) : input;
    return finishSegmentation(img, this.probabilities(img, o.flip ?? false), this.classes, o.crf);
  }

  /** Softmax class probabilities [C × H × W] at the image's size. */
  probabilities(img: RgbImage, flip = false): Float32Array {
    return noGrad(() =>
      tidy(() => {
        let p = softmax(this.model.forward(imagesToTensor([img])), 1);
        if (flip) p = p.add(softmax(this.model.forward(imagesToTensor([flipRgb(img)])), 1).flip([3])).div(2);
        return p.toArray() as Float32Array;
      }),
    );
  }

  dispose(): void {
    this.model.dispose();
  }
}

export type { ImageSegmentationModel, SegmentOptions, SegmentResult } from "./segment-result.js";
