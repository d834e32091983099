// npm run bench:pseudo-labels [-- steps, e.g. 1,2] — pseudo-label variants on the protocol's 440 measured
// images, from a run's finished erasing steps (runs/voc, written by `aepsl run --config
// configs/voc-protocol.yaml` or `aepsl mine`): MB+ and U²-Netp background cues, with and without the
// saliency gate on mined regions, for step 1 alone and for all steps. Writes bench/results/pseudo-labels.*
// for steps 1..erasing.steps, pseudo-labels-steps-<list>.* for any other list.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { DatasetItem } from "../src/data/dataset.js";
import { imageSize, loadRgb } from "../src/data/image.js";
import { readGroundTruthMask } from "../src/data/mask.js";
import { readIndexedPng } from "../src/data/png.js";
import { packageRoot } from "../src/engine/native.js";
import { mbdSaliency } from "../src/saliency/mbd.js";
import { completedSteps } from "../src/stages/mine.js";
import { evaluatePseudoLabels, makePseudoLabels } from "../src/stages/pseudo-labels.js";
import { readSaliencyMap } from "../src/stages/saliency.js";
import { defaultConfig, type PseudoLabelConfig } from "../src/util/config.js";
import { writeFileAtomicSync } from "../src/util/fs.js";
import { writeBenchResults } from "./common.js";
import { measuredSaliencyMaps } from "./pseudo-score.js";
import {
  benchLog,
  ERASING,
  HEADLINE_CLASSES,
  HEADLINE_LABEL,
  PLAIN_PSEUDO_LABELS,
  RUN_DIR,
  type Protocol,
} from "./voc.js";

export interface PseudoVariant {
  name: string;
  detector: "mbplus" | "u2netp";
  config: PseudoLabelConfig;
  /** Also record where each class's ground-truth pixels go (per_class). */
  fates?: boolean;
}

const base = PLAIN_PSEUDO_LABELS;
const defaults = defaultConfig();
export const VARIANTS: PseudoVariant[] = [
  { name: "cam", detector: "mbplus", config: { ...base, background: "cam" } },
  { name: "MB+ both", detector: "mbplus", config: { ...base, background: "both" } },
  { name: "U²-Netp", detector: "u2netp", config: { ...base, background: "saliency" } },
  { name: "U²-Netp both", detector: "u2netp", config: { ...base, background: "both" } },
  {
    name: "U²-Netp, regions gated ≥ 0.5",
    detector: "u2netp",
    config: { ...base, background: "saliency", regionSaliency: 0.5 },
  },
  {
    name: "U²-Netp < 0.5 as background, regions gated ≥ 0.5",
    detector: "u2netp",
    config: { ...base, background: "saliency", bgThreshold: 0.5, regionSaliency: 0.5 },
  },
  {
    name: "U²-Netp, step 1 gated ≥ 0.5, later steps ≥ 0.8",
    detector: "u2netp",
    config: { ...base, background: "saliency", regionSaliency: 0.5, laterStepSaliency: 0.8 },
  },
  { name: "default", detector: defaults.saliency.detector, config: defaults.pseudoLabels, fates: true },
  // People beside an animal are often not salient (U²-Netp < 0.2) and become background; here a pixel
  // is background only where the CAMs are low too.
  {
    name: "default, background also low CAM",
    detector: defaults.saliency.detector,
    config: { ...defaults.pseudoLabels, background: "both" },
    fates: true,
  },
  // The same, only in images tagged with several classes: single-class images keep saliency alone (their
  // salient object is the tagged class), which is where most of the background coverage is.
  {
    name: "default, background also low CAM in multi-class images",
    detector: defaults.saliency.detector,
    config: { ...defaults.pseudoLabels, background: "both-multiclass" },
    fates: true,
  },
  // The same with a looser CAM test (pseudoLabels.camBgThreshold): low-saliency pixels that blurry CAMs
  // reach stay background; only where a CAM is strong (people beside animals) are they kept out.
  ...[0.3, 0.4, 0.5].map((camBgThreshold) => ({
    name: `default, background also CAM < ${camBgThreshold} in multi-class images`,
    detector: defaults.saliency.detector,
    config: { ...defaults.pseudoLabels, background: "both-multiclass" as const, camBgThreshold },
    fates: true,
  })),
  // Ignored but salient pixels of single-class images take the class (pseudoLabels.singleClassSaliency).
  ...[0.5, 0.9].map((singleClassSaliency) => ({
    name: `U²-Netp gated ≥ 0.5 + single-class salient ≥ ${singleClassSaliency}`,
    detector: "u2netp" as const,
    config: { ...base, background: "saliency" as const, regionSaliency: 0.5, singleClassSaliency },
  })),
  // Dense CRF over the photo fills the ignored gaps where it is sure (pseudoLabels.crfFill); at 0.9 it
  // filled 98.8 % of pixels at 67.6 (step 1), so only a strict threshold is measured.
  {
    name: "U²-Netp gated ≥ 0.5 + CRF fill ≥ 0.999",
    detector: "u2netp",
    config: { ...base, background: "saliency", regionSaliency: 0.5, crfFill: 0.999 },
  },
];

