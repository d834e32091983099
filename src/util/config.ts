// The pipeline configuration: typed defaults, a "quick" profile for demos and tests, a hand-written
// validator that reports every bad key at once, `--set key=value` overrides coerced by the schema, and
// config files in JSON or YAML (read by the `yaml` package, errors naming the line).
import { readFileSync } from "node:fs";
import { dirname, extname, isAbsolute, join, resolve } from "node:path";
import { LineCounter, parseDocument, visit, type YAMLError } from "yaml";

import { InputError } from "./errors.js";
import { writeFileAtomic } from "./fs.js";
import { didYouMean } from "./suggest.js";

// ---- the configuration type and its defaults ----

export type Profile = "default" | "quick";
export type OutputStride = 8 | 16 | 32;

export interface DataConfig {
  /** Dataset root; "" means not set (stages ask for it with requireDataDir). */
  dir: string;
  trainSplit: string;
  evalSplit?: string;
  /** Ids of this split are left out of training (e.g. train_aug minus the measured train split). */
  trainExclude?: string;
  /** Skip unreadable or malformed samples (with a warning) instead of failing. */
  skipBad: boolean;
}

/** What a training stage needs: network stride, augmentation, batch, schedule and SGD settings. */
export interface TrainingConfig {
  outputStride: OutputStride;
  cropSize: number;
  /** Random rescale range [min, max] applied before cropping. */
  scaleRange: [number, number];
  batchSize: number;
  epochs: number;
  lrBackbone: number;
  lrHead: number;
  weightDecay: number;
  momentum: number;
}

export type ClassifierConfig = TrainingConfig;

export interface CamConfig {
  /** Test-time scales whose CAMs are averaged. */
  scales: number[];
  flip: boolean;
  bgThreshold: number;
}

export interface ErasingConfig {
  steps: number;
  /** Normalised-CAM level above which a region counts as mined and is erased (step 1). */
  threshold: number;
  /**
   * τ rises by this much with each step after the first (capped at 0.95): on erased images the CAM is
   * renormalised over weaker evidence, so the same τ reaches further into the background.
   */
  thresholdIncrease: number;
  /**
   * At steps after the first, a class is mined on an erased image only while the classifier still
   * recognises it there (sigmoid score ≥ this; 0 = always): once it does not, the object is used up and
   * what its CAM still highlights is mostly context (bench:mining-rules: step-2 regions 27–38 % precise below 0.7).
   * Images with no class left to mine get the native-scale CAM only at that step (bench:cam-gate).
   */
  minScore: number;
  /** When set, erase this top percentage of CAM pixels instead of using threshold. */
  topPercent: number | null;
  retrain: "imagenet" | "fine-tune";
  epochsPerStep: number;
  /**
   * Stop erasing once the classifier's final training mAP on the erased images falls below this fraction
   * of step 1's: the erased images no longer hold enough evidence (the paper's stopping signal).
   */
  stopMapRatio: number;
  /** Pixels mined for several classes: keep the class with the higher CAM, or mark them ignored. */
  overlap: "higher-cam" | "ignore";
}

export interface SaliencyConfig {
  /** "u2netp": the pretrained salient-object detector (weights/u2netp); "mbplus": unsupervised MB+. */
  detector: "u2netp" | "mbplus";
  /** U²-Netp's square input side (a multiple of 32); bench:saliency measured quality against time. */
  inputSize: number;
  batchSize: number;
}

export interface PseudoLabelConfig {
  /**
   * Background where the CAMs are low ("cam"), the saliency map is low ("saliency"), or both are
   * ("both"); "both-multiclass": saliency alone in images tagged with one class, both in the others.
   */
  background: "cam" | "saliency" | "both" | "both-multiclass";
  bgThreshold: number;
  /**
   * Where the CAMs count for background ("cam", "both"), the strongest CAM must be below this (null:
   * bgThreshold): a looser CAM test keeps low-saliency background that blurry CAMs reach, and still keeps
   * out the objects whose CAM is strong but saliency low (people beside animals).
   */
  camBgThreshold: number | null;
  /**
   * Regions mined at steps after the first count only where the MB+ saliency map reaches this (0 = off):
   * later steps tend to bleed into the background once an object's core is erased.
   */
  laterStepSaliency: number;
  /** Mined pixels of every step count only where the saliency map reaches this (0 = off). */
  regionSaliency: number;
  /**
   * Dense CRF over the photo fills ignored pixels: each takes the CRF's label (background or one of the
   * image's classes) where that label's probability reaches this (0 = off). Labelled pixels stay.
   */
  crfFill: number;
  /**
   * In an image tagged with one class only, ignored pixels whose saliency reaches this take that class
   * (0 = off): the salient object is the tagged one, also where the CAMs missed it.
   */
  singleClassSaliency: number;
}

