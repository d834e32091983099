// node --import tsx bench/saliency.ts [voc dir] — salient-object maps against the ground-truth foreground (mask classes 1..20; 255 ignored) of the 440 hand-annotated VOC `train` images of
// the voc12-subset: MB+ (src/saliency/mbd.ts), U²-Netp in the engine at several input sizes
// (src/saliency/u2netp.ts), and onnxruntime-node running the same network from its ONNX file, side by side;
// per-image AUC, the best global threshold's foreground IoU, and how clean the pixels
// called background are at low thresholds (what pseudo-labels take from it), plus ms per image.
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { loadRgb } from "../src/data/image.js";
import { readIndexedPng } from "../src/data/png.js";
import type { FloatMap, RgbImage } from "../src/data/types.js";
import { resizeRgb } from "../src/data/image.js";
import { axisMap, remapF32 } from "../src/data/resample.js";
import { setNumThreads } from "../src/engine/ops.js";
import { U2NETP_MEAN, U2NETP_STD } from "../src/nn/u2netp.js";
import { foregroundAuc, mbdSaliency, type MbdOptions } from "../src/saliency/mbd.js";
import { U2NetPSaliency } from "../src/saliency/u2netp.js";
import { median, SHARED_DIR, writeBenchResults } from "./common.js";

const DATA = process.argv[2] ?? join(SHARED_DIR, "data", "voc12-subset");
const LIST = "train.txt";
/** BENCH_IMAGES=n measures the first n images of the list only (a quicker, noisier run). */
const LIMIT = Number(process.env.BENCH_IMAGES ?? 0) || Infinity;
const THREADS = 2;
const ONNX_FILE = join(SHARED_DIR, "weights", "u2netp", "u2netp.onnx");
const BINS = 1000; // score histogram resolution: thresholds k/1000 are exact bin edges
const BG_THRESHOLDS = [0.1, 0.2, 0.3];

interface Variant {
  name: string;
  note: string;
  run: (img: RgbImage) => FloatMap | Promise<FloatMap>;
}

/** The centre prior alone (1 − normalised distance to the centre): what any method must beat. */
function centrePrior(img: RgbImage): FloatMap {
  const { width: w, height: h } = img;
  const data = new Float32Array(w * h);
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  const rmax = Math.hypot(cx / w, cy / h) || 1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) data[y * w + x] = 1 - Math.hypot((x - cx) / w, (y - cy) / h) / rmax;
  }
  return { width: w, height: h, data };
}

const mb = (o: MbdOptions) => (img: RgbImage) => mbdSaliency(img, o);
const U2_SIZES = [320, 224, 160];
setNumThreads(THREADS);
const u2 = U2_SIZES.map((size) => U2NetPSaliency.load({ inputSize: size }));

/** The same network in onnxruntime-node (when it is installed), with the same pre- and post-processing. */
async function onnxRuntimeVariant(): Promise<Variant | null> {
  let ort: typeof import("onnxruntime-node");
  try {
    ort = await import("onnxruntime-node");
  } catch (err) {
    console.log(`onnxruntime-node not available (${(err as Error).message}): its row is left out`);
    return null;
  }
  const session = await ort.InferenceSession.create(ONNX_FILE, {
    intraOpNumThreads: THREADS,
    interOpNumThreads: 1,
  });
  const s = 320;
  return {
    name: "U²-Netp 320, onnxruntime-node",
    note: `the ONNX file in onnxruntime-node ${ort.env.versions.node ?? ""}, ${THREADS} threads`,
    async run(img) {
      const rgb = resizeRgb(img, s, s).data;
      const x = new Float32Array(3 * s * s);
      for (let c = 0; c < 3; c++)
        for (let i = 0; i < s * s; i++)
          x[c * s * s + i] = (rgb[i * 3 + c] / 255 - U2NETP_MEAN[c]) / U2NETP_STD[c];
      const out = await session.run({ [session.inputNames[0]]: new ort.Tensor("float32", x, [1, 3, s, s]) });
      const map = out[session.outputNames[0]].data as Float32Array;
      const data = remapF32(
        map,
        s,
        axisMap(img.width, s, img.width),
        axisMap(img.height, s, img.height),
        0,
        "bilinear",
      );
      return { width: img.width, height: img.height, data };
    },
  };
}

