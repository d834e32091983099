// Stage: class activation maps for each image's labelled classes — ReLU'd, upsampled to the image size,
// averaged over scales and flips, normalised to [0, 1] per class — stored as 8-bit grayscale PNGs (one
// band per class, stacked vertically) with the image-level scores beside them.
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import type { DatasetItem } from "../data/dataset.js";
import { loadRgb, resizeRgb, saveJpeg } from "../data/image.js";
import type { RgbImage } from "../data/types.js";
import { autocastForward } from "../engine/device.js";
import { cat, interpolate, tensor } from "../engine/ops.js";
import { noGrad, tidy, type Tensor } from "../engine/tensor.js";
import { writeFileAtomic } from "../util/fs.js";
import { stopIfRequested } from "../util/interrupt.js";
import type { CamClassifier } from "../nn/cam-classifier.js";
import { heatmapOverlay } from "../viz/colormap.js";
import { imagesToTensor } from "./tensorize.js";

export interface CamOptions {
  /** Image scales averaged (1 = native size). */
  scales: number[];
  /** Also average the horizontally flipped image. */
  flip: boolean;
}

export interface ImageCams {
  width: number;
  height: number;
  /** Foreground class indices (1-based dataset indices), one CAM band each. */
  labels: number[];
  /** [labels.length × height × width], each band normalised to max 1. */
  cams: Float32Array;
  /** sigmoid image-level score of every foreground class (index c − 1), from the native-scale pass. */
  scores: Float32Array;
  /** The scales averaged, when fewer than configured (see computeCams' `fullScales`). */
  scales?: number[];
}

/**
 * Multi-scale (+flip) CAMs of the given classes for one image. With `fullScales`, the other scales run only
 * if it accepts the native-scale scores: a later erasing step mines nothing in an image whose classes all
 * fall below the score gate, so its CAMs there need not be multi-scale (the native-scale pass is under a
 * third of the cost of scales 1, 0.5 and 1.5).
 */
export function computeCams(
  model: CamClassifier,
  img: RgbImage,
  labels: number[],
  o: CamOptions,
  fullScales?: (scores: Float32Array) => boolean,
): ImageCams {
  const { width, height } = img;
  // The scores come from scale 1, or from the first scale when 1 is not among them.
  const native = o.scales.includes(1) ? 1 : o.scales[0];
  const used: number[] = [];
  return noGrad(() =>
    tidy(() => {
      const idx = tensor(BigInt64Array.from(labels.map((c) => BigInt(c - 1))), [labels.length], "int64");
      let sum: Tensor | null = null;
      let scores: Float32Array | null = null;
      for (const s of o.scales) {
        const scaled =
          s === 1
            ? img
            : resizeRgb(img, Math.max(8, Math.round(width * s)), Math.max(8, Math.round(height * s)));
        let x = imagesToTensor([scaled]);
        if (o.flip) x = cat([x, x.flip([3])], 0);
        const { cams, logits } = autocastForward(() => model.camsAndLogits(x));
        let maps = cams.relu();
        if (o.flip) maps = maps.slice(0, 0, 1).add(maps.slice(0, 1, 2).flip([3]));
        else maps = maps.slice(0, 0, 1);
        if (labels.length) {
          const up = interpolate(maps.indexSelect(1, idx), [height, width], "bilinear", false);
          sum = sum ? sum.add(up) : up;
        }
        used.push(s);
        if (s === native) {
          scores = logits.sigmoid().mean(0).toArray() as Float32Array;
          if (fullScales && !fullScales(scores)) break;
        }
      }
      const cams = sum
        ? (sum
            .squeeze(0)
            .div(sum.squeeze(0).amax([1, 2], true).add(1e-5))
            .toArray() as Float32Array)
        : new Float32Array(0);
      const partial = used.length < o.scales.length ? { scales: used } : {};
      return { width, height, labels, cams, scores: scores!, ...partial };
    }),
  );
}

/** Quantises CAMs to 8 bits and writes them as one grayscale PNG (bands stacked vertically). */
export async function saveCamPng(path: string, c: ImageCams): Promise<void> {
  const bands = Math.max(1, c.labels.length);
  const q = new Uint8Array(c.width * c.height * bands);
  for (let i = 0; i < c.cams.length; i++) q[i] = Math.round(Math.min(1, Math.max(0, c.cams[i])) * 255);
  const png = await sharp(q, { raw: { width: c.width, height: c.height * bands, channels: 1 } })
    .png({ compressionLevel: 6 })
    .toBuffer();
  await writeFileAtomic(path, png);
}

/** Scores as records.jsonl keeps them (5 decimals): what mining reads back and gates on. */
export function storedScores(scores: ArrayLike<number>): number[] {
  return Array.from(scores, (v) => +v.toFixed(5));
}