export interface SegmentationConfig extends TrainingConfig {
  /** Online prohibitive segmentation learning (PSL; off by default, README "Results"). */
  psl: boolean;
  pslLambda: number;
  pslMinConfidence: number;
  /**
   * Which erasing step's classifier gives PSL its image-level scores: "first" (trained on the photos as
   * they are; the default) or "last" (fine-tuned on erased images, which on the un-erased photos PSL
   * sees scores its classes low and so all but prohibits them: README "Results", bench:psl-scores).
   */
  pslScoreStep: "first" | "last";
  /**
   * PSL's weight for each tagged class: "scores" (the paper: the classifier's image-level score, so a
   * class scored low loses its pixels to the background, weighted 1) or "labels" (1 for every tagged
   * class: prohibition of the untagged ones only).
   */
  pslClassWeights: "scores" | "labels";
}

export interface CrfConfig {
  enabled: boolean;
  iterations: number;
  w1: number;
  thetaAlpha: number;
  thetaBeta: number;
  w2: number;
  thetaGamma: number;
}

/** Where tensors live: "auto" = CUDA when the linked libtorch has it and a GPU is visible, else CPU. */
export type DeviceSetting = "auto" | "cpu" | "cuda" | `cuda:${number}`;

export interface EvalConfig {
  /**
   * Class names whose mean IoU is shown beside the all-class mean (e.g. the classes a benchmark's data
   * covers); empty: only the all-class mean. configs/voc-protocol.yaml sets the VOC 7-class subset.
   */
  headlineClasses: string[];
}

export interface Config {
  profile: Profile;
  seed: number;
  /** libtorch threads; 0 means all cores. */
  threads: number;
  device: DeviceSetting;
  /** bf16 autocast of forward passes in training and CAM extraction (CUDA only; weights stay float32). */
  amp: boolean;
  data: DataConfig;
  classifier: ClassifierConfig;
  cam: CamConfig;
  erasing: ErasingConfig;
  saliency: SaliencyConfig;
  pseudoLabels: PseudoLabelConfig;
  segmentation: SegmentationConfig;
  crf: CrfConfig;
  eval: EvalConfig;
}

export type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K];
};

/** A fresh copy of the defaults (profile "default"). */
export function defaultConfig(): Config {
  return {
    profile: "default",
    seed: 0,
    threads: 0,
    device: "auto",
    amp: false,
    data: { dir: "", trainSplit: "train", skipBad: false },
    classifier: {
      outputStride: 16,
      cropSize: 256,
      scaleRange: [0.7, 1.3],
      batchSize: 8,
      epochs: 5,
      lrBackbone: 0.01,
      lrHead: 0.1,
      weightDecay: 1e-4,
      momentum: 0.9,
    },
    cam: { scales: [1.0, 0.5, 1.5], flip: true, bgThreshold: 0.2 },
    erasing: {
      steps: 3,
      threshold: 0.5,
      thresholdIncrease: 0.15,
      minScore: 0.8,
      topPercent: null,
      retrain: "fine-tune",
      epochsPerStep: 3,
      stopMapRatio: 0.5,
      overlap: "higher-cam",
    },
    saliency: { detector: "u2netp", inputSize: 224, batchSize: 4 },
    // Low U²-Netp saliency as background and mined pixels kept only where U²-Netp calls them salient:
    // the best pseudo-labels in bench:mine (README "Results").
    pseudoLabels: {
      background: "saliency",
      bgThreshold: 0.2,
      camBgThreshold: null,
      laterStepSaliency: 0,
      regionSaliency: 0.5,
      crfFill: 0,
      singleClassSaliency: 0.9,
    },
    segmentation: {
      outputStride: 16,
      cropSize: 256,
      scaleRange: [0.7, 1.3],
      batchSize: 8,
      epochs: 4,
      lrBackbone: 0.001,
      lrHead: 0.01,
      weightDecay: 1e-4,
      momentum: 0.9,
      // Off by default: on bench:quality (2 epochs, same pseudo-labels, two seeds) PSL's online label cost
      // 3.0 points (4.6 with CRF) with score weights and 3.3 (4.9) with label weights (README "Results").
      psl: false,
      pslLambda: 1.0,
      pslMinConfidence: 0.0,
      pslScoreStep: "first",
      pslClassWeights: "scores",
    },
    crf: { enabled: false, iterations: 10, w1: 4, thetaAlpha: 67, thetaBeta: 3, w2: 3, thetaGamma: 3 },
    eval: { headlineClasses: [] },
  };
}

