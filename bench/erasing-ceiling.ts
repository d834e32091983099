// npm run bench:erasing-ceiling — how much could erasing add to the shipped pseudo-labels at most? Later
// erasing steps only add object regions: they turn ignored pixels into a class. With the U²-Netp cue the
// background is fixed by saliency and images tagged with one class get their salient pixels filled
// (pseudoLabels.singleClassSaliency), so what is left for extra regions is small. This benchmark measures
// the default pseudo-labels from step 1 and from steps 1..N of runs/voc, and oracle ceilings on top of
// step 1: ignored pixels given their ground-truth class (a perfect extra mining step), in images tagged
// with several classes or in all, at any saliency or only where the region gate lets a region through.
// 440 measured images; about 3 minutes on 2 cores (most of it the 440 U²-Netp maps, made once) once
// runs/voc holds finished erasing steps.
import { join } from "node:path";
import { imageSize } from "../src/data/image.js";
import { readGroundTruthMask } from "../src/data/mask.js";
import { IGNORE_INDEX } from "../src/data/types.js";
import { loadStepRegions } from "../src/stages/mine.js";
import { pseudoLabelFromSteps } from "../src/stages/pseudo-labels.js";
import { readSaliencyMap } from "../src/stages/saliency.js";
import { defaultConfig } from "../src/util/config.js";
import { writeBenchResults } from "./common.js";
import { gainTable, laterErasingSteps, measuredSaliencyMaps, PseudoLabelScore } from "./pseudo-score.js";
import { ERASING, fmt, loadProtocol, RUN_DIR, type Protocol } from "./voc.js";

/** Which ignored pixels an oracle ceiling fills with their ground-truth class. */
export interface OracleScope {
  /** Only in images tagged with several classes. */
  multiClassOnly: boolean;
  /** Only where the salient-object map reaches this (0 = anywhere). */
  minSaliency: number;
}

/**
 * A perfect extra mining step: ignored pixels whose ground truth is one of the image's tagged classes get
 * that class (within the scope); labelled pixels, background and unlabelled ground truth stay as they are.
 */
export function oracleFill(
  label: Uint8Array,
  gt: Uint8Array,
  saliency: Float32Array,
  imageClasses: readonly number[],
  scope: OracleScope,
): Uint8Array {
  if (gt.length !== label.length || saliency.length !== label.length)
    throw new Error(
      `oracleFill: label ${label.length}, ground truth ${gt.length} and saliency ${saliency.length} pixels differ`,
    );
  const out = label.slice();
  const tagged = imageClasses.filter((c) => c !== 0);
  if (scope.multiClassOnly && tagged.length < 2) return out;
  for (let i = 0; i < out.length; i++) {
    if (out[i] !== IGNORE_INDEX || saliency[i]! < scope.minSaliency) continue;
    if (tagged.includes(gt[i]!)) out[i] = gt[i]!;
  }
  return out;
}

export async function measureErasingCeiling(p: Protocol, steps: number[]) {
  const config = defaultConfig().pseudoLabels;
  const salDir = await measuredSaliencyMaps(p);
  const gate = config.regionSaliency;
  const oracles: { name: string; scope: OracleScope }[] = [
    {
      name: `ceiling: step 1 + ignored pixels of multi-class images at saliency ≥ ${gate} given their true class`,
      scope: { multiClassOnly: true, minSaliency: gate },
    },
    {
      name: "ceiling: step 1 + every ignored pixel of multi-class images given its true class",
      scope: { multiClassOnly: true, minSaliency: 0 },
    },
    {
      name: `ceiling: step 1 + ignored pixels of every image at saliency ≥ ${gate} given their true class`,
      scope: { multiClassOnly: false, minSaliency: gate },
    },
    {
      name: "ceiling: step 1 + every ignored pixel of every image given its true class",
      scope: { multiClassOnly: false, minSaliency: 0 },
    },
  ];
  const names = ["default, step 1", `default, steps ${steps.join(",")}`, ...oracles.map((o) => o.name)];
  const acc = names.map(() => new PseudoLabelScore(p.classNames.length));
  let multiImages = 0;
  for (const item of p.evaluation) {
    if (!item.maskPath) continue;
    const size = await imageSize(item.imagePath);
    const sal = await readSaliencyMap(salDir, item.id, size);
    const gt = (await readGroundTruthMask(item)).indices;
    const perStep = [];
    for (const t of steps) perStep.push(await loadStepRegions(RUN_DIR, t, item.id));
    const o = { overlap: ERASING.overlap, config };
    const step1 = await pseudoLabelFromSteps(item, perStep.slice(0, 1), sal, o, size);
    const all = await pseudoLabelFromSteps(item, perStep, sal, o, size);
    const labels = [step1, all, ...oracles.map((x) => oracleFill(step1, gt, sal, item.labels, x.scope))];
    const multi = item.labels.filter((c) => c !== 0).length > 1;
    if (multi) multiImages++;
    labels.forEach((label, k) => acc[k]!.add(gt, label, multi));
  }
  const rows = acc.map((a, k) => a.row(names[k]!, p));
  return { rows, multiImages };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const steps = laterErasingSteps();
  const p = await loadProtocol();
  const { rows, multiImages } = await measureErasingCeiling(p, steps);
  const [step1, allSteps, ...ceilings] = rows;
  const gain = allSteps!.miou7 - step1!.miou7;
  const json = {
    command: "npm run bench:erasing-ceiling",
    date: new Date().toISOString(),
    run: RUN_DIR,
    steps,
    pseudo_labels: defaultConfig().pseudoLabels,
    images: p.evaluation.length,
    multi_class_images: multiImages,
    erasing_gain_miou7: gain,
    ceiling_gain_miou7: Object.fromEntries(ceilings.map((r) => [r.name, r.miou7 - step1!.miou7])),
    rows,
  };
  const headline = p.headline.map((c) => p.classNames[c]!);
  const md = [
    "# How much could erasing add to the pseudo-labels?",
    "",
    `Default pseudo-label settings, regions of ${RUN_DIR}'s erasing steps, ${p.evaluation.length} measured images`,
    `(${multiImages} tagged with several classes). Later erasing steps can only turn ignored pixels into a class;`,
    "a ceiling row gives such pixels their true class on top of step 1 — a perfect extra mining step — so no",
    "mining rule can add more than the ceiling's gain under the same background cue and fills.",
    "",
    ...gainTable(rows, headline),
    "",
    `Erasing steps ${steps.join(",")} add ${gain >= 0 ? "+" : ""}${fmt(gain)} points over step 1; a perfect extra step could add ` +
      `${fmt(ceilings[0]!.miou7 - step1!.miou7)} (multi-class images, through the region gate) to ` +
      `${fmt(ceilings[3]!.miou7 - step1!.miou7)} (every ignored pixel of every image).`,
    "",
  ].join("\n");
  writeBenchResults("erasing-ceiling", json, md);
}
