// Stage: a salient-object map for every image, computed once and stored in <run>/saliency/<id>.png
// (8-bit: saliency × 255, as an indexed PNG with a grey palette, so values read back exactly). The
// pseudo-label stage takes its background cue and its region gates from these maps.
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { DatasetItem } from "../data/dataset.js";
import { loadRgb } from "../data/image.js";
import { readIndexedPng, writeIndexedPng } from "../data/png.js";
import type { FloatMap, RgbImage } from "../data/types.js";
import { isDone, markDone, readDone } from "./run-dir.js";
import { stopIfRequested } from "../util/interrupt.js";
import type { SaliencyConfig } from "../util/config.js";

export type { SaliencyConfig } from "../util/config.js";

/** Maps a batch of images (any sizes) to saliency maps of the same sizes. */
export type SaliencyDetector = (images: RgbImage[]) => FloatMap[];

// MB+ needs nothing; U²-Netp loads the shipped weights once per stage run.
async function loadDetector(config: SaliencyConfig): Promise<{ run: SaliencyDetector; dispose(): void }> {
  if (config.detector === "mbplus") {
    const { mbdSaliency } = await import("../saliency/mbd.js");
    return { run: (images) => images.map((img) => mbdSaliency(img)), dispose() {} };
  }
  const { U2NetPSaliency } = await import("../saliency/u2netp.js");
  const net = U2NetPSaliency.load({ inputSize: config.inputSize });
  return { run: (images) => net.mapBatch(images), dispose: () => net.dispose() };
}

const GREY = new Uint8Array(256 * 3).map((_, i) => Math.floor(i / 3));

export interface SaliencyStageOptions {
  /** Output folder (e.g. <run>/saliency). */
  dir: string;
  items: DatasetItem[];
  config: SaliencyConfig;
  onImage?: (done: number, total: number) => void;
}

/** Computes the maps not yet on disk (a stopped stage resumes where it was); refuses other settings. */
export async function computeSaliencyMaps(o: SaliencyStageOptions): Promise<void> {
  const settings = { detector: o.config.detector, inputSize: o.config.inputSize };
  if (isDone(o.dir)) {
    const done = readDone<typeof settings>(o.dir);
    if (done.detector !== settings.detector || done.inputSize !== settings.inputSize)
      throw new Error(
        `${o.dir}: saliency maps were made with ${done.detector} at ${done.inputSize} px, not ` +
          `${settings.detector} at ${settings.inputSize} px; delete the folder to recompute them`,
      );
  }
  await mkdir(o.dir, { recursive: true });
  const todo = o.items.filter((it) => !existsSync(saliencyPath(o.dir, it.id)));
  let done = o.items.length - todo.length;
  if (todo.length) {
    const detector = await loadDetector(o.config);
    try {
      for (let start = 0; start < todo.length; start += o.config.batchSize) {
        stopIfRequested(o.dir);
        const batch = todo.slice(start, start + o.config.batchSize);
        const images = await Promise.all(batch.map((it) => loadRgb(it.imagePath)));
        const maps = detector.run(images);
        for (const [index, map] of maps.entries()) {
          const q = new Uint8Array(map.data.length);
          for (let i = 0; i < q.length; i++) q[i] = Math.round(Math.min(1, Math.max(0, map.data[i]!)) * 255);
          await writeIndexedPng(saliencyPath(o.dir, batch[index]!.id), q, map.width, map.height, GREY);
          o.onImage?.(++done, o.items.length);
        }
      }
    } finally {
      detector.dispose();
    }
  } else if (done) o.onImage?.(done, o.items.length);
  await markDone(o.dir, { images: o.items.length, ...settings });
}

export function saliencyPath(dir: string, id: string): string {
  return join(dir, `${id}.png`);
}

/** An image's stored map in [0, 1]; a missing, unreadable or wrongly sized map is an error naming the file. */
export async function readSaliencyMap(
  dir: string,
  id: string,
  size: { width: number; height: number },
): Promise<Float32Array> {
  const file = saliencyPath(dir, id);
  if (!existsSync(file)) throw new Error(`${file}: saliency map missing (run the saliency stage first)`);
  let png;
  try {
    png = await readIndexedPng(file);
  } catch (err) {
    throw new Error(`${file}: unreadable saliency map (${(err as Error).message})`);
  }
  if (png.width !== size.width || png.height !== size.height)
    throw new Error(
      `${file}: saliency map is ${png.width}×${png.height}, the image is ${size.width}×${size.height}`,
    );
  const out = new Float32Array(png.indices.length);
  for (let i = 0; i < out.length; i++) out[i] = png.indices[i]! / 255;
  return out;
}
