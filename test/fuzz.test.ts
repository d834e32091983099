// Seeded mutation fuzzing of every parser that reads user files: photos (sharp via loadRgb), indexed PNG
// masks, dataset index files (classes.txt, labels.csv / image_labels.csv, split lists), config files
// (JSON and YAML) and safetensors checkpoints. Each mutated input must either be accepted
// with sane contents or be refused with the parser's own error type naming the file (or the config
// key / YAML line): never another error type, a crash or a hang.
//
// The fuzzers are exported (bench/reliability.ts reports their tallies); the tests only register when
// this file runs as a test.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { mulberry32, type Rng } from "../src/data/augment.js";
import { buildPalette } from "../src/data/classes.js";
import { openDataset, validateDataset } from "../src/data/dataset.js";
import { loadRgb } from "../src/data/image.js";
import { decodeIndexedPng, encodeIndexedPng } from "../src/data/png.js";
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from "../src/engine/safetensors.js";
import {
  ConfigError,
  configKeys,
  parseYaml,
  resolveConfig,
  validateConfig,
  YamlError,
} from "../src/util/config.js";
import { InputError, ValidationError } from "../src/util/errors.js";

/** Outcomes of one fuzzer: how many inputs were tried, accepted, refused, and the refusals by reason. */
export interface FuzzTally {
  cases: number;
  accepted: number;
  rejected: number;
  /** Refusal reasons with numbers and quoted names blanked, most frequent first when reported. */
  reasons: Record<string, number>;
}

const newTally = (): FuzzTally => ({ cases: 0, accepted: 0, rejected: 0, reasons: {} });

function reasonKey(reason: string): string {
  return reason
    .split("\n")[0]
    .replace(/"[^"]*"/g, '"…"')
    .replace(/\S*\/\S+/g, "<path>")
    .replace(/\d+(\.\d+)?/g, "N")
    .replace(/\s+/g, " ")
    .slice(0, 70);
}

function reject(t: FuzzTally, reason: string): void {
  t.rejected++;
  const k = reasonKey(reason);
  t.reasons[k] = (t.reasons[k] ?? 0) + 1;
}

// ---- mutations ----

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)];
const int = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
const randomBytes = (rng: Rng, n: number) => Uint8Array.from({ length: n }, () => int(rng, 0, 255));

type ByteMutation = "flip" | "truncate" | "insert" | "delete" | "duplicate";
const BYTE_MUTATIONS: readonly ByteMutation[] = ["flip", "truncate", "insert", "delete", "duplicate"];

/** One random edit of a byte string; `hot` bytes at the start (headers) are hit more often. */
function mutateBytes(rng: Rng, buf: Uint8Array, kind: ByteMutation, hot = 0): Buffer {
  const at = () =>
    hot > 0 && rng() < 0.5 ? int(rng, 0, Math.min(hot, buf.length) - 1) : int(rng, 0, buf.length - 1);
  switch (kind) {
    case "flip": {
      const out = Buffer.from(buf);
      for (let n = int(rng, 1, 3); n > 0; n--) out[at()] ^= int(rng, 1, 255);
      return out;
    }
    case "truncate":
      return Buffer.from(buf.subarray(0, int(rng, 0, buf.length - 1)));
    case "insert": {
      const p = at();
      return Buffer.concat([buf.subarray(0, p), randomBytes(rng, int(rng, 1, 16)), buf.subarray(p)]);
    }
    case "delete": {
      const p = at();
      return Buffer.concat([buf.subarray(0, p), buf.subarray(p + int(rng, 1, 16))]);
    }
    case "duplicate": {
      const p = at();
      const n = int(rng, 1, 32);
      return Buffer.concat([buf.subarray(0, p + n), buf.subarray(p, p + n), buf.subarray(p + n)]);
    }
  }
}

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Recomputes every chunk CRC that fits, so mutations reach the parser beyond the CRC check. */
function fixPngCrcs(buf: Buffer): Buffer {
  const out = Buffer.from(buf);
  for (let pos = 8; pos + 12 <= out.length;) {
    const len = out.readUInt32BE(pos);
    if (pos + 12 + len > out.length) break;
    out.writeUInt32BE(crc32(out.subarray(pos + 4, pos + 8 + len)), pos + 8 + len);
    pos += 12 + len;
  }
  return out;
}

