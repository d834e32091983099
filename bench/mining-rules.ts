// npm run bench:mining-rules — which later-step mining rule makes the best pseudo-labels? Erasing with
// the plain rule (τ 0.5 at every step, no score gate) in runs/voc-ungated (step 1 copied from runs/voc
// when finished there: it does not depend on the later-step rule), then its stored CAMs re-mined under
// several rules without retraining, pseudo-labels ("both" background cue) measured on the 440 measured
// images. Also: the precision of regions mined at steps 2 and 3 by the classifier's score for the class
// on the erased image. About a minute once the erasing run exists (about 25 min to make it).
import { cpSync, existsSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../src/engine/native.js";
import { readGroundTruthMask } from "../src/data/mask.js";
import { readIndexedPng } from "../src/data/png.js";
import { loadRgb } from "../src/data/image.js";
import { ConfusionMatrix } from "../src/eval/metrics.js";
import { mbdSaliency } from "../src/saliency/mbd.js";
import { CamStore, type CamRecord } from "../src/stages/cam.js";
import { completedSteps, type StepSummary } from "../src/stages/mine.js";
import { addPseudoLabel, backgroundConfidence } from "../src/stages/pseudo-labels.js";
import {
  classesToMine,
  mineRegions,
  selectBands,
  synthesizePseudoLabel,
  thresholdAtStep,
  unionRegions,
  type MinedRegions,
} from "../src/stages/regions.js";
import { readDone, stepDir } from "../src/stages/run-dir.js";
import { writeBenchResults } from "./common.js";
import {
  benchLog,
  fmt,
  HEADLINE_CLASSES,
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
  /** Steps whose CAMs keep pixels out of the background (default: the rule's own steps). */
  backgroundSteps?: number;
}

const BG_THRESHOLD = 0.2;
const SCORE_BUCKETS = [0, 0.3, 0.5, 0.7, 0.9, 1.0001];

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
  const rules: Rule[] = [
    { name: "step 1 only", steps: 1, increase: 0, minScore: 0 },
    {
      name: "step-1 regions, background outside every step's CAMs",
      steps: 1,
      increase: 0,
      minScore: 0,
      backgroundSteps: 3,
    },
  ];
  for (const increase of [0, 0.1, 0.15, 0.2])
    for (const minScore of [0, 0.5, 0.8])
      rules.push({ name: `3 steps, +${increase}/step, score ≥ ${minScore}`, steps: 3, increase, minScore });

  const stores = [1, 2, 3].map((t) => new CamStore(join(stepDir(RUN_DIR, t), "cams")));
  const cms = rules.map(() => new ConfusionMatrix(p.classNames.length));
  const coverage = rules.map(() => ({ labelled: 0, total: 0 }));
  const precision = new Map<string, { hit: number; mined: number }>();
  let done = 0;
  for (const item of p.evaluation) {
    const gt = (await readGroundTruthMask(item)).indices;
    const sal = mbdSaliency(await loadRgb(item.imagePath)).data;
    const perStep: { record: CamRecord; cams: Float32Array; erased: Uint8Array | undefined }[] = [];
    for (let t = 1; t <= 3; t++) {
      const { record, cams } = await stores[t - 1].get(item.id);
      const erased =
        t > 1
          ? (await readIndexedPng(join(stepDir(RUN_DIR, t - 1), "erase", `${item.id}.png`))).indices
          : undefined;
      perStep.push({ record, cams, erased });
    }
    const n = perStep[0].record.width * perStep[0].record.height;
    for (let t = 2; t <= 3; t++) {
      const { record, cams, erased } = perStep[t - 1];
      record.labels.forEach((c, k) => {
        const score = record.scores[c - 1];
        const b = SCORE_BUCKETS.findIndex((lo, i) => score >= lo && score < SCORE_BUCKETS[i + 1]);
        const key = `${t}|${SCORE_BUCKETS[b]}–${Math.min(1, SCORE_BUCKETS[b + 1])}`;
        const acc = precision.get(key) ?? { hit: 0, mined: 0 };
        for (let i = 0; i < n; i++) {
          if (cams[k * n + i] < tau || erased?.[i] || gt[i] === 255) continue;
          acc.mined++;
          if (gt[i] === c) acc.hit++;
        }
        precision.set(key, acc);
      });
    }
    // Background: low CAM over the steps a rule uses (as the pipeline does) and low MB+ saliency.
    const backgroundUpTo = [1, 2, 3].map((upTo) => {
      const maxCam = new Float32Array(n);
      for (const s of perStep.slice(0, upTo))
        for (let i = 0; i < s.cams.length; i++) maxCam[i % n] = Math.max(maxCam[i % n], s.cams[i]);
      return backgroundConfidence(maxCam, sal, "both", item.imagePath);
    });
    rules.forEach((rule, r) => {
      const mined: MinedRegions[] = [];
      for (let t = 1; t <= rule.steps; t++) {
        const { record, cams, erased } = perStep[t - 1];
        const labels = classesToMine(record.labels, record.scores, t, rule.minScore);
        mined.push(
          mineRegions(selectBands(cams, record.labels, labels, n), labels, n, {
            threshold: thresholdAtStep(tau, rule.increase, t),
            overlap: "higher-cam",
            erased,
          }),
        );
      }
      const label = synthesizePseudoLabel({
        regions: unionRegions(mined, "higher-cam").cls,
        background: backgroundUpTo[(rule.backgroundSteps ?? rule.steps) - 1],
        backgroundConfidence: 1 - BG_THRESHOLD,
      });
      coverage[r].labelled += addPseudoLabel(cms[r], gt, label);
      coverage[r].total += n;
    });
    if (++done % 100 === 0) benchLog(`${done}/${p.evaluation.length} images`);
  }

  const results = rules.map((rule, r) => {
    const iou = cms[r].iou();
    return {
      ...rule,
      miou: cms[r].meanIou(),
      miou7: p.headline.reduce((s, c) => s + iou[c], 0) / p.headline.length,
      coverage: coverage[r].labelled / coverage[r].total,
    };
  });
  const byScore = [...precision.entries()].map(([key, v]) => {
    const [step, bucket] = key.split("|");
    return { step: Number(step), score: bucket, precision: v.hit / v.mined, pixels: v.mined };
  });
  const json = {
    command: "npm run bench:mining-rules",
    date: new Date().toISOString(),
    run: RUN_DIR,
    stored_mining: stored,
    background: { cue: "both", bgThreshold: BG_THRESHOLD },
    rules: results,
    later_step_precision_by_score: byScore,
  };
  const md = [
    "# Later-step mining rules",
    "",
    `Re-mined offline from the CAMs stored in \`${RUN_DIR.split("/").slice(-2).join("/")}\` (erased with τ ${tau} at every step and no score gate, so each step's CAMs saw what that rule erased), pseudo-labels with the "both" background cue, measured on the ${p.evaluation.length} train.txt images (mIoU over labelled pixels).`,
    "",
    `| rule | mIoU (${HEADLINE_CLASSES.length}) | mIoU (21) | coverage |`,
    "| --- | --- | --- | --- |",
    ...results.map((r) => `| ${r.name} | ${fmt(r.miou7)} | ${fmt(r.miou)} | ${fmt(r.coverage)} |`),
    "",
    `## Precision of regions mined at steps 2 and 3 (τ = ${tau}, no gate) by the class's score on the erased image`,
    "",
    "| step | score | precision | pixels |",
    "| --- | --- | --- | --- |",
    ...byScore
      .sort((a, b) => a.step - b.step || a.score.localeCompare(b.score))
      .map((b) => `| ${b.step} | ${b.score} | ${fmt(b.precision)} | ${b.pixels} |`),
    "",
  ].join("\n");
  writeBenchResults("mining-rules", json, md);
}

await main();
