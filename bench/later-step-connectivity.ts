// npm run bench:later-step-connectivity — do later erasing steps pay once their regions must grow out of
// the object found before? Erasing is meant to extend an object from its discriminative part, so a region
// mined at step t ≥ 2 that does not touch the same class's earlier regions is more likely another object
// or clutter. This benchmark re-mines steps 2..N from the CAMs stored in runs/voc under looser rules than
// the shipped one (τ 0.5 at every step, score gate 0 or 0.5) and under the shipped rule, each with and
// without that connectivity gate, and scores the default pseudo-labels on the 440 measured images.
// Caveat: runs/voc's later-step CAMs come from classifiers trained on images erased by the shipped rule,
// and images the shipped score gate refused have native-scale CAMs only, so the looser rows approximate
// what a run with those rules would mine. About 4 minutes on 2 cores once runs/voc holds 3 erasing steps.
import { join } from "node:path";
import { imageSize } from "../src/data/image.js";
import { readGroundTruthMask } from "../src/data/mask.js";
import { CamStore } from "../src/stages/cam.js";
import { loadStepRegions, mineStepRegions, type MiningRule } from "../src/stages/mine.js";
import { pseudoLabelFromSteps, type StepRegions } from "../src/stages/pseudo-labels.js";
import { accumulateErase } from "../src/stages/regions.js";
import { stepDir } from "../src/stages/run-dir.js";
import { readSaliencyMap } from "../src/stages/saliency.js";
import { defaultConfig } from "../src/util/config.js";
import { writeBenchResults } from "./common.js";
import { gainTable, laterErasingSteps, measuredSaliencyMaps, PseudoLabelScore } from "./pseudo-score.js";
import { ERASING, loadProtocol, RUN_DIR } from "./voc.js";

/**
 * Keeps the pixels of `later` only in its 8-connected components (one class each) that overlap or touch
 * (8-neighbourhood) a pixel of the same class in `earlier`; the rest of `later` is dropped.
 */
export function connectedToEarlier(
  later: StepRegions,
  earlier: Uint8Array,
  width: number,
  height: number,
): StepRegions {
  const n = width * height;
  if (later.cls.length !== n || earlier.length !== n)
    throw new Error(
      `connectedToEarlier: regions of ${later.cls.length} and ${earlier.length} pixels, image ${n}`,
    );
  const cls = new Uint8Array(n);
  const value = new Float32Array(n);
  const seen = new Uint8Array(n);
  const stack: number[] = [];
  for (let s = 0; s < n; s++) {
    const c = later.cls[s]!;
    if (c === 0 || c === 255 || seen[s]) continue;
    const component: number[] = [];
    let touches = false;
    seen[s] = 1;
    stack.push(s);
    while (stack.length) {
      const i = stack.pop()!;
      component.push(i);
      const x = i % width;
      const y = (i - x) / width;
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          const yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= width || yy >= height) continue;
          const j = yy * width + xx;
          if (earlier[j] === c) touches = true;
          if (!seen[j] && later.cls[j] === c) {
            seen[j] = 1;
            stack.push(j);
          }
        }
    }
    if (touches)
      for (const i of component) {
        cls[i] = c;
        value[i] = later.value[i]!;
      }
  }
  return { cls, value, maxCam: later.maxCam };
}

