// npm run bench:psl-scores — what each erasing step's classifier says about the un-erased training
// images PSL sees: per headline class, the median image-level score of the labelled class, how many of
// its images score below 0.5, and how often an absent class scores 0.5 or more. PSL weights its online
// label by these scores (segmentation.pslScoreStep chooses the step), so a classifier fine-tuned on
// erased images that doubts the whole objects drags the segmentation with it.
// Scores are computed once per step and cached in <run>/psl-scores-step<t>.json (the file bench:quality
// and the pipeline use). AEPSL_BENCH_RUN=<run folder> measures another run (e.g. runs/voc-ungated).
import { basename, join, resolve } from "node:path";
import { packageRoot } from "../src/engine/native.js";
import { completedSteps } from "../src/stages/mine.js";
import { imageLevelScores } from "../src/stages/train-seg.js";
import { median, writeBenchResults } from "./common.js";
import { CLASSIFIER, benchLog as log, fmt, loadProtocol, RUN_DIR } from "./voc.js";

/** One step's scores summarised per class: over the images labelled with it, and over those without. */
export interface ClassScoreSummary {
  images: number;
  median_labelled: number | null;
  labelled_below_half: number;
  /** Share of the images without the class whose score for it is ≥ 0.5. */
  absent_at_least_half: number | null;
}

export function summariseScores(
  items: ReadonlyArray<{ id: string; labels: readonly number[] }>,
  scores: ReadonlyMap<string, ArrayLike<number>>,
  classIndex: number,
): ClassScoreSummary {
  const labelled: number[] = [];
  let absent = 0;
  let absentHigh = 0;
  for (const it of items) {
    const s = scores.get(it.id);
    if (!s) throw new Error(`bench:psl-scores: no score for image ${it.id}`);
    const v = s[classIndex - 1];
    if (it.labels.includes(classIndex)) labelled.push(v);
    else {
      absent++;
      if (v >= 0.5) absentHigh++;
    }
  }
  return {
    images: labelled.length,
    median_labelled: labelled.length ? median(labelled) : null,
    labelled_below_half: labelled.filter((v) => v < 0.5).length,
    absent_at_least_half: absent ? absentHigh / absent : null,
  };
}

async function main(): Promise<void> {
  const p = await loadProtocol();
  const steps = completedSteps(RUN_DIR);
  if (!steps.length)
    throw new Error(`bench:psl-scores: no finished erasing step in ${RUN_DIR} (run bench:mine)`);
  const perStep: Record<string, Record<string, ClassScoreSummary>> = {};
  for (const t of steps) {
    log(`step ${t}: image-level scores of the ${p.train.length} training images`);
    const scores = await imageLevelScores(
      join(RUN_DIR, "steps", String(t), "classifier"),
      p.train,
      p.classNames.length,
      CLASSIFIER.outputStride,
      join(RUN_DIR, `psl-scores-step${t}.json`),
    );
    perStep[t] = Object.fromEntries(
      p.headlineForeground.map((name) => [
        name,
        summariseScores(p.train, scores, p.classNames.indexOf(name)),
      ]),
    );
  }
  const other = resolve(RUN_DIR) !== resolve(packageRoot, "runs", "voc");
  const name = `psl-scores${other ? `-run-${basename(RUN_DIR).replace(/[^A-Za-z0-9.]+/g, "-")}` : ""}`;
  const result = {
    command: `${other ? `AEPSL_BENCH_RUN=${RUN_DIR} ` : ""}npm run bench:psl-scores`,
    date: new Date().toISOString(),
    run: RUN_DIR,
    train_images: p.train.length,
    steps: perStep,
  };
  const md = [
    "# PSL's image-level scores by erasing step",
    "",
    `Each finished step's classifier (${RUN_DIR}) on the ${p.train.length} un-erased training images: the median score of the labelled class, the images labelled with it that score below 0.5, and the share of images without it that score it ≥ 0.5.`,
    "",
    `| class | images | ${steps.map((t) => `step ${t}: median / < 0.5 / absent ≥ 0.5`).join(" | ")} |`,
    `| --- | --- | ${steps.map(() => "---").join(" | ")} |`,
    ...p.headlineForeground.map((c) => {
      const cells = steps.map((t) => {
        const s = perStep[t][c];
        const med = s.median_labelled === null ? "–" : s.median_labelled.toFixed(3);
        return `${med} / ${s.labelled_below_half} / ${fmt(s.absent_at_least_half)} %`;
      });
      return `| ${c} | ${perStep[steps[0]][c].images} | ${cells.join(" | ")} |`;
    }),
    "",
  ].join("\n");
  writeBenchResults(name, result, md);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