/** Runs `p`, failing instead of waiting forever on a decoder that hangs. */
async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`${what}: no answer after ${ms} ms (hang?)`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function assertInputError(err: unknown, file: string, what: string): InputError {
  assert.ok(
    err instanceof InputError,
    `${what}: expected an InputError, got ${(err as Error)?.stack ?? err}`,
  );
  assert.equal(err.file, file, `${what}: the error names the file`);
  assert.ok(err.message.startsWith(`${file}: `) && err.reason.length > 0, `${what}: ${err.message}`);
  return err;
}

// ---- (a) photos and masks ----

function gradient(width: number, height: number, seed: number): Uint8Array {
  const rng = mulberry32(seed);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < 3; c++)
        data[(y * width + x) * 3 + c] = (x * 5 + y * 3 * (c + 1) + int(rng, 0, 40)) & 255;
  return data;
}

export const IMAGE_CASES = { jpeg: 160, png: 160 };

/**
 * Mutated baseline and progressive JPEGs through loadRgb (a tenth of them from files whose names have
 * spaces and non-ASCII), and mutated indexed PNGs through decodeIndexedPng (half with their CRCs
 * recomputed so the mutation reaches IHDR/PLTE/IDAT parsing).
 */
export async function fuzzImages(seed = 1, dir?: string): Promise<{ jpeg: FuzzTally; png: FuzzTally }> {
  const rng = mulberry32(seed);
  const W = 48;
  const H = 32;
  const raw = () => sharp(gradient(W, H, seed), { raw: { width: W, height: H, channels: 3 } });
  const jpegs = [
    await raw().jpeg({ quality: 80 }).toBuffer(),
    await raw().jpeg({ quality: 80, progressive: true }).toBuffer(),
  ];
  const maxPixels = 1_000_000;
  const jpeg = newTally();
  for (let i = 0; i < IMAGE_CASES.jpeg; i++) {
    const src = jpegs[i % 2];
    const bad = mutateBytes(rng, src, pick(rng, BYTE_MUTATIONS), 400);
    const viaFile = dir !== undefined && i % 10 === 0;
    const name = viaFile ? join(dir, `fuzz case ${i} ü.jpg`) : `fuzz-${i}.jpg`;
    if (viaFile) writeFileSync(name, bad);
    jpeg.cases++;
    try {
      const img = await withTimeout(
        viaFile ? loadRgb(name, { maxPixels }) : loadRgb(bad, { name, maxPixels }),
        10_000,
        name,
      );
      assert.ok(Number.isInteger(img.width) && Number.isInteger(img.height), name);
      assert.ok(img.width >= 1 && img.height >= 1 && img.width * img.height <= maxPixels, name);
      assert.equal(img.data.length, img.width * img.height * 3, `${name}: RGB buffer size`);
      jpeg.accepted++;
    } catch (err) {
      reject(jpeg, assertInputError(err, name, name).reason);
    }
  }

  const mask = new Uint8Array(20 * 14).map((_, i) => [0, 1, 2, 15, 255][(i * 7) % 5]);
  const pngs = [
    encodeIndexedPng(mask, 20, 14, buildPalette()),
    encodeIndexedPng(
      mask.map((v) => v & 3),
      20,
      14,
      buildPalette(),
      { bitDepth: 2, filter: 4 },
    ),
  ];
  const png = newTally();
  for (let i = 0; i < IMAGE_CASES.png; i++) {
    let bad = mutateBytes(rng, pngs[i % 2], pick(rng, BYTE_MUTATIONS), 64);
    if (i % 4 >= 2) bad = fixPngCrcs(bad);
    const name = `fuzz-${i}.png`;
    png.cases++;
    try {
      const m = decodeIndexedPng(bad, name, { maxPixels });
      assert.ok(m.width >= 1 && m.height >= 1 && m.width * m.height <= maxPixels, name);
      assert.equal(m.indices.length, m.width * m.height, `${name}: one index per pixel`);
      if (m.palette) assert.ok(m.palette.length % 3 === 0 && m.palette.length <= 768, name);
      png.accepted++;
    } catch (err) {
      reject(png, assertInputError(err, name, name).reason);
    }
  }
  return { jpeg, png };
}