/** Steps 2..N each gated by connectivity to the union of the (gated) steps before it. */
export function gateStepsByConnectivity(
  steps: readonly StepRegions[],
  width: number,
  height: number,
): StepRegions[] {
  const out = steps.slice(0, 1);
  const union = steps[0]!.cls.slice();
  for (const s of steps.slice(1)) {
    const kept = connectedToEarlier(s, union, width, height);
    out.push(kept);
    for (let i = 0; i < union.length; i++) if (kept.cls[i] && !union[i]) union[i] = kept.cls[i]!;
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const steps = laterErasingSteps();
  const p = await loadProtocol();
  const config = defaultConfig().pseudoLabels;
  const salDir = await measuredSaliencyMaps(p);
  const stores = new Map(steps.map((t) => [t, new CamStore(join(stepDir(RUN_DIR, t), "cams"))]));
  const shipped: MiningRule = ERASING;
  const rules: { name: string; rule: MiningRule }[] = [
    {
      name: "τ 0.5 every step, no score gate",
      rule: { ...shipped, threshold: 0.5, thresholdIncrease: 0, minScore: 0 },
    },
    {
      name: "τ 0.5 every step, score ≥ 0.5",
      rule: { ...shipped, threshold: 0.5, thresholdIncrease: 0, minScore: 0.5 },
    },
    {
      name: `shipped (τ ${shipped.threshold} + ${shipped.thresholdIncrease}/step, score ≥ ${shipped.minScore})`,
      rule: shipped,
    },
  ];
  const names = [
    "step 1",
    `steps ${steps.join(",")} as stored`,
    ...rules.flatMap((r) => [
      `steps ${steps.join(",")}, ${r.name}`,
      `steps ${steps.join(",")}, ${r.name}, connected`,
    ]),
  ];
  const acc = names.map(() => new PseudoLabelScore(p.classNames.length));
  const o = { overlap: ERASING.overlap, config };
  for (const item of p.evaluation) {
    if (!item.maskPath) continue;
    const size = await imageSize(item.imagePath);
    const sal = await readSaliencyMap(salDir, item.id, size);
    const gt = (await readGroundTruthMask(item)).indices;
    const stored = [];
    for (const t of steps) stored.push(await loadStepRegions(RUN_DIR, t, item.id));
    const labels = [
      await pseudoLabelFromSteps(item, stored.slice(0, 1), sal, o, size),
      await pseudoLabelFromSteps(item, stored, sal, o, size),
    ];
    for (const { rule } of rules) {
      // Re-mined steps skip what earlier re-mined steps erased, as the erasing stage does.
      const mined: StepRegions[] = [stored[0]!];
      let erased = accumulateErase(null, stored[0]!.cls);
      for (const [k, t] of steps.entries()) {
        if (t === 1) continue;
        const { record, cams } = await stores.get(t)!.get(item.id);
        const m = mineStepRegions(record, cams, t, rule, erased);
        mined.push({ ...m, maxCam: stored[k]!.maxCam });
        erased = accumulateErase(erased, m.cls);
      }
      labels.push(await pseudoLabelFromSteps(item, mined, sal, o, size));
      const connected = gateStepsByConnectivity(mined, size.width, size.height);
      labels.push(await pseudoLabelFromSteps(item, connected, sal, o, size));
    }
    const multi = item.labels.filter((c) => c !== 0).length > 1;
    labels.forEach((label, k) => acc[k]!.add(gt, label, multi));
  }
  const rows = acc.map((a, k) => a.row(names[k]!, p));
  const headline = p.headline.map((c) => p.classNames[c]!);
  const json = {
    command: "npm run bench:later-step-connectivity",
    date: new Date().toISOString(),
    run: RUN_DIR,
    steps,
    pseudo_labels: config,
    images: p.evaluation.length,
    rows,
  };
  const md = [
    "# Later erasing steps gated by connectivity to earlier regions",
    "",
    `Default pseudo-label settings; steps 2..${steps.at(-1)} re-mined from the CAMs stored in ${RUN_DIR} under each rule,`,
    "with and without the connectivity gate (a later-step region counts only where its 8-connected component",
    "overlaps or touches the same class's earlier regions); measured on the",
    `${p.evaluation.length} train.txt images, mIoU over labelled pixels. The later-step CAMs come from classifiers trained on`,
    "images erased by the shipped rule (and images its score gate refused have native-scale CAMs only), so the",
    "looser rules' rows approximate what a run with those rules would mine.",
    "",
    ...gainTable(rows, headline),
    "",
  ].join("\n");
  writeBenchResults("later-step-connectivity", json, md);
}