export interface PseudoResult {
  variant: string;
  steps: number[];
  miou7: number;
  miou: number;
  coverage: number;
  /** The default variant only: where each headline class's ground-truth pixels end up (see pixelFates). */
  per_class?: Record<string, ClassFate>;
}

/** Shares of one class's ground-truth pixels: given that class, ignored (255), or given another class. */
export interface ClassFate {
  iou: number;
  correct: number;
  ignored: number;
  other: number;
  /** The class most of the "other" pixels get. */
  mostly_as: string | null;
  /** Share of the class's ground-truth pixels that lie in images tagged with that class alone. */
  in_single_class_images: number;
}

/** Per headline class, what the pseudo-labels in dir do with its ground-truth pixels. */
async function pixelFates(
  dir: string,
  items: DatasetItem[],
  classNames: readonly string[],
  headline: readonly number[],
  iou: number[],
): Promise<Record<string, ClassFate>> {
  const k = classNames.length;
  const counts = Array.from({ length: k }, () => new Float64Array(k + 1)); // [gt][label], k = ignored
  const single = new Float64Array(k);
  for (const item of items) {
    if (!item.maskPath) continue;
    const gt = (await readGroundTruthMask(item)).indices;
    const pl = (await readIndexedPng(join(dir, `${item.id}.png`))).indices;
    const alone = item.labels.length === 1 ? item.labels[0]! : -1;
    for (let i = 0; i < gt.length; i++) {
      const g = gt[i]!;
      if (g >= k) continue;
      const l = pl[i]!;
      counts[g]![l < k ? l : k]!++;
      if (g === alone || (g === 0 && item.labels.length === 1)) single[g]!++;
    }
  }
  const out: Record<string, ClassFate> = {};
  for (const c of headline) {
    const row = counts[c]!;
    const total = row.reduce((a, b) => a + b, 0) || 1;
    let worst = -1;
    for (let l = 0; l < k; l++) if (l !== c && (worst < 0 || row[l]! > row[worst]!)) worst = l;
    out[classNames[c]!] = {
      iou: iou[c] ?? 0,
      correct: row[c]! / total,
      ignored: row[k]! / total,
      other: 1 - (row[c]! + row[k]!) / total,
      mostly_as: worst >= 0 && row[worst]! > 0 ? classNames[worst]! : null,
      in_single_class_images: single[c]! / total,
    };
  }
  return out;
}