/** What each profile changes over the defaults; values set explicitly in a file or with --set still win. */
export const PROFILES: Readonly<Record<Profile, DeepPartial<Config>>> = {
  default: {},
  // Tiny runs for demos and tests on a laptop CPU: minutes, not hours.
  quick: {
    classifier: { epochs: 1, cropSize: 160, batchSize: 4 },
    cam: { scales: [1] },
    erasing: { steps: 2, epochsPerStep: 1 },
    saliency: { inputSize: 160 },
    segmentation: { epochs: 1, cropSize: 160, batchSize: 4 },
    crf: { iterations: 5 },
  },
};

// ---- the schema ----

/** One leaf of the schema: what it accepts, how to say so, and how to read it from a --set string. */
class Field {
  constructor(
    /** Completes "expected …", e.g. "a positive integer". */
    readonly expected: string,
    readonly accepts: (v: unknown) => boolean,
    /** Converts a --set string; anything it cannot convert stays a string so the error can show it. */
    readonly fromString: (s: string) => unknown,
    /** May be absent (or null, meaning absent). */
    readonly optional = false,
  ) {}
}

type Section = { readonly [key: string]: Field | Section };

// Ties the schema to the Config type: every key must be covered, and no others.
type SchemaOf<T> = {
  readonly [K in keyof T]-?: NonNullable<T[K]> extends readonly unknown[]
    ? Field
    : NonNullable<T[K]> extends object
      ? SchemaOf<NonNullable<T[K]>>
      : Field;
};

function toNumber(s: string): unknown {
  const t = s.trim();
  return t !== "" && Number.isFinite(Number(t)) ? Number(t) : s;
}

function toBoolean(s: string): unknown {
  const t = s.trim().toLowerCase();
  if (["true", "yes", "on", "1"].includes(t)) return true;
  if (["false", "no", "off", "0"].includes(t)) return false;
  return s;
}

/** "[1, 0.5]" or "1,0.5" (brackets optional; "[]" is empty). */
function toList(item: Field): (s: string) => unknown {
  return (s) => {
    let t = s.trim();
    if (t.startsWith("[") && t.endsWith("]")) t = t.slice(1, -1).trim();
    return t === "" ? [] : t.split(",").map((x) => item.fromString(x.trim()));
  };
}

const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const int = (min: number, expected: string) =>
  new Field(expected, (v) => Number.isSafeInteger(v) && (v as number) >= min, toNumber);
const num = (ok: (x: number) => boolean, expected: string) =>
  new Field(expected, (v) => isNumber(v) && ok(v), toNumber);

const positiveInt = int(1, "a positive integer");
const nonNegativeInt = int(0, "a non-negative integer");
const positive = num((x) => x > 0, "a positive number");
const nonNegative = num((x) => x >= 0, "a non-negative number");
const fraction = num((x) => x >= 0 && x <= 1, "a number between 0 and 1");
const boolean = new Field("true or false", (v) => typeof v === "boolean", toBoolean);
const string = new Field(
  "a string",
  (v) => typeof v === "string",
  (s) => s,
);
const nonEmptyString = new Field(
  "a non-empty string",
  (v) => typeof v === "string" && v !== "",
  (s) => s,
);

function oneOf(...values: (string | number)[]): Field {
  const numeric = values.every((v) => typeof v === "number");
  return new Field(
    `one of ${values.map((v) => JSON.stringify(v)).join(", ")}`,
    (v) => values.includes(v as string | number),
    numeric ? toNumber : (s) => s,
  );
}

