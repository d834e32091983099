// npm run bench:mining-rules — which later-step mining rule makes the best pseudo-labels? Erasing with
// the plain rule (τ 0.5 at every step, no score gate) in runs/voc-ungated (step 1 copied from runs/voc
// when finished there: it does not depend on the later-step rule), then its stored CAMs re-mined under
// several rules without retraining and turned into pseudo-labels with the shipped pseudo-label settings
// (U²-Netp background, saliency-gated regions, single-class salient fill), measured on the 440 measured
// images — overall and on the images tagged with several classes, the only ones where regions decide
// which class a salient pixel gets. Also: the precision of regions mined at steps 2 and 3 by the
// classifier's score for the class on the erased image, with and without the saliency gate. About a
// minute once the erasing run exists (two erasing steps to make it, ≈ 30–80 min on 2 cores).
import { cpSync, existsSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../src/engine/native.js";
import { readGroundTruthMask } from "../src/data/mask.js";
import { imageSize } from "../src/data/image.js";
import { readIndexedPng } from "../src/data/png.js";
import { ConfusionMatrix } from "../src/eval/metrics.js";
import { CamStore, type CamRecord } from "../src/stages/cam.js";
import { completedSteps, mineStepRegions, type StepSummary } from "../src/stages/mine.js";
import { addPseudoLabel, pseudoLabelFromSteps, type StepRegions } from "../src/stages/pseudo-labels.js";
import { maxOverBands } from "../src/stages/regions.js";
import { readDone, stepDir } from "../src/stages/run-dir.js";
import { computeSaliencyMaps, readSaliencyMap } from "../src/stages/saliency.js";
import { defaultConfig } from "../src/util/config.js";
import { writeBenchResults } from "./common.js";
import {
  benchLog,
  fmt,
  HEADLINE_CLASSES,
  HEADLINE_LABEL,
  loadProtocol,
  RUN_DIR as PROTOCOL_RUN,
  runBenchErasing,
} from "./voc.js";

const RUN_DIR = process.env.AEPSL_UNGATED_RUN ?? join(packageRoot, "runs", "voc-ungated");
const PLAIN_RULE = { thresholdIncrease: 0, minScore: 0 };

interface Rule {
  name: string;
  steps: number;
  increase: number;
  minScore: number;
  /** pseudoLabels.laterStepSaliency: later steps' pixels need this saliency (0: the step-1 gate). */
  laterGate: number;
}

const SCORE_BUCKETS = [0, 0.3, 0.5, 0.7, 0.9, 1.0001];
const defaults = defaultConfig();

async function main(): Promise<void> {
  const p = await loadProtocol();
  const step1 = stepDir(PROTOCOL_RUN, 1);
  if (!existsSync(stepDir(RUN_DIR, 1)) && existsSync(join(step1, "DONE.json"))) {
    benchLog(`copying step 1 from ${step1}`);
    cpSync(step1, stepDir(RUN_DIR, 1), { recursive: true });
  }
  await runBenchErasing(p, 3, { runDir: RUN_DIR, erasing: PLAIN_RULE });
  if (completedSteps(RUN_DIR).length < 3) throw new Error(`${RUN_DIR}: erasing stopped before step 3`);
  const stored = readDone<StepSummary>(stepDir(RUN_DIR, 2)).mining;
  const tau = stored?.threshold ?? 0.5;
  const rules: Rule[] = [{ name: "step 1 only", steps: 1, increase: 0, minScore: 0, laterGate: 0 }];
  for (const steps of [2, 3])
    for (const increase of [0, 0.1, 0.15])
      for (const minScore of [0, 0.5, 0.8])
        for (const laterGate of [0, 0.8])
          rules.push({
            name: `${steps} steps, +${increase}/step, score ≥ ${minScore}${laterGate ? `, later steps salient ≥ ${laterGate}` : ""}`,
            steps,
            increase,
            minScore,
            laterGate,
          });

  const salDir = join(PROTOCOL_RUN, "bench-saliency-u2netp");
  benchLog(`U²-Netp maps of the ${p.evaluation.length} measured images`);
  await computeSaliencyMaps({ dir: salDir, items: p.evaluation, config: defaults.saliency });
  const gateMin = defaults.pseudoLabels.regionSaliency;
  const stores = [1, 2, 3].map((t) => new CamStore(join(stepDir(RUN_DIR, t), "cams")));
  const k = p.classNames.length;
  const cms = rules.map(() => new ConfusionMatrix(k));
  const multiCms = rules.map(() => new ConfusionMatrix(k));
  const coverage = rules.map(() => ({ labelled: 0, total: 0 }));
  const precision = new Map<string, { hit: number; mined: number; salientHit: number; salient: number }>();
  let done = 0;
  for (const item of p.evaluation) {
    const gt = (await readGroundTruthMask(item)).indices;
    const sal = await readSaliencyMap(salDir, item.id, await imageSize(item.imagePath));
    const perStep: {
      record: CamRecord;
      cams: Float32Array;
      erased: Uint8Array | undefined;
      maxCam: Float32Array;
    }[] = [];
    for (let t = 1; t <= 3; t++) {
      const { record, cams } = await stores[t - 1].get(item.id);
      const erased =
        t > 1
          ? (await readIndexedPng(join(stepDir(RUN_DIR, t - 1), "erase", `${item.id}.png`))).indices
          : undefined;
      const n = record.width * record.height;
      perStep.push({ record, cams, erased, maxCam: maxOverBands(cams, n) });
    }
    const { width, height } = perStep[0].record;
    const n = width * height;
    for (let t = 2; t <= 3; t++) {
      const { record, cams, erased } = perStep[t - 1];
      record.labels.forEach((c, j) => {
        const score = record.scores[c - 1];
        const b = SCORE_BUCKETS.findIndex((lo, i) => score >= lo && score < SCORE_BUCKETS[i + 1]);
        const key = `${t}|${SCORE_BUCKETS[b]}–${Math.min(1, SCORE_BUCKETS[b + 1])}`;
        const acc = precision.get(key) ?? { hit: 0, mined: 0, salientHit: 0, salient: 0 };
        for (let i = 0; i < n; i++) {
          if (cams[j * n + i] < tau || erased?.[i] || gt[i] === 255) continue;
          acc.mined++;
          if (gt[i] === c) acc.hit++;
          if (sal[i] >= gateMin) {
            acc.salient++;
            if (gt[i] === c) acc.salientHit++;
          }
        }
        precision.set(key, acc);
      });
    }
    const multi = item.labels.length > 1;
    for (const [r, rule] of rules.entries()) {
      const mined: StepRegions[] = [];
      for (let t = 1; t <= rule.steps; t++) {
        const { record, cams, erased, maxCam } = perStep[t - 1];
        const regions = mineStepRegions(
          record,
          cams,
          t,
          {
            threshold: tau,
            thresholdIncrease: rule.increase,
            minScore: rule.minScore,
            topPercent: null,
            overlap: "higher-cam",
          },
          erased,
        );
        mined.push({ ...regions, maxCam });
      }
      const config = { ...defaults.pseudoLabels, laterStepSaliency: rule.laterGate };
      const label = await pseudoLabelFromSteps(
        item,
        mined,
        sal,
        { overlap: "higher-cam", config },
        { width, height },
      );
      coverage[r].labelled += addPseudoLabel(cms[r], gt, label);
      coverage[r].total += n;
      if (multi) addPseudoLabel(multiCms[r], gt, label);
    }
    if (++done % 100 === 0) benchLog(`${done}/${p.evaluation.length} images`);
  }

  const results = rules.map((rule, r) => ({
    ...rule,
    miou: cms[r].meanIou(),
    miou7: cms[r].meanIou(p.headline),
    miou7_multiclass: multiCms[r].meanIou(p.headline),
    coverage: coverage[r].labelled / coverage[r].total,
  }));
  const byScore = [...precision.entries()].map(([key, v]) => {
    const [step, bucket] = key.split("|");
    return {
      step: Number(step),
      score: bucket,
      precision: v.hit / v.mined,
      pixels: v.mined,
      precision_salient: v.salientHit / v.salient,
      pixels_salient: v.salient,
    };
  });
  const multiImages = p.evaluation.filter((it) => it.labels.length > 1).length;
  const json = {
    command: "npm run bench:mining-rules",
    date: new Date().toISOString(),
    run: RUN_DIR,
    stored_mining: stored,
    pseudo_labels: defaults.pseudoLabels,
    saliency: defaults.saliency,
    multiclass_images: multiImages,
    rules: results,
    later_step_precision_by_score: byScore,
  };
  const md = [
    "# Later-step mining rules",
    "",
    `Re-mined offline from the CAMs stored in \`${RUN_DIR.split("/").slice(-2).join("/")}\` (erased with τ ${tau} at every step and no score gate, so each step's CAMs saw what that rule erased; a stricter rule would have erased less before steps 2 and 3, so its rows are an approximation), pseudo-labels with the shipped settings (background ${defaults.pseudoLabels.background} < ${defaults.pseudoLabels.bgThreshold}, regions kept where U²-Netp ≥ ${gateMin}, single-class salient fill ≥ ${defaults.pseudoLabels.singleClassSaliency}; U²-Netp at ${defaults.saliency.inputSize} px), measured on the ${p.evaluation.length} train.txt images (mIoU over labelled pixels). "multi-class" = the ${multiImages} images tagged with several classes.`,
    "",
    `| rule | ${HEADLINE_LABEL} mIoU | ${HEADLINE_LABEL}, multi-class images | 21-class mIoU | coverage |`,
    "| --- | --- | --- | --- | --- |",
    ...results.map(
      (r) =>
        `| ${r.name} | ${fmt(r.miou7)} | ${fmt(r.miou7_multiclass)} | ${fmt(r.miou)} | ${fmt(r.coverage)} |`,
    ),
    "",
    `## Precision of regions mined at steps 2 and 3 (τ = ${tau}, no gate) by the class's score on the erased image`,
    "",
    `| step | score | precision | pixels | precision where U²-Netp ≥ ${gateMin} | pixels there |`,
    "| --- | --- | --- | --- | --- | --- |",
    ...byScore
      .sort((a, b) => a.step - b.step || a.score.localeCompare(b.score))
      .map(
        (b) =>
          `| ${b.step} | ${b.score} | ${fmt(b.precision)} | ${b.pixels} | ${fmt(b.precision_salient)} | ${b.pixels_salient} |`,
      ),
    "",
  ].join("\n");
  writeBenchResults("mining-rules", json, md);
}

await main();
