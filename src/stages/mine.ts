// Stage: adversarial erasing (Wei et al., CVPR 2017). Step t trains the classifier on images with the
// regions mined at steps < t erased (mean pixel), computes CAMs, and mines the new high-CAM regions.
// Each step lives in steps/<t>/ (classifier/, cams/, regions/, erase/, erased/, DONE.json).
import { existsSync, statSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { DatasetItem } from "../data/dataset.js";
import { saveJpeg } from "../data/image.js";
import { readIndexedPng, writeIndexedPng } from "../data/png.js";
import { loadModelWeights } from "../engine/checkpoint.js";
import { CamClassifier } from "../nn/cam-classifier.js";
import { extractCams, CamStore, storedScores, type CamOptions, type CamRecord } from "./cam.js";
import {
  accumulateErase,
  classesToMine,
  maxOverBands,
  mineRegions,
  selectBands,
  thresholdAtStep,
  type MinedRegions,
} from "./regions.js";
import { isDone, markDone, readDone, stepDir } from "./run-dir.js";
import type { ErasingConfig } from "../util/config.js";
import { loadTrainingImage, trainClassifier, type ClassifierConfig } from "./train-cls.js";

export type { ErasingConfig } from "../util/config.js";

export interface ErasingOptions {
  runDir: string;
  /** Images the classifier trains on. */
  trainItems: DatasetItem[];
  /** Further images mined (erased and mapped) but never trained on, e.g. a measured split. */
  extraItems?: DatasetItem[];
  numClasses: number;
  palette: Uint8Array;
  classifier: ClassifierConfig;
  erasing: ErasingConfig;
  cam: CamOptions;
  seed: number;
  /** Erased pixels get this colour: the training set's mean pixel. */
  fill: readonly [number, number, number];
  log?: (line: string) => void;
  onStep?: (stage: string, done: number, total: number, metrics?: Record<string, number>) => void;
  /** Times each part of a step ("step t train-cls", "step t cams", "step t mining"); default: untimed. */
  time?: <T>(part: string, fn: () => Promise<T>) => Promise<T>;
}

export interface StepSummary {
  step: number;
  stopped: boolean;
  reason?: string;
  final_map: number;
  /** The settings the step was mined with (absent in folders written before they were recorded). */
  mining?: MiningSettings;
}

/** The erasing settings a finished step depends on; step 1 only on the first three. */
const MINING_KEYS = [
  "threshold",
  "topPercent",
  "overlap",
  "thresholdIncrease",
  "minScore",
  "retrain",
  "epochsPerStep",
] as const;
const STEP1_KEYS = MINING_KEYS.slice(0, 3);

type MiningSettings = Pick<ErasingConfig, (typeof MINING_KEYS)[number]>;

function miningSettings(e: ErasingConfig): MiningSettings {
  return Object.fromEntries(MINING_KEYS.map((k) => [k, e[k]])) as MiningSettings;
}

/** A finished step mined with other settings would silently mix two methods in one union: refuse. */
function checkSameSettings(dir: string, s: StepSummary, current: MiningSettings): void {
  if (!s.mining) return;
  // Step 1 trains from ImageNet and mines with the base τ: the later-step settings do not touch it.
  const keys = s.step === 1 ? STEP1_KEYS : MINING_KEYS;
  const differ = keys.filter((k) => JSON.stringify(s.mining![k]) !== JSON.stringify(current[k]));
  if (differ.length)
    throw new Error(
      `${dir}: finished with other erasing settings (${differ
        .map((k) => `${k}: ${JSON.stringify(s.mining![k])} there, ${JSON.stringify(current[k])} now`)
        .join("; ")}); use a new run folder, or --force to start over`,
    );
}

const regionsDir = (runDir: string, t: number) => join(stepDir(runDir, t), "regions");
const eraseDir = (runDir: string, t: number) => join(stepDir(runDir, t), "erase");

/** Steps whose regions count (finished and not stopped), in order. */
export function completedSteps(runDir: string): number[] {
  const out: number[] = [];
  for (let t = 1; isDone(stepDir(runDir, t)); t++) {
    if (readDone<StepSummary>(stepDir(runDir, t)).stopped) break;
    out.push(t);
  }
  return out;
}

export async function runErasing(o: ErasingOptions): Promise<StepSummary[]> {
  const log = o.log ?? (() => {});
  const summaries: StepSummary[] = [];
  const all = [...o.trainItems, ...(o.extraItems ?? [])];
  const time = o.time ?? ((_part, fn) => fn());
  for (let t = 1; t <= o.erasing.steps; t++) {
    const dir = stepDir(o.runDir, t);
    if (isDone(dir)) {
      const s = readDone<StepSummary>(dir);
      checkSameSettings(dir, s, miningSettings(o.erasing));
      summaries.push(s);
      log(`erasing step ${t}: already done${s.stopped ? ` (stopped: ${s.reason})` : ""}`);
      if (s.stopped) break;
      continue;
    }
    const prevErase = t > 1 ? eraseDir(o.runDir, t - 1) : undefined;
    log(
      `erasing step ${t}/${o.erasing.steps}: training the classifier${prevErase ? " on erased images" : ""}`,
    );
    const metrics = await time(`step ${t} train-cls`, () =>
      trainClassifier({
        dir: join(dir, "classifier"),
        items: o.trainItems,
        numClasses: o.numClasses,
        config: { ...o.classifier, epochs: t === 1 ? o.classifier.epochs : o.erasing.epochsPerStep },
        seed: o.seed + t,
        initFrom:
          t > 1 && o.erasing.retrain === "fine-tune"
            ? join(stepDir(o.runDir, t - 1), "classifier")
            : undefined,
        eraseDir: prevErase,
        eraseFill: o.fill,
        log,
        onStep: (d, n, m) => o.onStep?.(`step ${t} train-cls`, d, n, m),
      }),
    );
    const finalMap = metrics.epochs.at(-1)?.map ?? 0;
    const firstMap = t > 1 ? readDone<StepSummary>(stepDir(o.runDir, 1)).final_map : finalMap;
    if (t > 1 && finalMap < o.erasing.stopMapRatio * firstMap) {
      const reason =
        `classifier training mAP ${(finalMap * 100).toFixed(1)} < ${o.erasing.stopMapRatio} × step 1's ` +
        `${(firstMap * 100).toFixed(1)}: the erased images no longer hold enough evidence`;
      log(`erasing step ${t}: stopping — ${reason}`);
      const s = { step: t, stopped: true, reason, final_map: finalMap, mining: miningSettings(o.erasing) };
      await markDone(dir, { ...s });
      summaries.push(s);
      break;
    }
    const model = new CamClassifier(o.numClasses - 1, {
      outputStride: o.classifier.outputStride,
      imagenet: false,
    });
    try {
      loadModelWeights(join(dir, "classifier"), model);
      log(`erasing step ${t}: CAMs of ${all.length} images`);
      const store = await time(`step ${t} cams`, () =>
        extractCams({
          ...o.cam,
          dir: join(dir, "cams"),
          model,
          items: all,
          overlays: 12,
          loadImage: (item) => loadTrainingImage(item, prevErase, o.fill),
          fullScales: allScalesGate(o.erasing, t),
          onImage: (d, n) => o.onStep?.(`step ${t} cams`, d, n),
        }),
      );
      const tau = thresholdAtStep(o.erasing.threshold, o.erasing.thresholdIncrease, t);
      const gate = t > 1 && o.erasing.minScore > 0 ? `, classes scored ≥ ${o.erasing.minScore}` : "";
      log(
        `erasing step ${t}: mining regions (τ = ${o.erasing.topPercent ? `top ${o.erasing.topPercent}%` : tau.toFixed(2)}${gate})`,
      );
      await time(`step ${t} mining`, () => mineStep(o, t, store, all, prevErase));
    } finally {
      model.dispose();
    }
    const s = { step: t, stopped: false, final_map: finalMap, mining: miningSettings(o.erasing) };
    await markDone(dir, { ...s });
    summaries.push(s);
  }
  return summaries;
}

/**
 * At step t ≥ 2 with a score gate, only images with a class that passes it are mined: the others get the
 * native-scale CAM alone (their regions are empty either way), which saves about 2/3 of their CAM cost.
 * The gate reads the scores as the CAM records keep them, so it agrees with mineStep's.
 */
export function allScalesGate(
  erasing: Pick<ErasingConfig, "minScore">,
  t: number,
): ((item: Pick<DatasetItem, "labels">, scores: Float32Array) => boolean) | undefined {
  if (t <= 1 || erasing.minScore <= 0) return undefined;
  return (item, scores) => classesToMine(item.labels, storedScores(scores), t, erasing.minScore).length > 0;
}

/** The settings one image's regions at a step depend on. */
export type MiningRule = Pick<
  ErasingConfig,
  "threshold" | "thresholdIncrease" | "minScore" | "topPercent" | "overlap"
>;

/**
 * One image's regions at step t: the classes still recognised (score gate) mined at step t's τ, skipping
 * pixels already erased. The stage and the benchmarks that re-mine stored CAMs share it.
 */
export function mineStepRegions(
  record: CamRecord,
  cams: Float32Array,
  t: number,
  rule: MiningRule,
  erased?: Uint8Array,
): MinedRegions {
  const n = record.width * record.height;
  const labels = classesToMine(record.labels, record.scores, t, rule.minScore);
  return mineRegions(selectBands(cams, record.labels, labels, n), labels, n, {
    threshold: thresholdAtStep(rule.threshold, rule.thresholdIncrease, t),
    topPercent: rule.topPercent,
    overlap: rule.overlap,
    erased,
  });
}

async function mineStep(
  o: ErasingOptions,
  t: number,
  store: CamStore,
  items: DatasetItem[],
  prevErase?: string,
) {
  const rDir = regionsDir(o.runDir, t);
  const eDir = eraseDir(o.runDir, t);
  await mkdir(rDir, { recursive: true });
  await mkdir(eDir, { recursive: true });
  const erasePalette = new Uint8Array(768);
  erasePalette.set([255, 255, 255], 3);
  let shown = 0;
  for (const item of items) {
    const regionPath = join(rDir, `${item.id}.png`);
    const erasePath = join(eDir, `${item.id}.png`);
    if (existsSync(regionPath) && existsSync(erasePath)) continue;
    const { record, cams } = await store.get(item.id);
    const previous = prevErase ? (await readIndexedPng(join(prevErase, `${item.id}.png`))).indices : null;
    const mined = mineStepRegions(record, cams, t, o.erasing, previous ?? undefined);
    await writeIndexedPng(regionPath, mined.cls, record.width, record.height, o.palette);
    await writeIndexedPng(
      erasePath,
      accumulateErase(previous, mined.cls),
      record.width,
      record.height,
      erasePalette,
    );
    // A few erased training images as the next step's classifier will see them.
    if (shown < 8 && o.trainItems.includes(item)) {
      shown++;
      await saveJpeg(
        join(stepDir(o.runDir, t), "erased", `${item.id}.jpg`),
        await loadTrainingImage(item, eDir, o.fill),
        85,
      );
    }
  }
}

const stores = new Map<string, { store: CamStore; stamp: string }>();
/**
 * One CamStore per folder, its index read once rather than per image (the index has a line per image,
 * so reading it per image is quadratic); read again when records.jsonl changes (a rerun or --force).
 */
function camStore(dir: string): CamStore {
  const index = statSync(join(dir, "records.jsonl"), { throwIfNoEntry: false });
  const stamp = index ? `${index.mtimeMs}:${index.size}` : "none";
  let s = stores.get(dir);
  if (!s || s.stamp !== stamp) stores.set(dir, (s = { store: new CamStore(dir), stamp }));
  return s.store;
}

/** The regions mined at step t for one image, with the CAM value that won each pixel. */
export async function loadStepRegions(
  runDir: string,
  t: number,
  id: string,
): Promise<MinedRegions & { maxCam: Float32Array; width: number; height: number }> {
  const { record, cams } = await camStore(join(stepDir(runDir, t), "cams")).get(id);
  const n = record.width * record.height;
  const cls = (await readIndexedPng(join(regionsDir(runDir, t), `${id}.png`))).indices;
  const value = new Float32Array(n);
  const maxCam = maxOverBands(cams, n);
  record.labels.forEach((c, k) => {
    for (let i = 0; i < n; i++) if (cls[i] === c) value[i] = cams[k * n + i];
  });
  for (let i = 0; i < n; i++) if (cls[i] === 255) value[i] = maxCam[i];
  return { cls, value, maxCam, width: record.width, height: record.height };
}
