// Read-only access to a run folder for the report. Every reader tolerates missing files (undefined)
// so that the report can be written for a run at any stage; corrupt files throw with the file named,
// and the section that needed them says so instead of the whole report failing.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { VOC_CLASS_NAMES } from "../data/classes.js";
import { fullPalette } from "./images.js";

export interface EpochRecord {
  epoch: number;
  loss?: number;
  map?: number;
  pslLoss?: number;
  seconds?: number;
  dataWaitFraction?: number;
}

export interface TrainingMetrics {
  epochs?: EpochRecord[];
  imagesPerSecond?: number;
  seconds?: number;
}

export interface StepDone {
  step?: number;
  stopped?: boolean;
  reason?: string;
  final_map?: number;
}

export interface CamRecordLite {
  id: string;
  width: number;
  height: number;
  labels: number[];
  scores?: number[];
}

export interface DatasetJson {
  root?: string;
  classNames?: string[];
  palette?: number[];
  meanPixel?: [number, number, number];
  trainSplit?: string | null;
  trainImages?: number;
  evalSplit?: string | null;
  evalImages?: number;
}

export interface QualityRecord {
  precision: number;
  recall: number;
  iou: number;
}

export interface MiningRecord extends QualityRecord {
  t: number;
  per_class?: Record<string, QualityRecord>;
}

export interface SegEval {
  miou: number;
  /** Written by evaluations from before eval.headlineClasses: the 7-class VOC subset's mean IoU. */
  miou7?: number;
  /** Mean IoU over eval.headlineClasses (absent in eval files written before the setting existed). */
  headline?: { classes: string[]; miou: number } | null;
  pixel_acc: number;
  per_class?: Record<string, number | null>;
  images?: number;
  crf?: boolean;
  confusion?: number[][];
}

export interface EvalJson extends SegEval {
  split?: string;
  crf_result?: SegEval | null;
  mining?: MiningRecord[];
}

export interface ConfigJson {
  data?: { dir?: string; trainSplit?: string | null; evalSplit?: string | null };
  erasing?: { overlap?: string; steps?: number; threshold?: number; topPercent?: number | null };
  [key: string]: unknown;
}

export class RunData {
  private readonly cache = new Map<string, unknown>();
  private readonly records = new Map<number, Map<string, CamRecordLite>>();

  constructor(readonly runDir: string) {}

  path(...rel: string[]): string {
    return join(this.runDir, ...rel);
  }

  exists(...rel: string[]): boolean {
    return existsSync(this.path(...rel));
  }

  /** Parsed JSON at `rel` (relative to the run folder), undefined when absent; throws when unreadable. */
  json<T>(rel: string): T | undefined {
    if (this.cache.has(rel)) return this.cache.get(rel) as T | undefined;
    const file = this.path(rel);
    let value: T | undefined;
    if (existsSync(file)) {
      try {
        value = JSON.parse(readFileSync(file, "utf8")) as T;
      } catch (err) {
        throw new Error(`${rel}: cannot read JSON (${(err as Error).message})`);
      }
      if (value === null || typeof value !== "object")
        throw new Error(`${rel}: expected a JSON object, got ${JSON.stringify(value)?.slice(0, 40)}`);
    }
    this.cache.set(rel, value);
    return value;
  }

  /** Like json() but never throws (for optional context such as class names). */
  jsonQuiet<T>(rel: string): T | undefined {
    try {
      return this.json<T>(rel);
    } catch {
      return undefined;
    }
  }

  get config(): ConfigJson | undefined {
    return this.jsonQuiet<ConfigJson>("config.json");
  }

  get dataset(): DatasetJson | undefined {
    return this.jsonQuiet<DatasetJson>("dataset.json");
  }

  get classNames(): string[] {
    const fromDataset = this.dataset?.classNames;
    if (Array.isArray(fromDataset) && fromDataset.length) return fromDataset.map(String);
    const model = this.jsonQuiet<{ classNames?: string[] }>("segmentation/model.json");
    if (Array.isArray(model?.classNames) && model.classNames.length) return model.classNames.map(String);
    return [...VOC_CLASS_NAMES];
  }

  get palette(): Uint8Array {
    const fromDataset = this.dataset?.palette;
    if (Array.isArray(fromDataset)) return fullPalette(fromDataset);
    const model = this.jsonQuiet<{ palette?: number[] }>("segmentation/model.json");
    return fullPalette(Array.isArray(model?.palette) ? model.palette : undefined);
  }

  get meanPixel(): [number, number, number] {
    const m = this.dataset?.meanPixel;
    return Array.isArray(m) && m.length === 3 ? [m[0], m[1], m[2]] : [124, 116, 104];
  }

  /** Erasing steps with a folder, ascending (1-based). */
  /** The detector of the run's saliency maps (saliency/DONE.json, else the configuration's). */
  saliencyDetector(): string {
    const done = this.json<{ detector?: string }>("saliency/DONE.json");
    const cfg = this.config as { saliency?: { detector?: string } } | undefined;
    return done?.detector ?? cfg?.saliency?.detector ?? "u2netp";
  }

  steps(): number[] {
    const dir = this.path("steps");
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((n) => /^\d+$/.test(n) && statSync(join(dir, n)).isDirectory())
      .map(Number)
      .sort((a, b) => a - b);
  }

  stepDone(t: number): StepDone | undefined {
    return this.jsonQuiet<StepDone>(`steps/${t}/DONE.json`);
  }

  classifierMetrics(t: number): TrainingMetrics | undefined {
    return this.json<TrainingMetrics>(`steps/${t}/classifier/metrics.json`);
  }

  /** The CAM records of step t (one JSON per line; a partial last line is skipped). */
  camRecords(t: number): Map<string, CamRecordLite> {
    let map = this.records.get(t);
    if (map) return map;
    map = new Map();
    const file = this.path("steps", String(t), "cams", "records.jsonl");
    if (existsSync(file)) {
      for (const line of readFileSync(file, "utf8").split("\n")) {
        if (!line.trim()) continue;
        try {
          const r = JSON.parse(line) as CamRecordLite;
          if (typeof r?.id === "string" && Array.isArray(r.labels)) map.set(r.id, r);
        } catch {
          // a run killed mid-append leaves a partial last line
        }
      }
    }
    this.records.set(t, map);
    return map;
  }

  /** The evaluation to headline: eval/<evalSplit>.json, else the first eval/*.json. */
  mainEval(): { name: string; value: EvalJson } | undefined {
    const preferred = this.dataset?.evalSplit ?? this.config?.data?.evalSplit;
    const names: string[] = [];
    if (preferred) names.push(preferred);
    const dir = this.path("eval");
    if (existsSync(dir))
      names.push(
        ...readdirSync(dir)
          .filter((n) => n.endsWith(".json"))
          .map((n) => n.slice(0, -5))
          .sort(),
      );
    for (const name of names) {
      const value = this.json<EvalJson>(`eval/${name}.json`);
      if (value) return { name, value };
    }
    return undefined;
  }

  /** The last `lines` lines of log.txt, or undefined. */
  logTail(lines = 60): string | undefined {
    const file = this.path("log.txt");
    if (!existsSync(file)) return undefined;
    const all = readFileSync(file, "utf8").replace(/\s+$/, "").split("\n");
    return all.slice(-lines).join("\n");
  }
}