export interface CamRecord {
  id: string;
  width: number;
  height: number;
  labels: number[];
  scores: number[];
  /** The scales averaged, when fewer than configured (absent: all of them). */
  scales?: number[];
}

/** Reads CAM bands back as floats in [0, 1]. */
export async function loadCamPng(path: string, rec: CamRecord): Promise<Float32Array> {
  const { data, info } = await sharp(path).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  const bands = Math.max(1, rec.labels.length);
  if (info.width !== rec.width || info.height !== rec.height * bands || info.channels !== 1)
    throw new Error(
      `${path}: CAM image is ${info.width}×${info.height}×${info.channels}, expected ${rec.width}×${rec.height * bands}×1`,
    );
  const out = new Float32Array(rec.labels.length * rec.width * rec.height);
  for (let i = 0; i < out.length; i++) out[i] = data[i] / 255;
  return out;
}

/** A folder of CAMs: <id>.png per image and records.jsonl (one line per finished image). */
export class CamStore {
  readonly records = new Map<string, CamRecord>();

  constructor(readonly dir: string) {
    const index = join(dir, "records.jsonl");
    if (existsSync(index)) {
      for (const line of readFileSync(index, "utf8").split("\n")) {
        if (!line.trim()) continue;
        try {
          const r = JSON.parse(line) as CamRecord;
          if (existsSync(this.pngPath(r.id))) this.records.set(r.id, r);
        } catch {
          // A run killed mid-append leaves a partial last line: that image is simply recomputed.
        }
      }
    }
  }

  pngPath(id: string): string {
    return join(this.dir, `${id}.png`);
  }

  has(id: string): boolean {
    return this.records.has(id);
  }

  async put(id: string, c: ImageCams): Promise<void> {
    await saveCamPng(this.pngPath(id), c);
    const rec: CamRecord = {
      id,
      width: c.width,
      height: c.height,
      labels: c.labels,
      scores: storedScores(c.scores),
      ...(c.scales ? { scales: c.scales } : {}),
    };
    appendFileSync(join(this.dir, "records.jsonl"), JSON.stringify(rec) + "\n");
    this.records.set(id, rec);
  }

  async get(id: string): Promise<{ record: CamRecord; cams: Float32Array }> {
    const record = this.records.get(id);
    if (!record) throw new Error(`${this.dir}: no CAMs for image ${id}`);
    return { record, cams: await loadCamPng(this.pngPath(id), record) };
  }
}

export interface ExtractCamsOptions extends CamOptions {
  dir: string;
  model: CamClassifier;
  items: DatasetItem[];
  /** Images given a heat-map overlay per class under <dir>/overlays (for viewing and the report). */
  overlays?: number;
  /** Produces the image to run on (e.g. with erased regions); default: the image file. */
  loadImage?: (item: DatasetItem) => Promise<RgbImage>;
  /** Whether an image, given its native-scale scores, needs all the scales (default: every image). */
  fullScales?: (item: DatasetItem, scores: Float32Array) => boolean;
  onImage?: (done: number, total: number) => void;
}

/** Computes and stores CAMs for every item not done yet; resumable image by image. */
export async function extractCams(o: ExtractCamsOptions): Promise<CamStore> {
  await mkdir(o.dir, { recursive: true });
  const store = new CamStore(o.dir);
  o.model.eval();
  const overlayIds = new Set(o.items.slice(0, o.overlays ?? 0).map((it) => it.id));
  let done = 0;
  // Decode the next image while the current one runs through the network.
  const load = o.loadImage ?? ((it: DatasetItem) => loadRgb(it.imagePath));
  let pending: Promise<RgbImage> | null = null;
  const todo = o.items.filter((it) => !store.has(it.id));
  done = o.items.length - todo.length;
  for (let i = 0; i < todo.length; i++) {
    stopIfRequested(o.dir);
    const item = todo[i];
    const img = await (pending ?? load(item));
    pending = i + 1 < todo.length ? load(todo[i + 1]) : null;
    pending?.catch(() => {});
    const full = o.fullScales;
    const c = computeCams(o.model, img, item.labels, o, full && ((scores) => full(item, scores)));
    await store.put(item.id, c);
    if (overlayIds.has(item.id)) await writeOverlays(join(o.dir, "overlays"), item.id, img, c);
    o.onImage?.(++done, o.items.length);
  }
  return store;
}

async function writeOverlays(dir: string, id: string, img: RgbImage, c: ImageCams): Promise<void> {
  const n = c.width * c.height;
  for (let k = 0; k < c.labels.length; k++) {
    const heat = c.cams.subarray(k * n, (k + 1) * n);
    await saveJpeg(join(dir, `${id}_${c.labels[k]}.jpg`), heatmapOverlay(img, heat), 85);
  }
}