function optional(f: Field): Field {
  return new Field(
    f.expected,
    f.accepts,
    (s) => (s.trim() === "" || s.trim() === "null" ? null : f.fromString(s)),
    true,
  );
}

function nullable(f: Field): Field {
  return new Field(
    `null or ${f.expected}`,
    (v) => v === null || f.accepts(v),
    (s) => (["", "null", "none", "~"].includes(s.trim().toLowerCase()) ? null : f.fromString(s)),
  );
}

function listOf(item: Field, expected: string, ok: (xs: unknown[]) => boolean = () => true): Field {
  return new Field(
    expected,
    (v) => Array.isArray(v) && v.every((x) => item.accepts(x)) && ok(v),
    toList(item),
  );
}

const outputStride = oneOf(8, 16, 32);
const device = new Field(
  '"auto", "cpu", "cuda" or "cuda:N"',
  (v) => typeof v === "string" && /^(auto|cpu|cuda|cuda:\d+)$/.test(v),
  (s) => s.trim(),
);

// The classifier and segmentation sections share their training fields.
const scaleRange = listOf(
  positive,
  "a pair [min, max] of positive numbers with min <= max",
  (xs) => xs.length === 2 && (xs[0] as number) <= (xs[1] as number),
);
const momentum = num((x) => x >= 0 && x < 1, "a number in [0, 1)");
const training: SchemaOf<TrainingConfig> = {
  outputStride,
  cropSize: positiveInt,
  scaleRange,
  batchSize: positiveInt,
  epochs: positiveInt,
  lrBackbone: positive,
  lrHead: positive,
  weightDecay: nonNegative,
  momentum,
};

const SCHEMA: SchemaOf<Config> = {
  profile: oneOf("default", "quick"),
  seed: nonNegativeInt,
  threads: nonNegativeInt,
  device,
  amp: boolean,
  data: {
    dir: string,
    trainSplit: nonEmptyString,
    evalSplit: optional(nonEmptyString),
    trainExclude: optional(nonEmptyString),
    skipBad: boolean,
  },
  classifier: training,
  cam: {
    scales: listOf(positive, "a non-empty list of positive numbers", (xs) => xs.length > 0),
    flip: boolean,
    bgThreshold: fraction,
  },
  erasing: {
    steps: positiveInt,
    threshold: fraction,
    thresholdIncrease: fraction,
    minScore: fraction,
    topPercent: nullable(num((x) => x > 0 && x <= 100, "a percentage in (0, 100]")),
    retrain: oneOf("imagenet", "fine-tune"),
    epochsPerStep: positiveInt,
    stopMapRatio: fraction,
    overlap: oneOf("higher-cam", "ignore"),
  },
  saliency: {
    detector: oneOf("u2netp", "mbplus"),
    inputSize: num((x) => Number.isSafeInteger(x) && x >= 32 && x % 32 === 0, "a multiple of 32"),
    batchSize: positiveInt,
  },
  pseudoLabels: {
    background: oneOf("cam", "saliency", "both", "both-multiclass"),
    bgThreshold: fraction,
    camBgThreshold: nullable(num((x) => x > 0 && x <= 1, "a number in (0, 1]")),
    laterStepSaliency: fraction,
    regionSaliency: fraction,
    crfFill: fraction,
    singleClassSaliency: fraction,
  },
  segmentation: {
    ...training,
    psl: boolean,
    pslLambda: nonNegative,
    pslMinConfidence: fraction,
    pslScoreStep: oneOf("first", "last"),
    pslClassWeights: oneOf("scores", "labels"),
  },
  crf: {
    enabled: boolean,
    iterations: positiveInt,
    w1: nonNegative,
    thetaAlpha: positive,
    thetaBeta: positive,
    w2: nonNegative,
    thetaGamma: positive,
  },
  eval: {
    headlineClasses: listOf(nonEmptyString, "a list of class names"),
  },
};

/** Every settable key with what it accepts and its default, e.g. for help text. */
export function configKeys(): { key: string; expected: string; default: unknown }[] {
  const out: { key: string; expected: string; default: unknown }[] = [];
  const walk = (node: Section, defaults: Record<string, unknown>, prefix: string): void => {
    for (const [key, child] of Object.entries(node)) {
      const path = prefix + key;
      if (child instanceof Field) out.push({ key: path, expected: child.expected, default: defaults[key] });
      else walk(child, defaults[key] as Record<string, unknown>, `${path}.`);
    }
  };
  walk(SCHEMA as Section, defaultConfig() as unknown as Record<string, unknown>, "");
  return out;
}