// ---- (b) dataset index files ----

const CLASSES_TXT =
  "# index name colour\n0 background 0,0,0\n1 cat 128,0,0\n2 dog 0,128,0\n3 person 192,128,128\n";
const IDS = ["a", "b", "c", "d", "e f ü", "g"];
const LABELS: Record<string, string> = {
  a: "cat",
  b: "dog person",
  c: "cat dog",
  d: "person",
  "e f ü": "dog",
  g: "cat",
};

/** A tiny valid generic-layout dataset: 6 photos, 2 masks, classes.txt, labels.csv, splits/train.txt. */
export async function writeTinyDataset(root: string): Promise<void> {
  for (const d of ["images", "masks", "splits"]) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, "classes.txt"), CLASSES_TXT);
  for (const [k, id] of IDS.entries()) {
    const jpg = await sharp(gradient(16, 12, k), { raw: { width: 16, height: 12, channels: 3 } })
      .jpeg()
      .toBuffer();
    writeFileSync(join(root, "images", `${id}.jpg`), jpg);
  }
  const m = new Uint8Array(16 * 12).map((_, i) => [0, 1, 2, 255][i % 4]);
  writeFileSync(join(root, "masks", "a.png"), encodeIndexedPng(m, 16, 12, buildPalette()));
  writeFileSync(
    join(root, "masks", "b.png"),
    encodeIndexedPng(
      m.map((v) => (v === 1 ? 3 : v)),
      16,
      12,
      buildPalette(),
    ),
  );
}

function baseIndexFiles(): Record<"classes.txt" | "labels.csv" | "splits/train.txt", string> {
  return {
    "classes.txt": CLASSES_TXT,
    "labels.csv":
      "id,labels\n" + IDS.map((id) => `${id.includes(" ") ? `"${id}"` : id},${LABELS[id]}`).join("\n") + "\n",
    "splits/train.txt": IDS.join("\n") + "\n",
  };
}

const WEIRD_NAMES = [
  "zebra",
  "Cat",
  "background",
  "",
  "dog;cat",
  "cat|zebra",
  "ünïcödé",
  "\u0000",
  "a,b",
  '"',
];
const WEIRD_IDS = ["", " ", "../a", "a/b", ".", "..", "zz", "a", "e f ü", "\t", '"a"', "A"];

