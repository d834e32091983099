// npm run bench:cam — stage 1 on the VOC protocol: classifier training (image-level labels), multi-scale
// + flip CAMs, classification mAP and CAM seed mIoU (21-class and the headline classes of configs/voc-protocol.yaml) on train.txt.
import { join } from "node:path";
import { engineInfo } from "../src/engine/ops.js";
import { meanAveragePrecision, type SegmentationReport } from "../src/eval/metrics.js";
import { CamStore } from "../src/stages/cam.js";
import { evaluateCamSeeds } from "../src/stages/eval-cam.js";
import { readJson, stepDir } from "../src/stages/run-dir.js";
import type { ClassifierMetrics } from "../src/stages/train-cls.js";
import { writeBenchResults } from "./common.js";
import {
  CAM,
  CLASSIFIER,
  fmt,
  HEADLINE_CLASSES,
  HEADLINE_LABEL,
  loadProtocol,
  RUN_DIR,
  runBenchErasing,
} from "./voc.js";

/** The mean IoU over the protocol's headline classes (evaluateCamSeeds was given them). */
const headlineMiou = (r: SegmentationReport): number => r.headline!.miou;

async function main(): Promise<void> {
  const p = await loadProtocol();
  const t0 = performance.now();
  await runBenchErasing(p, 1);
  const wall = (performance.now() - t0) / 1000;
  const dir = stepDir(RUN_DIR, 1);
  const cls = readJson<ClassifierMetrics>(join(dir, "classifier", "metrics.json"));
  const store = new CamStore(join(dir, "cams"));

  // Classification mAP on the 440 measured images, over the headline foreground classes.
  const scores: Float32Array[] = [];
  const targets: Float32Array[] = [];
  for (const it of p.evaluation) {
    const r = store.records.get(it.id)!;
    scores.push(Float32Array.from(r.scores));
    const t = new Float32Array(p.classNames.length - 1);
    for (const c of it.labels) t[c - 1] = 1;
    targets.push(t);
  }
  const headlineFg = p.headline.filter((c) => c !== 0).map((c) => c - 1);
  const clsMap = meanAveragePrecision(scores, targets, headlineFg);
  const clsMapAll = meanAveragePrecision(scores, targets);

  const t1 = performance.now();
  const seeds = await evaluateCamSeeds(store, p.evaluation, p.classNames, {
    headlineClasses: HEADLINE_CLASSES,
  });
  const evalSeconds = (performance.now() - t1) / 1000;
  const at = (th: number) => seeds.thresholds.find((r) => Math.abs(r.threshold - th) < 1e-9)!;
  const def = at(0.2);
  const camRecords = store.records.size;
  const dataWait =
    cls.epochs.reduce((a, e) => a + e.dataWaitFraction * e.seconds, 0) /
    cls.epochs.reduce((a, e) => a + e.seconds, 0);
  const info = engineInfo();
  const result = {
    command: "npm run bench:cam",
    date: new Date().toISOString(),
    machine: { threads: info.threads, torch: info.torchVersion, simd: info.simd },
    protocol: { train_images: p.train.length, eval_images: p.evaluation.length, data: "voc12-subset" },
    config: { classifier: CLASSIFIER, cam: CAM, mean_pixel: p.meanPixel },
    cls_map: clsMap,
    cls_map_all_classes: clsMapAll,
    cam_miou: def.miou,
    cam_miou7: headlineMiou(def),
    default_threshold: 0.2,
    best_threshold: seeds.best.threshold,
    best_cam_miou: seeds.best.miou,
    best_cam_miou7: headlineMiou(seeds.best),
    train_images_per_s: cls.imagesPerSecond,
    data_wait_fraction: dataWait,
    classifier_seconds: cls.seconds,
    cam_images: camRecords,
    wall_seconds_this_run: wall,
    eval_seconds: evalSeconds,
    per_class_at_default: def.per_class,
    sweep: seeds.thresholds.map((r) => ({ threshold: r.threshold, miou: r.miou, miou7: headlineMiou(r) })),
    epochs: cls.epochs,
  };
  const md = [
    "# CAM benchmark (stage 1)",
    "",
    `Protocol: train on train_aug − train.txt (${p.train.length} images, image-level labels), measure on train.txt (${p.evaluation.length} images).`,
    `Classifier: MobileNetV2 (ImageNet, BN folded) OS${CLASSIFIER.outputStride}, 1×1 conv + GAP, ${CLASSIFIER.epochs} epochs, ${CLASSIFIER.cropSize} px crops, SGD ${CLASSIFIER.lrBackbone}/${CLASSIFIER.lrHead} poly.`,
    `CAMs: scales ${CAM.scales.join(", ")}${CAM.flip ? " + flip" : ""}, per-class max-normalised.`,
    "",
    "| metric | aepsl | plain PyTorch reference (shared/REFERENCE.md) |",
    "| --- | --- | --- |",
    `| classification mAP (${p.headlineForeground.join(", ")}) | ${fmt(clsMap)} | 88.9 |`,
    `| CAM seed mIoU, ${HEADLINE_LABEL}, θ = 0.20 | ${fmt(headlineMiou(def))} | 40.6 |`,
    `| CAM seed mIoU, 21-class, θ = 0.20 | ${fmt(def.miou)} | 20.9 |`,
    `| best θ (${HEADLINE_LABEL}) | ${seeds.best.threshold} → ${fmt(headlineMiou(seeds.best))} / ${fmt(seeds.best.miou)} | 0.25 → 40.75 |`,
    `| training images/s | ${cls.imagesPerSecond.toFixed(1)} | – |`,
    `| share of training time waiting for decoded batches | ${fmt(dataWait)}% | – |`,
    `| classifier training time | ${(cls.seconds / 60).toFixed(1)} min | 27 min (7 epochs) |`,
    "",
    "Per class IoU at θ = 0.20: " +
      Object.entries(def.per_class)
        .filter(([, v]) => v !== null && v > 0)
        .map(([k, v]) => `${k} ${fmt(v)}`)
        .join(", "),
    "",
    "| θ | " + seeds.thresholds.map((r) => r.threshold).join(" | ") + " |",
    "| --- |" + seeds.thresholds.map(() => " --- |").join(""),
    `| ${HEADLINE_LABEL} | ` + seeds.thresholds.map((r) => fmt(headlineMiou(r))).join(" | ") + " |",
    "| 21-class | " + seeds.thresholds.map((r) => fmt(r.miou)).join(" | ") + " |",
    "",
  ].join("\n");
  writeBenchResults("cam", result, md);
}

await main();