const VARIANTS: Variant[] = [
  ...U2_SIZES.map((size, i) => ({
    name: `U²-Netp ${size}`,
    note: `pretrained salient-object detector, ${size}×${size} input, engine (${THREADS} threads)`,
    run: (img: RgbImage) => u2[i]!.map(img),
  })),
  ...[await onnxRuntimeVariant()].filter((v): v is Variant => v !== null),
  { name: "MB+ (default)", note: "FastMBD + boundary contrast + post-processing", run: mb({}) },
  { name: "MB", note: "no image-boundary contrast map", run: mb({ boundaryContrast: false }) },
  {
    name: "MB+ raw",
    note: "no centre bias, smoothing or sigmoid",
    run: mb({ centreBias: false, smoothAlpha: 0, contrastB: 0 }),
  },
  { name: "centre prior", note: "baseline: distance to the image centre only", run: centrePrior },
];

interface Acc {
  aucs: number[];
  fg: Float64Array; // histogram of saliency on foreground pixels
  bg: Float64Array; // … on background pixels
  ms: number[];
}

const ids = readFileSync(join(DATA, "ImageSets", "Segmentation", LIST), "utf8")
  .split(/\s+/)
  .filter(Boolean)
  .slice(0, LIMIT);
const accs: Acc[] = VARIANTS.map(() => ({
  aucs: [],
  fg: new Float64Array(BINS),
  bg: new Float64Array(BINS),
  ms: [],
}));
let pixels = 0;
let ignored = 0;
const sizes = new Map<string, number>();

// Warm the JIT up on a few images so the timing is of steady-state code.
for (const id of ids.slice(0, 3)) {
  const img = await loadRgb(join(DATA, "JPEGImages", `${id}.jpg`));
  for (const variant of VARIANTS) await variant.run(img);
}

for (const [n, id] of ids.entries()) {
  const img = await loadRgb(join(DATA, "JPEGImages", `${id}.jpg`));
  const png = await readIndexedPng(join(DATA, "SegmentationClass", `${id}.png`));
  if (png.width !== img.width || png.height !== img.height) {
    throw new Error(`${id}: mask ${png.width}×${png.height} vs image ${img.width}×${img.height}`);
  }
  const mask = png.indices;
  const key = `${img.width}×${img.height}`;
  sizes.set(key, (sizes.get(key) ?? 0) + 1);
  pixels += mask.length;
  for (let i = 0; i < mask.length; i++) if (mask[i] === 255) ignored++;
  for (const [v, variant] of VARIANTS.entries()) {
    const acc = accs[v];
    const t0 = performance.now();
    const map = await variant.run(img);
    acc.ms.push(performance.now() - t0);
    const auc = foregroundAuc(map.data, mask);
    if (!Number.isNaN(auc)) acc.aucs.push(auc);
    for (let i = 0; i < mask.length; i++) {
      const m = mask[i];
      if (m === 255) continue;
      const s = map.data[i];
      const b = s >= 1 ? BINS - 1 : s > 0 ? Math.floor(s * BINS) : 0;
      if (m === 0) acc.bg[b]++;
      else acc.fg[b]++;
    }
  }
  if ((n + 1) % 100 === 0) console.log(`${n + 1}/${ids.length}`);
}

const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d;

function summarise(acc: Acc) {
  const totalFg = acc.fg.reduce((a, b) => a + b, 0);
  const totalBg = acc.bg.reduce((a, b) => a + b, 0);
  // below[k] = pixels with score < k/BINS
  const fgBelow = new Float64Array(BINS + 1);
  const bgBelow = new Float64Array(BINS + 1);
  for (let k = 0; k < BINS; k++) {
    fgBelow[k + 1] = fgBelow[k] + acc.fg[k];
    bgBelow[k + 1] = bgBelow[k] + acc.bg[k];
  }
  let best = { threshold: 0, iou: -1, precision: 0, recall: 0 };
  for (let k = 10; k < BINS; k += 10) {
    const tp = totalFg - fgBelow[k];
    const fp = totalBg - bgBelow[k];
    const fn = fgBelow[k];
    const iou = tp / (tp + fp + fn);
    if (iou > best.iou)
      best = { threshold: k / BINS, iou, precision: tp / (tp + fp || 1), recall: tp / totalFg };
  }
  const background = BG_THRESHOLDS.map((t) => {
    const k = Math.round(t * BINS);
    const called = fgBelow[k] + bgBelow[k];
    return {
      threshold: t,
      precision: round(called ? bgBelow[k] / called : NaN),
      coverage: round(called / (totalFg + totalBg)),
      backgroundRecall: round(bgBelow[k] / totalBg),
    };
  });
  const aucs = acc.aucs;
  return {
    meanAuc: round(aucs.reduce((a, b) => a + b, 0) / aucs.length),
    medianAuc: round(median(aucs)),
    aucImages: aucs.length,
    bestThreshold: best.threshold,
    foregroundIou: round(best.iou),
    foregroundPrecision: round(best.precision),
    foregroundRecall: round(best.recall),
    background,
    msPerImageMedian: round(median(acc.ms), 2),
    msPerImageP90: round([...acc.ms].sort((a, b) => a - b)[Math.floor(acc.ms.length * 0.9)], 2),
    fgPixelFraction: round(totalFg / (totalFg + totalBg)),
  };
}