export async function measurePseudoVariants(p: Protocol, stepSets: number[][]): Promise<PseudoResult[]> {
  const salDir = await measuredSaliencyMaps(p);
  const headline = p.headline;
  const out: PseudoResult[] = [];
  for (const v of VARIANTS) {
    for (const steps of stepSets) {
      // Keyed by the settings, not the name: a changed default never reuses labels made under another.
      const key = createHash("sha1")
        .update(JSON.stringify([v.detector, v.config, steps]))
        .digest("hex")
        .slice(0, 10);
      const outDir = join(RUN_DIR, "bench-pseudo", key);
      await makePseudoLabels({
        runDir: RUN_DIR,
        outDir,
        items: p.evaluation,
        steps,
        overlap: ERASING.overlap,
        palette: p.palette,
        config: v.config,
        saliency:
          v.detector === "u2netp"
            ? async (item) => readSaliencyMap(salDir, item.id, await imageSize(item.imagePath))
            : async (item) => mbdSaliency(await loadRgb(item.imagePath)).data,
      });
      const e = await evaluatePseudoLabels(outDir, p.evaluation, p.classNames.length);
      const r: PseudoResult = {
        variant: v.name,
        steps,
        miou7: e.cm.meanIou(headline),
        miou: e.miou,
        coverage: e.coverage,
      };
      if (v.fates) {
        r.per_class = await pixelFates(outDir, p.evaluation, p.classNames, headline, e.cm.iou());
      }
      benchLog(
        `${v.name}, steps ${steps.join(",")}: ${HEADLINE_LABEL} mIoU ${(r.miou7 * 100).toFixed(1)} at ${(r.coverage * 100).toFixed(1)} % coverage`,
      );
      out.push(r);
    }
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { loadProtocol } = await import("./voc.js");
  const steps = process.argv[2] ? process.argv[2].split(",").map(Number) : completedSteps(RUN_DIR);
  const p = await loadProtocol();
  const sets = steps.length > 1 ? [[1], steps] : [[1]];
  const rows = await measurePseudoVariants(p, sets);
  const pick = (variant: string, s: number[]) =>
    rows.find((r) => r.variant === variant && r.steps.join() === s.join())!;
  const def1 = pick("default", [1]);
  const defAll = pick("default", steps);
  const pct = (x: number) => (x * 100).toFixed(1);
  const json = {
    command: `npm run bench:pseudo-labels${process.argv[2] ? ` -- ${process.argv[2]}` : ""}`,
    date: new Date().toISOString(),
    run: RUN_DIR,
    steps,
    saliency: defaults.saliency,
    pseudo_miou7: defAll.miou7,
    pseudo_coverage: defAll.coverage,
    pseudo_miou7_step1: def1.miou7,
    pseudo_coverage_step1: def1.coverage,
    erasing_gain_miou7: defAll.miou7 - def1.miou7,
    variants: rows,
  };
  const md = [
    "# Pseudo-labels by background cue and region gate",
    "",
    `${p.evaluation.length} measured images (train.txt), regions of ${RUN_DIR}'s erasing steps; ${HEADLINE_LABEL} mIoU`,
    `(${HEADLINE_CLASSES.join(", ")}) over labelled pixels, coverage = share of pixels not`,
    `ignored; 21-class mIoU over classes present. U²-Netp maps at ${defaults.saliency.inputSize} px. "default" is`,
    "the shipped configuration (pseudoLabels + saliency defaults).",
    "",
    `| variant | steps | ${HEADLINE_LABEL} mIoU | 21-class mIoU | coverage |`,
    "| --- | --- | --- | --- | --- |",
    ...rows.map(
      (r) =>
        `| ${r.variant} | ${r.steps.join(",")} | ${pct(r.miou7)} | ${pct(r.miou)} | ${pct(r.coverage)} |`,
    ),
    "",
    `Default: ${pct(defAll.miou7)} at ${pct(defAll.coverage)} % coverage with steps ${steps.join(",")}; ` +
      `step 1 alone ${pct(def1.miou7)} at ${pct(def1.coverage)} %.`,
    "",
    `Where each class's ground-truth pixels go, default, steps ${steps.join(",")} (% of the class's pixels; ` +
      `IoU over labelled pixels):`,
    "",
    "| class | IoU | labelled as it | ignored | another class (mostly) | in single-class images |",
    "| --- | --- | --- | --- | --- | --- |",
    ...Object.entries(defAll.per_class ?? {}).map(
      ([name, f]) =>
        `| ${name} | ${pct(f.iou)} | ${pct(f.correct)} | ${pct(f.ignored)} | ${pct(f.other)} (${f.mostly_as ?? "-"}) | ${pct(f.in_single_class_images)} |`,
    ),
    "",
    ...rows
      .filter((r) => r.per_class && r.variant !== "default" && r.steps.join() === steps.join())
      .flatMap((r) => [
        `${r.variant}, steps ${steps.join(",")}: ` +
          Object.entries(r.per_class!)
            .map(([name, f]) => `${name} ${pct(f.correct)} / ${pct(f.ignored)} / ${pct(f.other)}`)
            .join("; ") +
          " (% labelled as it / ignored / another class).",
      ]),
    "",
  ].join("\n");
  // The headline file (and mine.json's pseudo_miou7) is for all the configuration's erasing steps; a
  // run over fewer steps gets its own file, so it never replaces that measurement.
  const allSteps = Array.from({ length: ERASING.steps }, (_, i) => i + 1).join();
  if (steps.join() === allSteps) {
    writeBenchResults("pseudo-labels", json, md);
    recordInMineResults(json.command, steps, defAll);
  } else {
    writeBenchResults(`pseudo-labels-steps-${steps.join("-")}`, json, md);
  }
}

/**
 * bench/results/mine.json carries the default configuration's pseudo-label quality (issue #11's
 * pseudo_miou7 / pseudo_coverage): measured here, on the same run's steps, with where they came from.
 */
function recordInMineResults(command: string, steps: number[], r: PseudoResult): void {
  const file = join(packageRoot, "bench", "results", "mine.json");
  if (!existsSync(file)) return;
  const mine = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  Object.assign(mine, {
    pseudo_miou7: r.miou7,
    pseudo_coverage: r.coverage,
    pseudo_steps: steps,
    pseudo_measured_by: command,
  });
  writeFileAtomicSync(file, JSON.stringify(mine, null, 2) + "\n");
  console.log(
    `bench/results/mine.json: pseudo_miou7 ${r.miou7.toFixed(3)}, pseudo_coverage ${r.coverage.toFixed(3)}`,
  );
}