// ---- validation ----

/** Every problem found in a configuration, one line each, naming the key by its dotted path. */
export class ConfigError extends Error {
  constructor(
    readonly problems: string[],
    readonly source?: string,
  ) {
    const where = source ? ` (${source})` : "";
    super(`invalid configuration${where}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

type Obj = Record<string, unknown>;

function isPlainObject(v: unknown): v is Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

// Plain assignment of "__proto__" would change the prototype instead of adding a (reportable) key.
function setOwn(obj: Obj, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function show(v: unknown): string {
  if (v === undefined) return "nothing";
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** base with over laid on top: sections merge key by key, anything else (lists included) replaces. */
function merge(base: unknown, over: unknown): unknown {
  if (over === undefined) return clone(base);
  if (!isPlainObject(base) || !isPlainObject(over)) return clone(over);
  const out: Obj = {};
  for (const key of Object.keys(base)) setOwn(out, key, clone(base[key]));
  for (const key of Object.keys(over)) setOwn(out, key, merge(base[key], over[key]));
  return out;
}

function clone(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(clone);
  if (isPlainObject(v)) {
    const out: Obj = {};
    for (const key of Object.keys(v)) setOwn(out, key, clone(v[key]));
    return out;
  }
  return v;
}

function checkSection(schema: Section, value: unknown, path: string, problems: string[]): Obj {
  const out: Obj = {};
  if (!isPlainObject(value)) {
    problems.push(
      `${path.replace(/\.$/, "") || "configuration"}: expected a section of keys, got ${show(value)}`,
    );
    return out;
  }
  const keys = Object.keys(schema);
  for (const key of Object.keys(value)) {
    if (Object.hasOwn(schema, key)) continue;
    const guess = didYouMean(key, keys);
    problems.push(`${path}${key}: unknown key${guess ? ` (did you mean "${guess}"?)` : ""}`);
  }
  for (const key of keys) {
    const node = schema[key]!;
    const v = value[key];
    if (!(node instanceof Field)) {
      setOwn(out, key, checkSection(node, v, `${path}${key}.`, problems));
    } else if (node.optional && (v === undefined || v === null)) {
      continue;
    } else if (!node.accepts(v)) {
      problems.push(`${path}${key}: expected ${node.expected}, got ${show(v)}`);
    } else {
      setOwn(out, key, clone(v));
    }
  }
  return out;
}

/** Checks between keys, run only when both keys are individually valid. */
function checkRelations(c: Obj, problems: string[]): void {
  if (c.amp === true && c.device === "cpu")
    problems.push('amp: true needs a CUDA device (bf16 autocast), but device is "cpu"; set amp: false');
  // Background is where every CAM is below bgThreshold, objects where a CAM reaches the mining threshold:
  // a background threshold at or above the mining threshold leaves no uncertain band between them.
  const pl = c.pseudoLabels as Partial<PseudoLabelConfig> | undefined;
  const er = c.erasing as Partial<ErasingConfig> | undefined;
  if (isNumber(pl?.bgThreshold) && isNumber(er?.threshold) && pl.bgThreshold >= er.threshold) {
    problems.push(
      `pseudoLabels.bgThreshold: must be below erasing.threshold (${er.threshold}), got ${pl.bgThreshold}`,
    );
  }
}

function resolveRaw(raw: unknown, problems: string[], source?: string): Config {
  let profile: Profile = "default";
  if (isPlainObject(raw) && SCHEMA.profile.accepts(raw.profile)) profile = raw.profile as Profile;
  const base = merge(defaultConfig(), PROFILES[profile]);
  const merged = isPlainObject(raw) ? merge(base, raw) : raw;
  const config = checkSection(SCHEMA as Section, merged, "", problems);
  checkRelations(config, problems);
  if (problems.length > 0) throw new ConfigError(problems, source);
  return config as unknown as Config;
}

/**
 * The full configuration from a partial one: defaults, then the chosen profile, then obj's values.
 * Throws a ConfigError listing every bad key (wrong type or value, unknown key with a suggestion).
 */
export function validateConfig(obj: unknown, source?: string): Config {
  return resolveRaw(obj, [], source);
}

export type Overrides = Record<string, string> | Iterable<readonly [string, string]>;

function overrideEntries(o: Overrides): [string, string][] {
  return (Symbol.iterator in o ? [...(o as Iterable<[string, string]>)] : Object.entries(o)).map(([k, v]) => [
    k,
    v,
  ]);
}

/** Sets dotted keys in a raw config object, each string coerced by the schema type at that key. */
function setPaths(raw: unknown, overrides: Overrides, problems: string[]): unknown {
  if (!isPlainObject(raw)) return raw;
  const root = clone(raw) as Obj;
  outer: for (const [key, value] of overrideEntries(overrides)) {
    const parts = key.split(".");
    if (parts.some((p) => p.trim() === "")) {
      problems.push(`${key}: not a valid key (expected a dotted path such as classifier.epochs)`);
      continue;
    }
    // Walk the schema first so a bad path changes nothing.
    let node: Field | Section | undefined = SCHEMA as Section;
    for (let i = 0; i < parts.length - 1; i++) {
      if (node instanceof Field) {
        problems.push(`${key}: ${parts.slice(0, i).join(".")} is a single value, not a section`);
        continue outer;
      }
      node = node && Object.hasOwn(node, parts[i]!) ? node[parts[i]!] : undefined;
    }
    const last = parts[parts.length - 1]!;
    if (node instanceof Field) {
      problems.push(`${key}: ${parts.slice(0, -1).join(".")} is a single value, not a section`);
      continue;
    }
    let obj = root;
    for (const part of parts.slice(0, -1)) {
      if (!isPlainObject(obj[part])) setOwn(obj, part, {});
      obj = obj[part] as Obj;
    }
    const leaf = node && Object.hasOwn(node, last) ? node[last] : undefined;
    if (leaf !== undefined && !(leaf instanceof Field)) {
      const first = Object.keys(leaf)[0];
      problems.push(`${key}: is a section; set one of its keys instead, e.g. ${key}.${first}=...`);
      continue;
    }
    // Unknown keys keep the string; validation then reports them with a suggestion.
    setOwn(obj, last, leaf ? leaf.fromString(value) : value);
  }
  return root;
}

/**
 * config with `--set`-style overrides applied ({"classifier.epochs": "3"}), each coerced by the schema
 * and the result validated again. Overriding "profile" lays that profile's preset over config first.
 */
export function applyOverrides(config: Config, overrides: Overrides): Config {
  const problems: string[] = [];
  const entries = overrideEntries(overrides);
  let raw: unknown = clone(config);
  let profile: string | undefined;
  for (const [k, v] of entries) if (k === "profile") profile = v.trim();
  if (profile !== undefined && profile !== config.profile && Object.hasOwn(PROFILES, profile)) {
    raw = merge(raw, PROFILES[profile as Profile]);
  }
  raw = setPaths(raw, entries, problems);
  return resolveRaw(raw, problems, "--set");
}

// ---- files ----

/** Reads a config file as a raw (unvalidated) object: JSON, or YAML for .yaml/.yml (parseYaml). */
export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8").replace(/^\uFEFF/, "");
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new InputError(path, e.code === "ENOENT" ? "config file not found" : e.message);
  }
  const ext = extname(path).toLowerCase();
  if (ext === ".yaml" || ext === ".yml") {
    try {
      return parseYaml(text);
    } catch (err) {
      if (err instanceof YamlError) throw new InputError(path, err.message);
      throw err;
    }
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InputError(path, `invalid JSON: ${(err as Error).message}`);
  }
}

export interface ResolveOptions {
  /** Config file (JSON or YAML); none means defaults. */
  path?: string;
  /** `--set` overrides, applied over the file before validation (so `profile` works as if in the file). */
  overrides?: Overrides;
}

/**
 * Defaults < profile < file < overrides, validated together. A relative data.dir in a file is taken
 * relative to the file's folder, so a config and its dataset can move together.
 */
export function resolveConfig(opts: ResolveOptions = {}): Config {
  const problems: string[] = [];
  let raw: unknown = opts.path !== undefined ? readConfigFile(opts.path) : {};
  if (opts.path !== undefined && isPlainObject(raw) && isPlainObject(raw.data)) {
    const dir = raw.data.dir;
    if (typeof dir === "string" && dir !== "" && !isAbsolute(dir)) {
      raw = merge(raw, { data: { dir: resolve(dirname(opts.path), dir) } });
    }
  }
  const entries = opts.overrides ? overrideEntries(opts.overrides) : [];
  raw = setPaths(raw, entries, problems);
  const sources = [opts.path, entries.length > 0 ? "--set" : undefined].filter((s) => s !== undefined);
  return resolveRaw(raw, problems, sources.length > 0 ? sources.join(", ") : undefined);
}

/** The configuration from a file (JSON or YAML), or the defaults when no path is given. */
export function loadConfig(path?: string): Config {
  return resolveConfig({ path });
}

const SCALAR = String.raw`(?:-?[\d.eE+-]+|true|false|null)`;
const SCALAR_LIST = new RegExp(String.raw`\[\s+(${SCALAR}(?:,\s+${SCALAR})*)\s+\]`, "g");

/** Indented JSON with lists of numbers kept on one line ("scales": [1, 0.5, 1.5]). */
export function formatConfigJson(config: Config): string {
  return JSON.stringify(config, null, 2).replace(
    SCALAR_LIST,
    (_, inner: string) => `[${inner.split(/,\s+/).join(", ")}]`,
  );
}

/** Writes the fully resolved config to <runDir>/config.json (atomically); returns the path. */
export async function saveResolvedConfig(runDir: string, config: Config): Promise<string> {
  const path = join(runDir, "config.json");
  await writeFileAtomic(path, `${formatConfigJson(config)}\n`);
  return path;
}

/** config.data.dir, or an error that says how to set it. */
export function requireDataDir(config: Config): string {
  if (config.data.dir === "") {
    throw new Error("no dataset given: set data.dir in the config file or pass --set data.dir=<folder>");
  }
  return config.data.dir;
}

// ---- YAML ----

export class YamlError extends Error {
  constructor(
    readonly line: number,
    reason: string,
  ) {
    super(`line ${line}: ${reason}`);
    this.name = "YamlError";
  }
}

/** yaml's codes for a line indented wrongly, where its own words ("compact mappings", …) say little. */
const INDENT_ERRORS = new Set(["BAD_INDENT", "BLOCK_AS_IMPLICIT_KEY", "MULTILINE_IMPLICIT_KEY"]);

/** One YAML problem as a YamlError: its line, and yaml's reason without its "at line …" code frame. */
function yamlProblem(e: YAMLError, lines: LineCounter): YamlError {
  const line = e.linePos?.[0].line ?? lines.linePos(e.pos[0]).line;
  const reason =
    e.code === "MULTIPLE_DOCS"
      ? 'a config file holds one YAML document; this "---" starts a second'
      : e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
  return new YamlError(
    line,
    INDENT_ERRORS.has(e.code) ? `${reason} (check the indentation of this line and the next)` : reason,
  );
}

/**
 * Parses a YAML 1.2 config file with the `yaml` package (core schema: YAML 1.1-only tags such as
 * !!binary are refused, not guessed). The top level must be a map of keys (an empty file is {}).
 * Any error or warning (duplicate keys, tabs, bad indentation, an alias without its anchor, an unknown
 * tag, a second document) is a YamlError naming the line of the first one.
 */
export function parseYaml(text: string): Record<string, unknown> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, resolveKnownTags: false, uniqueKeys: true });
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) throw yamlProblem(problem, lines);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // An alias whose anchor is not defined above it: yaml throws a ReferenceError without a position.
    if (!(err instanceof ReferenceError)) throw err;
    let line = 1;
    visit(doc, {
      Alias(_, node) {
        if (node.resolve(doc) !== undefined || !node.range) return undefined;
        line = lines.linePos(node.range[0]).line;
        return visit.BREAK;
      },
    });
    throw new YamlError(line, err.message);
  }
  if (value === null || value === undefined) return {};
  if (!isPlainObject(value)) {
    const what = Array.isArray(value) ? "a list" : `${typeof value} ${JSON.stringify(value)}`;
    throw new YamlError(1, `expected "key: value" lines at the top level, got ${what}`);
  }
  return value;
}