const results = VARIANTS.map((v, i) => ({ name: v.name, note: v.note, ...summarise(accs[i]) }));
const commonSizes = [...sizes.entries()]
  .sort((a, b) => b[1] - a[1])
  .slice(0, 3)
  .map(([s, c]) => `${s} (${c})`)
  .join(", ");
const cpu = cpus()[0]?.model ?? "unknown CPU";

const engine320 = results.find((r) => r.name === "U²-Netp 320");
const ort320 = results.find((r) => r.name.includes("onnxruntime"));
/** > 1: the engine is faster than onnxruntime-node on the same network, input and threads. */
const engineVsOnnxRuntime =
  engine320 && ort320 ? round(ort320.msPerImageMedian / engine320.msPerImageMedian, 3) : null;

const json = {
  command: `${LIMIT < Infinity ? `BENCH_IMAGES=${LIMIT} ` : ""}node --import tsx bench/saliency.ts`,
  engineVsOnnxRuntimeSpeed: engineVsOnnxRuntime,
  dataset: `voc12-subset ImageSets/Segmentation/${LIST}`,
  images: ids.length,
  pixels,
  ignoredPixels: ignored,
  commonSizes,
  cpu,
  node: process.version,
  workingResolution: "longest side 200 (mbdSaliency default)",
  variants: results,
};

const d = results.find((r) => r.name === "MB+ (default)")!;
const md = [
  "# Saliency benchmark: U²-Netp (pretrained) and MB+ (Zhang et al. ICCV 2015)",
  "",
  `${ids.length} hand-annotated VOC 2012 \`train\` images of the voc12-subset (most common sizes: ${commonSizes}).`,
  "Foreground = mask classes 1..20, background = 0, 255 ignored. AUC per image (images with both classes),",
  "then averaged; IoU/precision/recall pooled over all pixels at the best global threshold (step 0.01).",
  "Background precision at t: the fraction of pixels with saliency < t that are truly background;",
  "coverage: the fraction of all (non-ignored) pixels with saliency < t; bg recall: the fraction of true",
  `background pixels with saliency < t. Timing: ${cpu}, ${process.version}; MB+ single-threaded, U²-Netp`,
  `with ${THREADS} threads (engine and onnxruntime-node alike), one image at a time, excluding JPEG decoding.`,
  engineVsOnnxRuntime === null
    ? "onnxruntime-node was not available: no speed ratio."
    : `Same network, same 320×320 input: the engine runs at ${engineVsOnnxRuntime}× onnxruntime-node's speed (median ms ratio).`,
  "",
  "| method | mean AUC | best thr | fg IoU | fg precision | fg recall | ms/image (median) |",
  "| --- | --- | --- | --- | --- | --- | --- |",
  ...results.map(
    (r) =>
      `| ${r.name} | ${r.meanAuc.toFixed(3)} | ${r.bestThreshold.toFixed(2)} | ${r.foregroundIou.toFixed(3)} | ` +
      `${r.foregroundPrecision.toFixed(3)} | ${r.foregroundRecall.toFixed(3)} | ${r.msPerImageMedian.toFixed(1)} |`,
  ),
  "",
  "Background cue (saliency < t called background):",
  "",
  "| method | " +
    BG_THRESHOLDS.map((t) => `bg precision @${t} | coverage @${t} | bg recall @${t}`).join(" | ") +
    " |",
  "| --- | " + BG_THRESHOLDS.map(() => "--- | --- | ---").join(" | ") + " |",
  ...results.map(
    (r) =>
      `| ${r.name} | ` +
      r.background
        .map((b) => `${b.precision.toFixed(3)} | ${b.coverage.toFixed(3)} | ${b.backgroundRecall.toFixed(3)}`)
        .join(" | ") +
      " |",
  ),
  "",
  `Foreground is ${(d.fgPixelFraction * 100).toFixed(1)} % of the non-ignored pixels, so a constant map has ` +
    `background precision ${(1 - d.fgPixelFraction).toFixed(3)}.`,
  "",
].join("\n");

writeBenchResults("saliency", json, md);