/** One random line- or byte-level edit of an index file's text. */
function mutateText(rng: Rng, text: Buffer): Buffer {
  const lines = text.toString("utf8").split("\n");
  const line = () => int(rng, 0, Math.max(0, lines.length - 1));
  const kind = int(rng, 0, 11);
  switch (kind) {
    case 0: // delete a line
      lines.splice(line(), 1);
      break;
    case 1: {
      // duplicate a line
      const l = line();
      lines.splice(l, 0, lines[l] ?? "");
      break;
    }
    case 2: {
      // swap two lines
      const a = line();
      const b = line();
      [lines[a], lines[b]] = [lines[b], lines[a]];
      break;
    }
    case 3: // unknown / odd class name in place of a word
    case 4: {
      const l = line();
      const words = (lines[l] ?? "").split(/([ ,])/);
      const w = int(rng, 0, Math.max(0, words.length - 1));
      words[w] = pick(rng, WEIRD_NAMES);
      lines[l] = words.join("");
      break;
    }
    case 5: // odd id at the start of a line
    case 6: {
      const l = line();
      const rest = (lines[l] ?? "").replace(/^("[^"]*"|[^,\s]*)/, "");
      lines[l] = pick(rng, WEIRD_IDS) + rest;
      break;
    }
    case 7: // garbage bytes (invalid UTF-8, NUL, quotes, separators)
      return mutateBytes(rng, text.length ? text : Buffer.from("x"), "insert");
    case 8:
      return mutateBytes(rng, text.length ? text : Buffer.from("x"), "flip");
    case 9: // cut off
      return Buffer.from(text.subarray(0, int(rng, 0, text.length)));
    case 10: // CRLF line ends and a BOM: must still read
      return Buffer.from("\uFEFF" + lines.join("\r\n"), "utf8");
    case 11: // a number where a name is, or a big index
      lines.splice(
        line(),
        0,
        pick(rng, ["7 horse", "255 void", "-1 x", "1 cat", "abc def", "3", ",,,", "id,labels"]),
      );
      break;
  }
  return Buffer.from(lines.join("\n"), "utf8");
}

export const DATASET_CASES = 70;

/**
 * Random edits of classes.txt, labels.csv and the split file of a tiny generic dataset (and, for a
 * third of the cases, the file deleted) through openDataset + validateDataset, with and without skipBad.
 */
export async function fuzzDatasetIndex(seed = 2, root?: string): Promise<FuzzTally> {
  const rng = mulberry32(seed);
  const own = root === undefined;
  const dir = root ?? mkdtempSync(join(tmpdir(), "aepsl-fuzz-ds-"));
  const tally = newTally();
  try {
    await writeTinyDataset(dir);
    const base = baseIndexFiles();
    const names = Object.keys(base) as (keyof typeof base)[];
    // The unmutated dataset is valid, also with a BOM and CRLF line ends in every index file.
    for (const bom of [false, true]) {
      for (const f of names)
        writeFileSync(join(dir, f), bom ? "\uFEFF" + base[f].replaceAll("\n", "\r\n") : base[f]);
      const ok = await validateDataset(await openDataset(dir, { split: "train" }));
      assert.equal(ok.items.length, IDS.length);
    }

    for (let i = 0; i < DATASET_CASES; i++) {
      const files = new Map<string, Buffer>(names.map((f) => [f, Buffer.from(base[f], "utf8")]));
      for (let n = int(rng, 1, 3); n > 0; n--) {
        const f = pick(rng, names);
        files.set(f, mutateText(rng, files.get(f)!));
      }
      const removed = i % 3 === 2 ? pick(rng, names) : undefined;
      for (const [f, text] of files) {
        if (f === removed) unlinkSync(join(dir, f));
        else writeFileSync(join(dir, f), text);
      }
      const what = `dataset case ${i}${removed ? ` (no ${removed})` : ""}`;
      for (const skipBad of [false, true]) {
        tally.cases++;
        try {
          const ds = await openDataset(dir, { split: "train" });
          const r = await validateDataset(ds, { skipBad });
          const ids = r.items.map((it) => it.id);
          assert.equal(new Set(ids).size, ids.length, `${what}: ids are unique`);
          for (const it of r.items) {
            assert.ok(it.imagePath.startsWith(join(dir, "images")), `${what}: ${it.imagePath}`);
            for (const c of it.labels)
              assert.ok(Number.isInteger(c) && c >= 1 && c < ds.classes.names.length, `${what}: label ${c}`);
          }
          if (!skipBad) assert.equal(r.skipped.length, 0);
          for (const s of r.skipped) {
            assert.ok(!ids.includes(s.id), `${what}: ${s.id} both kept and skipped`);
            assert.ok(s.reason.length > 0);
          }
          tally.accepted++;
        } catch (err) {
          const problems = err instanceof ValidationError ? err.problems : [err];
          assert.ok(
            err instanceof ValidationError || err instanceof InputError,
            `${what}: expected ValidationError or InputError, got ${(err as Error)?.stack ?? err}`,
          );
          assert.ok(problems.length > 0, what);
          for (const p of problems) {
            assert.ok(p instanceof InputError, `${what}: ${p}`);
            assert.ok(
              p.file.startsWith(dir),
              `${what}: the problem names a file of the dataset: ${p.message}`,
            );
          }
          reject(tally, (problems[0] as InputError).reason);
        }
      }
    }
    return tally;
  } finally {
    if (own) rmSync(dir, { recursive: true, force: true });
  }
}

// ---- (c) configuration files ----

type Obj = Record<string, unknown>;

const BASE_CONFIG: Obj = {
  profile: "quick",
  seed: 3,
  data: { dir: "/data/voc", trainSplit: "train", evalSplit: "val", skipBad: false },
  classifier: { epochs: 2, cropSize: 128, scaleRange: [0.7, 1.3], lrHead: 0.1 },
  cam: { scales: [1, 0.5], flip: true },
  erasing: { steps: 2, threshold: 0.5, topPercent: null, retrain: "fine-tune" },
  pseudoLabels: { background: "cam", bgThreshold: 0.2 },
  crf: { enabled: false, iterations: 5 },
};

const BAD_VALUES: readonly unknown[] = [
  "abc",
  "",
  "3",
  -1,
  0,
  0.5,
  1e9,
  2 ** 60,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  true,
  null,
  [],
  [1, "x"],
  [2, 1],
  {},
  { a: 1 },
];

const UNKNOWN_KEYS = [
  "epoch",
  "cropsize",
  "classifer",
  "lr",
  "constructor",
  "toString",
  "__proto__",
  "hasOwnProperty",
  "é",
];

function getIn(obj: Obj, path: string[]): unknown {
  let o: unknown = obj;
  for (const p of path) o = o !== null && typeof o === "object" ? (o as Obj)[p] : undefined;
  return o;
}

function setIn(obj: Obj, path: string[], value: unknown): void {
  let o = obj;
  for (const p of path.slice(0, -1)) {
    if (!Object.hasOwn(o, p) || o[p] === null || typeof o[p] !== "object" || Array.isArray(o[p]))
      Object.defineProperty(o, p, { value: {}, enumerable: true, writable: true, configurable: true });
    o = o[p] as Obj;
  }
  Object.defineProperty(o, path[path.length - 1], {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

function yamlScalar(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(yamlScalar).join(", ")}]`;
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" && !Number.isFinite(v)) return JSON.stringify(String(v));
  return String(v);
}

/** Nested maps by indentation, inline lists, quoted strings (a YAML writer for the fuzz cases). */
function toYaml(obj: Obj, indent = ""): string {
  return Object.entries(obj)
    .map(([k, v]) =>
      v !== null && typeof v === "object" && !Array.isArray(v)
        ? `${indent}${k}:\n${toYaml(v as Obj, indent + "  ")}`
        : `${indent}${k}: ${yamlScalar(v)}\n`,
    )
    .join("");
}

// The key may be empty: a file with "" as a key gets ": unknown key" (seen with fuzzConfig(14)).
const PROBLEM = /^([^\n]*?): (expected |unknown key|must be below)/;

/** Every problem of a ConfigError starts with the key it is about. */
function assertConfigError(err: unknown, what: string): ConfigError {
  assert.ok(
    err instanceof ConfigError,
    `${what}: expected a ConfigError, got ${(err as Error)?.stack ?? err}`,
  );
  assert.ok(err.problems.length > 0, what);
  for (const p of err.problems) assert.match(p, PROBLEM, `${what}: the problem names a key`);
  return err;
}

export const CONFIG_CASES = { structured: 90, yaml: 60, json: 40 };

/**
 * Structured edits (a key set to a wrong type or out-of-range value, unknown keys incl. prototype
 * names, sections replaced by scalars, keys deleted) through validateConfig, checking that each bad
 * key is named; then line/byte edits of the config as YAML (parseYaml + validateConfig) and as a JSON
 * file (resolveConfig), which must fail with a YamlError naming a line, an InputError naming the file
 * or a ConfigError naming keys.
 */
export function fuzzConfig(
  seed = 3,
  dir?: string,
): { structured: FuzzTally; yaml: FuzzTally; json: FuzzTally } {
  const rng = mulberry32(seed);
  const leaves = configKeys().map((k) => k.key.split("."));
  const sections = ["", ...new Set(leaves.filter((p) => p.length > 1).map((p) => p[0]))];
  const structured = newTally();
  const variants: Obj[] = [];
  assert.equal(validateConfig(BASE_CONFIG).classifier.epochs, 2);

  for (let i = 0; i < CONFIG_CASES.structured; i++) {
    const cfg = structuredClone(BASE_CONFIG);
    const touched: string[] = [];
    for (let n = int(rng, 1, 2); n > 0; n--) {
      const kind = int(rng, 0, 3);
      if (kind <= 1) {
        const path = pick(rng, leaves);
        setIn(cfg, path, structuredClone(pick(rng, BAD_VALUES)));
        touched.push(path.join("."));
      } else if (kind === 2) {
        const section = pick(rng, sections);
        const key = pick(rng, UNKNOWN_KEYS);
        setIn(cfg, section ? [section, key] : [key], int(rng, 0, 9));
        touched.push(section ? `${section}.${key}` : key);
      } else {
        const section = pick(rng, sections.filter(Boolean));
        if (rng() < 0.5) {
          setIn(cfg, [section], pick(rng, [5, "x", [1, 2], true]));
          touched.push(section);
        } else {
          const sub = getIn(cfg, [section]);
          if (sub && typeof sub === "object") delete (sub as Obj)[pick(rng, Object.keys(sub))];
        }
      }
    }
    variants.push(cfg);
    structured.cases++;
    const what = `config case ${i} (${touched.join(", ")})`;
    try {
      const c = validateConfig(cfg);
      assert.ok(Number.isSafeInteger(c.seed) && c.classifier.cropSize >= 1, what);
      structured.accepted++;
    } catch (err) {
      const e = assertConfigError(err, what);
      // A key the case broke and validation refused is named; no problem is about an untouched key.
      for (const p of e.problems) {
        const key = PROBLEM.exec(p)![1];
        const related =
          key === "pseudoLabels.bgThreshold" || // its relation to erasing.threshold
          touched.some((t) => key === t || key.startsWith(`${t}.`) || t.startsWith(`${key}.`));
        assert.ok(related, `${what}: problem about a key the case did not touch: ${p}`);
      }
      reject(structured, e.problems[0].replace(/^[^:]+: /, ""));
    }
  }

  // Text-level edits of YAML versions of valid and broken configs.
  const yaml = newTally();
  const plainYaml = toYaml(BASE_CONFIG);
  assert.deepEqual(parseYaml(plainYaml), BASE_CONFIG, "the YAML writer round-trips");
  const tabOrIndent = ["\t", "  ", " ", "- ", "#", ": ", "[", "]", '"', "'", "{", "&a ", "|"];
  for (let i = 0; i < CONFIG_CASES.yaml; i++) {
    const src = i % 3 === 0 ? toYaml(pick(rng, variants)) : plainYaml;
    let text: string;
    if (i % 2 === 0) {
      const lines = src.split("\n");
      const l = int(rng, 0, lines.length - 1);
      const at = int(rng, 0, lines[l].length);
      const edit = int(rng, 0, 3);
      if (edit === 0) lines.splice(l, 1);
      else if (edit === 1) lines.splice(l, 0, lines[int(rng, 0, lines.length - 1)]);
      else lines[l] = lines[l].slice(0, at) + pick(rng, tabOrIndent) + lines[l].slice(at);
      text = lines.join("\n");
    } else {
      text = mutateBytes(rng, Buffer.from(src), pick(rng, BYTE_MUTATIONS)).toString("utf8");
    }
    const lineCount = text.split(/\r?\n/).length;
    yaml.cases++;
    let parsed: unknown;
    try {
      parsed = parseYaml(text);
    } catch (err) {
      assert.ok(
        err instanceof YamlError,
        `yaml case ${i}: expected a YamlError, got ${(err as Error)?.stack ?? err}`,
      );
      assert.match(err.message, /^line \d+: \S/, `yaml case ${i}`);
      assert.ok(err.line >= 1 && err.line <= lineCount, `yaml case ${i}: line ${err.line} of ${lineCount}`);
      reject(yaml, err.message.replace(/^line \d+: /, ""));
      continue;
    }
    try {
      validateConfig(parsed, "fuzz.yaml");
      yaml.accepted++;
    } catch (err) {
      reject(yaml, assertConfigError(err, `yaml case ${i}`).problems[0].replace(/^[^:]+: /, ""));
    }
  }

  // Byte edits of JSON config files, read the way the CLI reads --config.
  const json = newTally();
  const own = dir === undefined;
  const folder = dir ?? mkdtempSync(join(tmpdir(), "aepsl-fuzz-cfg-"));
  try {
    for (let i = 0; i < CONFIG_CASES.json; i++) {
      const src = JSON.stringify(i % 4 === 0 ? pick(rng, variants) : BASE_CONFIG, null, 2);
      const text = mutateBytes(rng, Buffer.from(src), pick(rng, BYTE_MUTATIONS));
      const path = join(folder, `config ${i}.json`);
      writeFileSync(path, text);
      json.cases++;
      try {
        resolveConfig({ path });
        json.accepted++;
      } catch (err) {
        if (err instanceof InputError) reject(json, assertInputError(err, path, `json case ${i}`).reason);
        else {
          const e = assertConfigError(err, `json case ${i}`);
          assert.equal(e.source, path, `json case ${i}: the error names the file`);
          reject(json, e.problems[0].replace(/^[^:]+: /, ""));
        }
      }
    }
  } finally {
    if (own) rmSync(folder, { recursive: true, force: true });
  }
  return { structured, yaml, json };
}

// ---- safetensors ----

export const SAFETENSORS_CASES = 160;

/** Byte edits (biased to the JSON header) and forged header lengths through decodeSafetensors. */
export function fuzzSafetensors(seed = 4): FuzzTally {
  const rng = mulberry32(seed);
  const tensors: Record<string, SafeTensor> = {
    "model.w": { dtype: "F32", shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => i / 3) },
    "model.b": { dtype: "F32", shape: [4], data: Float32Array.from([1, 2, 3, 4]) },
    "optim.step": { dtype: "I64", shape: [1], data: BigInt64Array.from([7n]) },
    mask: { dtype: "U8", shape: [5], data: Uint8Array.from([0, 1, 2, 3, 255]) },
    half: { dtype: "F16", shape: [2], data: Uint16Array.from([0x3c00, 0xc000]) },
  };
  const good = encodeSafetensors(tensors, { format: "aepsl", epoch: "3" });
  const headerEnd = 8 + Number(good.readBigUInt64LE(0));
  const tally = newTally();
  for (let i = 0; i < SAFETENSORS_CASES; i++) {
    let bad: Buffer;
    if (i % 8 === 7) {
      bad = Buffer.from(good);
      const lengths = [
        0n,
        1n,
        BigInt(headerEnd - 9),
        BigInt(headerEnd - 7),
        BigInt(good.length),
        2n ** 40n,
        2n ** 63n,
      ];
      bad.writeBigUInt64LE(pick(rng, lengths), 0);
    } else {
      bad = mutateBytes(rng, good, pick(rng, BYTE_MUTATIONS), headerEnd);
    }
    const name = `fuzz-${i}.safetensors`;
    tally.cases++;
    try {
      const r = decodeSafetensors(bad, name);
      let bytes = 0;
      for (const [k, t] of Object.entries(r.tensors)) {
        assert.equal(
          t.data.length,
          t.shape.reduce((a, b) => a * b, 1),
          `${name}: ${k} size matches its shape`,
        );
        bytes += t.data.byteLength;
      }
      assert.ok(bytes <= bad.length, name);
      tally.accepted++;
    } catch (err) {
      reject(tally, assertInputError(err, name, name).reason);
    }
  }
  return tally;
}

// ---- the tests ----

const runningAsTest =
  process.env.NODE_TEST_CONTEXT !== undefined ||
  (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url));

if (runningAsTest) {
  const tmp = mkdtempSync(join(tmpdir(), "aepsl fuzz ü-"));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  let total = 0;

  describe("mutation fuzzing", () => {
    test("photos and indexed PNG masks: decoded with sane sizes, or an InputError naming the file", async (t) => {
      const { jpeg, png } = await fuzzImages(1, tmp);
      assert.equal(jpeg.cases, IMAGE_CASES.jpeg);
      assert.equal(png.cases, IMAGE_CASES.png);
      assert.equal(jpeg.accepted + jpeg.rejected, jpeg.cases);
      assert.equal(png.accepted + png.rejected, png.cases);
      // Both outcomes happen: the fuzzer reaches the decoders, not only the first check.
      assert.ok(jpeg.accepted > 0 && jpeg.rejected > 0, JSON.stringify(jpeg));
      assert.ok(png.rejected > 0 && Object.keys(png.reasons).length >= 5, JSON.stringify(png.reasons));
      t.diagnostic(`jpeg ${JSON.stringify(jpeg)}`);
      t.diagnostic(`png ${JSON.stringify(png)}`);
      total += jpeg.cases + png.cases;
    });

    test("dataset index files: opened and validated, or ValidationError/InputError naming dataset files", async (t) => {
      const r = await fuzzDatasetIndex(2, join(tmp, "dataset"));
      assert.equal(r.cases, 2 * DATASET_CASES);
      assert.ok(r.accepted > 0 && r.rejected > 0, JSON.stringify(r));
      t.diagnostic(`dataset ${JSON.stringify(r)}`);
      total += r.cases;
    });

    test("config objects, YAML and JSON files: valid, or the config's error naming the key, line or file", (t) => {
      const dir = join(tmp, "configs");
      mkdirSync(dir);
      const r = fuzzConfig(3, dir);
      assert.equal(r.structured.cases, CONFIG_CASES.structured);
      assert.equal(r.yaml.cases, CONFIG_CASES.yaml);
      assert.equal(r.json.cases, CONFIG_CASES.json);
      for (const tally of Object.values(r)) assert.ok(tally.rejected > 0, JSON.stringify(tally));
      t.diagnostic(`config ${JSON.stringify(r)}`);
      total += r.structured.cases + r.yaml.cases + r.json.cases;
    });

    test("safetensors: decoded with consistent tensors, or an InputError naming the file", (t) => {
      const r = fuzzSafetensors(4);
      assert.equal(r.cases, SAFETENSORS_CASES);
      assert.ok(r.rejected > r.cases / 2, JSON.stringify(r));
      t.diagnostic(`safetensors ${JSON.stringify(r)}`);
      total += r.cases;
    });

    test("case count", () => {
      const expected =
        IMAGE_CASES.jpeg +
        IMAGE_CASES.png +
        2 * DATASET_CASES +
        CONFIG_CASES.structured +
        CONFIG_CASES.yaml +
        CONFIG_CASES.json +
        SAFETENSORS_CASES;
      assert.equal(expected, 810);
      assert.equal(total, expected);
    });
  });
}
