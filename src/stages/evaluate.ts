// Stage: evaluate a trained segmenter against ground-truth masks at each image's original resolution,
// and write predictions (indexed PNGs with the dataset palette, plus colour overlays).
import { mkdir } from "node:fs/promises";
import { basename, extname, join } from "node:path";
import type { DatasetItem } from "../data/dataset.js";
import { loadRgb, saveJpeg } from "../data/image.js";
import { writeIndexedPng } from "../data/png.js";
import { readGroundTruthMask } from "../data/mask.js";
import { ConfusionMatrix, segmentationReport, type SegmentationReport } from "../eval/metrics.js";
import type { CrfOptions } from "../postprocess/crf.js";
import type { RgbImage } from "../data/types.js";
import { InputError } from "../util/errors.js";

/** What evaluation needs of a model (the library's Segmenter has it); stages know nothing above them. */
export interface ImageSegmenter {
  readonly classes: string[];
  /** 256-entry RGB palette for indexed PNGs. */
  readonly palette: Uint8Array;
  segment(
    img: RgbImage,
    o: { crf?: boolean | CrfOptions; flip?: boolean },
  ): Promise<{ labelMap: Uint8Array; width: number; height: number }>;
}
type Segmenter = ImageSegmenter;
import { colorizeLabels } from "../viz/colormap.js";

export interface EvaluationResult extends SegmentationReport {
  images: number;
  crf: boolean;
  /** Rows: ground truth, columns: prediction. */
  confusion: number[][];
}

export async function evaluateSegmenter(
  seg: Segmenter,
  items: DatasetItem[],
  o: {
    crf?: CrfOptions | false;
    flip?: boolean;
    predictionsDir?: string;
    /** Class names of the headline mean (eval.headlineClasses). */
    headlineClasses?: readonly string[];
    onImage?: (d: number, n: number) => void;
  } = {},
): Promise<EvaluationResult> {
  const withMasks = items.filter((it) => it.maskPath);
  if (!withMasks.length) throw new Error("eval: no image of this split has a ground-truth mask");
  const cm = new ConfusionMatrix(seg.classes.length);
  if (o.predictionsDir) await mkdir(o.predictionsDir, { recursive: true });
  let done = 0;
  for (const item of withMasks) {
    const img = await loadRgb(item.imagePath);
    const gt = await readGroundTruthMask(item);
    if (gt.width !== img.width || gt.height !== img.height)
      throw new Error(
        `${item.maskPath}: mask ${gt.width}×${gt.height} does not match image ${img.width}×${img.height}`,
      );
    const r = await seg.segment(img, { crf: o.crf || false, flip: o.flip });
    cm.add(gt.indices, r.labelMap);
    if (o.predictionsDir)
      await writeIndexedPng(
        join(o.predictionsDir, `${item.id}.png`),
        r.labelMap,
        r.width,
        r.height,
        seg.palette,
      );
    o.onImage?.(++done, withMasks.length);
  }
  const n = cm.numClasses;
  const confusion = Array.from({ length: n }, (_, g) => Array.from(cm.counts.subarray(g * n, (g + 1) * n)));
  return {
    ...segmentationReport(cm, seg.classes, o.headlineClasses),
    images: withMasks.length,
    crf: !!o.crf,
    confusion,
  };
}

/** Segments image files into outDir: <name>.png (indexed, palette) and <name>_overlay.jpg. */
export async function predictFiles(
  seg: Segmenter,
  files: string[],
  outDir: string,
  o: {
    crf?: CrfOptions | false;
    flip?: boolean;
    onImage?: (d: number, n: number) => void;
    /** Called for an image that cannot be read (the rest go on); without it, the first such error throws. */
    onBadImage?: (err: InputError) => void;
  } = {},
): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const written: string[] = [];
  let done = 0;
  for (const file of files) {
    let img: RgbImage;
    try {
      img = await loadRgb(file);
    } catch (err) {
      if (!(err instanceof InputError) || !o.onBadImage) throw err;
      o.onBadImage(err);
      o.onImage?.(++done, files.length);
      continue;
    }
    const r = await seg.segment(img, { crf: o.crf || false, flip: o.flip });
    const name = basename(file, extname(file));
    const png = join(outDir, `${name}.png`);
    await writeIndexedPng(png, r.labelMap, r.width, r.height, seg.palette);
    await saveJpeg(
      join(outDir, `${name}_overlay.jpg`),
      colorizeLabels(r.labelMap, r.width, r.height, seg.palette, img),
      90,
    );
    written.push(png);
    o.onImage?.(++done, files.length);
  }
  return written;
}
