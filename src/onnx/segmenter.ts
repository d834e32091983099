// An exported model (`aepsl export`) run by onnxruntime-node: the same segment() results as the engine's
// Segmenter, without libtorch or the native addon (only the optional dense CRF needs the addon).
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { flipRgb } from "../data/augment.js";
import { buildPalette } from "../data/classes.js";
import { loadRgb } from "../data/image.js";
import type { RgbImage } from "../data/types.js";
import { softmaxClasses } from "../postprocess/labels.js";
import {
  finishSegmentation,
  type ImageSegmentationModel,
  type SegmentOptions,
  type SegmentResult,
} from "../segment-result.js";
import { readExportMetadata } from "./metadata.js";
import { decodeModel } from "./proto.js";

type OnnxRuntime = typeof import("onnxruntime-node");
type Session = import("onnxruntime-node").InferenceSession;

async function importOnnxRuntime(): Promise<OnnxRuntime> {
  try {
    return await import("onnxruntime-node");
  } catch (err) {
    throw new Error(
      "running an .onnx model needs the onnxruntime-node package: " +
        "ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node " +
        `(the variable skips its CUDA download; the CPU build is in the package) — ${(err as Error).message}`,
    );
  }
}

export interface OnnxSegmenterOptions {
  /** onnxruntime's intra-op threads; 0 (default) lets it choose (one per core). */
  threads?: number;
}

/** RGB HWC bytes → float32 [1, 3, H, W] with values 0..255 (the exported graph normalises itself). */
export function rgbToChannelsFirst(img: RgbImage): Float32Array {
  const pixels = img.width * img.height;
  const out = new Float32Array(3 * pixels);
  for (let i = 0; i < pixels; i++) {
    out[i] = img.data[i * 3]!;
    out[pixels + i] = img.data[i * 3 + 1]!;
    out[2 * pixels + i] = img.data[i * 3 + 2]!;
  }
  return out;
}

export class OnnxSegmenter implements ImageSegmentationModel {
  private constructor(
    private readonly ort: OnnxRuntime,
    private readonly session: Session,
    readonly classes: string[],
    readonly palette: Uint8Array,
  ) {}

  static async load(path: string, o: OnnxSegmenterOptions = {}): Promise<OnnxSegmenter> {
    if (!existsSync(path)) throw new Error(`${path}: no such file`);
    const bytes = await readFile(path);
    const info = readExportMetadata(decodeModel(bytes, path), path);
    const ort = await importOnnxRuntime();
    let session: Session;
    try {
      session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: o.threads ?? 0 });
    } catch (err) {
      throw new Error(`${path}: onnxruntime cannot load the model (${(err as Error).message})`);
    }
    if (!session.inputNames.includes("image") || !session.outputNames.includes("logits"))
      throw new Error(
        `${path}: expected an input "image" and an output "logits" (aepsl export's convention)`,
      );
    return new OnnxSegmenter(ort, session, info.classNames, buildPalette(info.colours));
  }

  /** Class scores [C × H × W] for one image. */
  async logits(img: RgbImage): Promise<Float32Array> {
    const input = new this.ort.Tensor("float32", rgbToChannelsFirst(img), [1, 3, img.height, img.width]);
    const out = await this.session.run({ image: input });
    const logits = out.logits!;
    const expected = this.classes.length * img.width * img.height;
    if (logits.data.length !== expected)
      throw new Error(`the model returned ${logits.data.length} scores, expected ${expected}`);
    return logits.data as Float32Array;
  }

  /** Softmax class probabilities [C × H × W] at the image's size. */
  async probabilities(img: RgbImage, flip = false): Promise<Float32Array> {
    const c = this.classes.length;
    const pixels = img.width * img.height;
    const p = softmaxClasses(Float32Array.from(await this.logits(img)), c, pixels);
    if (!flip) return p;
    const q = softmaxClasses(Float32Array.from(await this.logits(flipRgb(img))), c, pixels);
    const w = img.width;
    for (let k = 0; k < c; k++)
      for (let y = 0; y < img.height; y++) {
        const row = k * pixels + y * w;
        for (let x = 0; x < w; x++) p[row + x] = (p[row + x]! + q[row + w - 1 - x]!) / 2;
      }
    return p;
  }

  async segment(input: string | Uint8Array | RgbImage, o: SegmentOptions = {}): Promise<SegmentResult> {
    const img = typeof input === "string" || input instanceof Uint8Array ? await loadRgb(input) : input;
    return finishSegmentation(img, await this.probabilities(img, o.flip ?? false), this.classes, o.crf);
  }

  dispose(): void {
    void this.session.release();
  }
}
