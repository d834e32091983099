// npm run bench:retrain — erasing.retrain: each later step's classifier retrained from ImageNet (as in the
// paper) vs fine-tuned from the previous step's (the default), side by side on the same step 1 and the
// same plain erasing rule (τ 0.5 at every step, no score gate). The fine-tuned run is bench:mining-rules'
// runs/voc-ungated; the ImageNet one is made here in runs/voc-ungated-imagenet (step 1 copied from
// runs/voc; resumable; BENCH_STEPS=2 stops after step 2). Per finished step t of both runs: the shipped
// pseudo-labels from steps 1..t on the 440 measured images, the classifier's training mAP on its erased
// images, and what it scores the labelled classes on the un-erased training images (PSL's scores).
import { cpSync, existsSync } from "node:fs";
import { join } from "node:path";
import { imageSize } from "../src/data/image.js";
import { packageRoot } from "../src/engine/native.js";
import { completedSteps, type StepSummary } from "../src/stages/mine.js";
import { evaluatePseudoLabels, makePseudoLabels } from "../src/stages/pseudo-labels.js";
import { readDone, stepDir } from "../src/stages/run-dir.js";
import { computeSaliencyMaps, readSaliencyMap } from "../src/stages/saliency.js";
import { imageLevelScores } from "../src/stages/train-seg.js";
import { defaultConfig } from "../src/util/config.js";
import { writeBenchResults } from "./common.js";
import { summariseScores } from "./psl-scores.js";
import { benchLog as log, CLASSIFIER, ERASING, fmt, loadProtocol, RUN_DIR, runBenchErasing } from "./voc.js";

const FINE_TUNED_RUN = process.env.AEPSL_UNGATED_RUN ?? join(packageRoot, "runs", "voc-ungated");
const IMAGENET_RUN = join(packageRoot, "runs", "voc-ungated-imagenet");
const PLAIN_RULE = { thresholdIncrease: 0, minScore: 0 };
const STEPS = Number(process.env.BENCH_STEPS ?? 3);
const defaults = defaultConfig();

async function main(): Promise<void> {
  const p = await loadProtocol();
  const step1 = stepDir(RUN_DIR, 1);
  if (!existsSync(join(step1, "DONE.json"))) throw new Error(`${step1}: not finished (run bench:mine first)`);
  if (completedSteps(FINE_TUNED_RUN).length < 2)
    throw new Error(`${FINE_TUNED_RUN}: needs steps 1–2 with the plain rule (run bench:mining-rules first)`);
  if (!existsSync(stepDir(IMAGENET_RUN, 1))) {
    log(`copying step 1 from ${step1}`);
    cpSync(step1, stepDir(IMAGENET_RUN, 1), { recursive: true });
  }
  await runBenchErasing(p, STEPS, { runDir: IMAGENET_RUN, erasing: { ...PLAIN_RULE, retrain: "imagenet" } });

  const salDir = join(RUN_DIR, "bench-saliency-u2netp");
  await computeSaliencyMaps({ dir: salDir, items: p.evaluation, config: defaults.saliency });
  const runs = { "fine-tune": FINE_TUNED_RUN, imagenet: IMAGENET_RUN } as const;
  const rows: Array<{
    retrain: string;
    step: number;
    train_map: number;
    pseudo_miou7: number;
    pseudo_coverage: number;
    multi_class_miou7: number;
    psl_scores: Record<string, ReturnType<typeof summariseScores>>;
  }> = [];
  const multi = p.evaluation.filter((it) => it.labels.length > 1);
  for (const [retrain, dir] of Object.entries(runs)) {
    for (const t of completedSteps(dir)) {
      if (t > STEPS) break;
      const steps = Array.from({ length: t }, (_, i) => i + 1);
      // Step 1 is the same classifier in both runs: measured once, under fine-tune.
      if (t === 1 && retrain !== "fine-tune") continue;
      log(`${retrain}, steps 1..${t}: pseudo-labels and PSL scores`);
      const outDir = join(dir, "bench-pseudo", `retrain-${steps.join("")}`);
      await makePseudoLabels({
        runDir: dir,
        outDir,
        items: p.evaluation,
        steps,
        overlap: ERASING.overlap,
        palette: p.palette,
        config: defaults.pseudoLabels,
        saliency: async (item) => readSaliencyMap(salDir, item.id, await imageSize(item.imagePath)),
      });
      const all = await evaluatePseudoLabels(outDir, p.evaluation, p.classNames.length);
      const several = await evaluatePseudoLabels(outDir, multi, p.classNames.length);
      const scores = await imageLevelScores(
        join(stepDir(dir, t), "classifier"),
        p.train,
        p.classNames.length,
        CLASSIFIER.outputStride,
        join(dir, `psl-scores-step${t}.json`),
      );
      rows.push({
        retrain: t === 1 ? "(step 1, shared)" : retrain,
        step: t,
        train_map: readDone<StepSummary>(stepDir(dir, t)).final_map,
        pseudo_miou7: all.cm.meanIou(p.headline),
        pseudo_coverage: all.coverage,
        multi_class_miou7: several.cm.meanIou(p.headline),
        psl_scores: Object.fromEntries(
          p.headlineForeground.map((c) => [c, summariseScores(p.train, scores, p.classNames.indexOf(c))]),
        ),
      });
    }
  }
  const result = {
    command: `${STEPS !== 3 ? `BENCH_STEPS=${STEPS} ` : ""}npm run bench:retrain`,
    date: new Date().toISOString(),
    runs,
    rule: { ...ERASING, ...PLAIN_RULE },
    epochs_per_step: ERASING.epochsPerStep,
    rows,
  };
  const classes = p.headlineForeground;
  const md = [
    "# Later erasing steps: classifier retrained from ImageNet vs fine-tuned",
    "",
    `Same step 1 (${RUN_DIR}), same plain rule for later steps (τ ${ERASING.threshold}, no score gate), ${ERASING.epochsPerStep} epochs per later step either way. Pseudo-labels: the shipped settings on steps 1..t, ${p.evaluation.length} train.txt images (${multi.length} of them multi-class), ${p.headline.length}-class mIoU over labelled pixels. "train mAP": the step's classifier on its erased training images. PSL scores: the step's classifier on the ${p.train.length} un-erased training images, median score of the labelled class (images below 0.5 in brackets).`,
    "",
    `| retrain | steps | train mAP | pseudo mIoU | coverage | multi-class mIoU | ${classes.join(" | ")} |`,
    `| --- | --- | --- | --- | --- | --- | ${classes.map(() => "---").join(" | ")} |`,
    ...rows.map(
      (r) =>
        `| ${r.retrain} | 1..${r.step} | ${fmt(r.train_map)} | ${fmt(r.pseudo_miou7)} | ${fmt(r.pseudo_coverage)} % | ${fmt(r.multi_class_miou7)} | ${classes
          .map((c) => {
            const s = r.psl_scores[c];
            return `${s.median_labelled === null ? "–" : s.median_labelled.toFixed(2)} (${s.labelled_below_half}/${s.images})`;
          })
          .join(" | ")} |`,
    ),
    "",
  ].join("\n");
  writeBenchResults("retrain", result, md);
}

await main();
