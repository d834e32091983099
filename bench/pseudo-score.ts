// Shared by the pseudo-label benchmarks: the measured images' U²-Netp maps (all three), and for those that
// compare variants row by row against step 1 (bench:erasing-ceiling, bench:later-step-connectivity) the
// erasing-step check and the scores: mIoU over labelled pixels, on all images and on those tagged with
// several classes, and coverage.
import { join } from "node:path";
import { ConfusionMatrix } from "../src/eval/metrics.js";
import { completedSteps } from "../src/stages/mine.js";
import { addPseudoLabel } from "../src/stages/pseudo-labels.js";
import { computeSaliencyMaps } from "../src/stages/saliency.js";
import { defaultConfig } from "../src/util/config.js";
import { benchLog, fmt, HEADLINE_LABEL, RUN_DIR, type Protocol } from "./voc.js";

/** runs/voc's finished erasing steps; these benchmarks compare later steps with step 1, so two or more. */
export function laterErasingSteps(): number[] {
  const steps = completedSteps(RUN_DIR);
  if (steps.length < 2)
    throw new Error(
      `${RUN_DIR}: needs two or more finished erasing steps (aepsl run --config configs/voc-protocol.yaml --out runs/voc)`,
    );
  return steps;
}

/** The measured images' U²-Netp maps at the default input size (made once, in runs/voc); their folder. */
export async function measuredSaliencyMaps(p: Pick<Protocol, "evaluation">): Promise<string> {
  const { saliency } = defaultConfig();
  const dir = join(RUN_DIR, "bench-saliency-u2netp");
  benchLog(`U²-Netp maps of the ${p.evaluation.length} measured images (${saliency.inputSize} px)`);
  await computeSaliencyMaps({ dir, items: p.evaluation, config: saliency });
  return dir;
}

export interface PseudoScoreRow {
  name: string;
  miou7: number;
  miou7_multiclass: number;
  miou: number;
  coverage: number;
  per_class: Record<string, number>;
}

/** One variant's pseudo-labels, accumulated image by image. */
export class PseudoLabelScore {
  private readonly all: ConfusionMatrix;
  private readonly multi: ConfusionMatrix;
  private labelled = 0;
  private total = 0;

  constructor(numClasses: number) {
    this.all = new ConfusionMatrix(numClasses);
    this.multi = new ConfusionMatrix(numClasses);
  }

  add(gt: Uint8Array, label: Uint8Array, multiClass: boolean): void {
    this.labelled += addPseudoLabel(this.all, gt, label);
    this.total += label.length;
    if (multiClass) addPseudoLabel(this.multi, gt, label);
  }

  row(name: string, p: Pick<Protocol, "headline" | "classNames">): PseudoScoreRow {
    const iou = this.all.iou();
    return {
      name,
      miou7: this.all.meanIou(p.headline),
      miou7_multiclass: this.multi.meanIou(p.headline),
      miou: this.all.meanIou(),
      coverage: this.total ? this.labelled / this.total : 0,
      per_class: Object.fromEntries(p.headline.map((c) => [p.classNames[c]!, iou[c] ?? 0])),
    };
  }
}

/** The Markdown table of the rows, each with its gain over the first (step 1). */
export function gainTable(rows: readonly PseudoScoreRow[], headline: readonly string[]): string[] {
  const first = rows[0]!;
  const gain = (r: PseudoScoreRow) => {
    if (r === first) return "";
    const d = r.miou7 - first.miou7;
    return (d >= 0 ? "+" : "") + fmt(d);
  };
  return [
    `| pseudo-labels | ${HEADLINE_LABEL} mIoU | gain over step 1 | ${HEADLINE_LABEL}, multi-class images | 21-class | coverage | ${headline.join(" | ")} |`,
    `| --- | --- | --- | --- | --- | --- | ${headline.map(() => "---").join(" | ")} |`,
    ...rows.map(
      (r) =>
        `| ${r.name} | ${fmt(r.miou7)} | ${gain(r)} | ${fmt(r.miou7_multiclass)} | ${fmt(r.miou)} | ${fmt(r.coverage)} | ${headline.map((h) => fmt(r.per_class[h]!)).join(" | ")} |`,
    ),
  ];
}
