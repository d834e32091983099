// Pseudo-label variants measured on the protocol's 440 images: MB+ and U²-Netp background cues, with and
// without the region gate, for the single step and for all steps. Used by bench:mine; runnable alone on a
// run's finished steps: node --import tsx bench/pseudo-variants.ts [steps, e.g. 1,2].
import { join } from "node:path";
import { imageSize, loadRgb } from "../src/data/image.js";
import { headlineIndices } from "../src/eval/metrics.js";
import { mbdSaliency } from "../src/saliency/mbd.js";
import { completedSteps } from "../src/stages/mine.js";
import { evaluatePseudoLabels, makePseudoLabels } from "../src/stages/pseudo-labels.js";
import { computeSaliencyMaps, readSaliencyMap } from "../src/stages/saliency.js";
import { defaultConfig, type PseudoLabelConfig } from "../src/util/config.js";
import { benchLog, ERASING, RUN_DIR, type Protocol } from "./voc.js";

export interface PseudoVariant {
  name: string;
  detector: "mbplus" | "u2netp";
  config: PseudoLabelConfig;
}

const base = { bgThreshold: 0.2, laterStepSaliency: 0, regionSaliency: 0 };
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
  { name: "default", detector: defaults.saliency.detector, config: defaults.pseudoLabels },
];

export interface PseudoResult {
  variant: string;
  steps: number[];
  miou7: number;
  miou: number;
  coverage: number;
}

export async function measurePseudoVariants(p: Protocol, stepSets: number[][]): Promise<PseudoResult[]> {
  const salDir = join(RUN_DIR, "bench-saliency-u2netp");
  benchLog(`U²-Netp maps of the ${p.evaluation.length} measured images (${defaults.saliency.inputSize} px)`);
  await computeSaliencyMaps({ dir: salDir, items: p.evaluation, config: defaults.saliency });
  const headline = headlineIndices(p.classNames);
  const out: PseudoResult[] = [];
  for (const v of VARIANTS) {
    for (const steps of stepSets) {
      const outDir = join(
        RUN_DIR,
        "bench-pseudo",
        `${v.name.replace(/[^a-zA-Z0-9]+/g, "_")}-${steps.join("")}`,
      );
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
      const r = { variant: v.name, steps, miou7: e.cm.meanIou(headline), miou: e.miou, coverage: e.coverage };
      benchLog(
        `${v.name}, steps ${steps.join(",")}: 7-class mIoU ${(r.miou7 * 100).toFixed(1)} at ${(r.coverage * 100).toFixed(1)} % coverage`,
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
  console.log(JSON.stringify(await measurePseudoVariants(p, sets), null, 1));
}
