// npm run bench:mine — adversarial erasing on the VOC protocol (continues the bench:cam run): per step,
// precision/recall/IoU of the mined foreground (union up to t) on the 440 measured images, and
// pseudo-label quality for each background cue against the single-step CAM baseline.
import { join } from "node:path";
import { loadRgb } from "../src/data/image.js";
import { mbdSaliency } from "../src/saliency/mbd.js";
import { evaluateMining } from "../src/stages/eval-mine.js";
import { completedSteps, type StepSummary } from "../src/stages/mine.js";
import { evaluatePseudoLabels, makePseudoLabels, type BackgroundCue } from "../src/stages/pseudo-labels.js";
import { readDone, stepDir } from "../src/stages/run-dir.js";
import { writeBenchResults } from "./common.js";
import {
  benchLog,
  CAM,
  CLASSIFIER,
  ERASING,
  fmt,
  loadProtocol,
  PLAIN_PSEUDO_LABELS,
  RUN_DIR,
  runBenchErasing,
} from "./voc.js";

async function main(): Promise<void> {
  const p = await loadProtocol();
  const log = benchLog;
  const t0 = performance.now();
  await runBenchErasing(p, ERASING.steps);
  const erasingSeconds = (performance.now() - t0) / 1000;
  const steps = completedSteps(RUN_DIR);
  const summaries = Array.from({ length: ERASING.steps }, (_, i) => i + 1)
    .filter((t) => {
      try {
        readDone(stepDir(RUN_DIR, t));
        return true;
      } catch {
        return false;
      }
    })
    .map((t) => readDone<StepSummary & { finished: string }>(stepDir(RUN_DIR, t)));
  log(`evaluating mining over steps ${steps.join(", ")}`);
  const quality = await evaluateMining(RUN_DIR, steps, p.evaluation, p.classNames, ERASING.overlap);

  // Pseudo-labels on the measured images: single-step baseline vs all steps, for each background cue.
  const cues: BackgroundCue[] = ["cam", "saliency", "both"];
  const pseudo: Record<string, { miou: number; coverage: number; steps: number[] }> = {};
  for (const cue of cues) {
    for (const useSteps of [[1], steps]) {
      const name = `${cue}-${useSteps.length}step`;
      if (pseudo[name]) continue;
      const outDir = join(RUN_DIR, "bench-pseudo", name);
      log(`pseudo-labels ${name}`);
      await makePseudoLabels({
        runDir: RUN_DIR,
        outDir,
        items: p.evaluation,
        steps: useSteps,
        overlap: ERASING.overlap,
        palette: p.palette,
        config: { ...PLAIN_PSEUDO_LABELS, background: cue },
        saliency: async (item) => mbdSaliency(await loadRgb(item.imagePath)).data,
      });
      const e = await evaluatePseudoLabels(outDir, p.evaluation, p.classNames.length);
      pseudo[name] = { miou: e.miou, coverage: e.coverage, steps: useSteps };
    }
  }
  const best = Object.entries(pseudo)
    .filter(([, v]) => v.steps.length === steps.length)
    .reduce((a, b) => (b[1].miou > a[1].miou ? b : a));
  const baseline = pseudo["cam-1step"];
  const result = {
    command: "npm run bench:mine",
    date: new Date().toISOString(),
    protocol: { train_images: p.train.length, eval_images: p.evaluation.length },
    config: { erasing: ERASING, cam: CAM, classifier: CLASSIFIER },
    steps: quality.map((q) => ({ t: q.t, precision: q.precision, recall: q.recall, iou: q.iou })),
    per_step_per_class: quality.map((q) => ({ t: q.t, per_class: q.per_class })),
    step_summaries: summaries,
    // This benchmark's own pseudo-labels use MB+ cues; the default configuration's (U²-Netp) quality,
    // pseudo_miou7 / pseudo_coverage, is written into this file by bench:pseudo-labels.
    mbplus_pseudo_miou: best[1].miou,
    mbplus_pseudo_coverage: best[1].coverage,
    mbplus_pseudo_background_cue: best[0].split("-")[0],
    cam_baseline_pseudo_miou: baseline.miou,
    cam_baseline_pseudo_coverage: baseline.coverage,
    pseudo_variants: pseudo,
    wall_seconds_this_run: (performance.now() - t0) / 1000,
    erasing_seconds_this_run: erasingSeconds,
  };
  const classes = Object.keys(quality[0]?.per_class ?? {}).filter((c) => p.headlineForeground.includes(c));
  const md = [
    "# Adversarial erasing benchmark",
    "",
    `Protocol: classifier trained on ${p.train.length} images (image-level labels); mining measured on the ${p.evaluation.length} train.txt images against their masks.`,
    `Erasing: τ = ${ERASING.threshold} at step 1, +${ERASING.thresholdIncrease} per later step; later steps mine a class only while the classifier scores it ≥ ${ERASING.minScore} on the erased image; ${ERASING.retrain} between steps (${ERASING.epochsPerStep} epochs), CAM scales ${CAM.scales.join("/")}${CAM.flip ? " + flip" : ""}.`,
    "",
    "## Mined foreground (union of steps 1..t) vs ground-truth foreground",
    "",
    "| t | precision | recall | IoU | " + classes.map((c) => `${c} P/R`).join(" | ") + " |",
    "| --- | --- | --- | --- | " + classes.map(() => "---").join(" | ") + " |",
    ...quality.map(
      (q) =>
        `| ${q.t} | ${fmt(q.precision)} | ${fmt(q.recall)} | ${fmt(q.iou)} | ` +
        classes.map((c) => `${fmt(q.per_class[c]?.precision)}/${fmt(q.per_class[c]?.recall)}`).join(" | ") +
        " |",
    ),
    "",
    summaries.some((s) => s.stopped)
      ? `Stopped early: ${summaries.find((s) => s.stopped)!.reason}`
      : `All ${steps.length} steps completed.`,
    "",
    "## Pseudo-labels (measured images; mIoU over labelled pixels, coverage = share of pixels not ignored)",
    "",
    "| background cue | steps | mIoU | coverage |",
    "| --- | --- | --- | --- |",
    ...Object.entries(pseudo).map(
      ([k, v]) => `| ${k.split("-")[0]} | ${v.steps.join(",")} | ${fmt(v.miou)} | ${fmt(v.coverage)} |`,
    ),
    "",
    `Single-step CAM baseline (cam cue, step 1): ${fmt(baseline.miou)} mIoU at ${fmt(baseline.coverage)}% coverage; best with erasing: ${best[0]} ${fmt(best[1].miou)} at ${fmt(best[1].coverage)}%.`,
    "",
  ].join("\n");
  writeBenchResults("mine", result, md);
}

await main();
