// Bad input end to end through the `aepsl` CLI: a generic-layout dataset mixing broken files (empty,
// truncated and fake JPEGs, masks of the wrong size / with out-of-range values / in RGB, an unknown class
// name, a duplicate id) with unusual but valid ones (EXIF-rotated, CMYK, grayscale, 16-bit, alpha, a
// name with spaces and non-ASCII). Training must refuse it up front listing every bad file with its
// reason and write no checkpoint; with data.skipBad it must train on the rest and list exactly the bad
// ids in skipped.json. Also: config files with wrong types, a missing split, a missing dataset folder,
// a run folder reused with another configuration, and the dataset folder left byte-identical.
//
// writeBadCorpus is exported for bench/reliability.ts; the tests only register when this file runs as
// a test.
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { buildPalette } from "../src/data/classes.js";
import { encodeIndexedPng } from "../src/data/png.js";
import { cli } from "./helpers/cli.js";
import { hashTree } from "./helpers/hash-tree.js";

export interface CorpusCase {
  id: string;
  /** What is special about it. */
  what: string;
  /** Bad items must be refused (and skipped with data.skipBad); the others must be accepted. */
  bad: boolean;
  /** For bad items: what the error line about it says (file name and reason). */
  error?: RegExp;
}

const W = 40;
const H = 30;

function pattern(width: number, height: number, seed: number, channels = 3): Uint8Array {
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = (i * 13 + seed * 29 + ((i / channels) % width) * 3) & 255;
  return data;
}

const rawImage = (width: number, height: number, seed: number, channels: 3 | 4 | 1 = 3) =>
  sharp(pattern(width, height, seed, channels), { raw: { width, height, channels } });

/** A mask of the image size: background with a block of `cls`. */
function maskPng(cls: number, width = W, height = H, extra?: number): Buffer {
  const m = new Uint8Array(width * height);
  for (let y = 5; y < height - 5; y++) for (let x = 8; x < width - 8; x++) m[y * width + x] = cls;
  m[0] = 255;
  if (extra !== undefined) m[width + 1] = extra;
  return encodeIndexedPng(m, width, height, buildPalette());
}

/**
 * Writes the dataset (generic layout: classes.txt, images/, masks/, labels.csv, splits/train.txt) and
 * returns its cases. Classes: 0 background, 1 cat, 2 dog, 3 person.
 */
export async function writeBadCorpus(root: string): Promise<CorpusCase[]> {
  for (const d of ["images", "masks", "splits"]) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(
    join(root, "classes.txt"),
    "0 background 0,0,0\n1 cat 128,0,0\n2 dog 0,128,0\n3 person 192,128,128\n",
  );
  const img = (name: string, data: Uint8Array | string) => writeFileSync(join(root, "images", name), data);
  const mask = (name: string, data: Uint8Array) => writeFileSync(join(root, "masks", name), data);
  const jpeg = (seed: number) => rawImage(W, H, seed).jpeg({ quality: 85 }).toBuffer();

  const cases: CorpusCase[] = [];
  const labels: string[] = [];
  const add = (c: CorpusCase, label: string) => {
    cases.push(c);
    labels.push(`${c.id},${label}`);
  };

  // Plain good items, two with masks.
  for (let i = 1; i <= 4; i++) {
    img(`good${i}.jpg`, await jpeg(i));
    if (i <= 2) mask(`good${i}.png`, maskPng(i));
    add({ id: `good${i}`, what: "plain JPEG", bad: false }, ["cat", "dog", "person", "cat dog"][i - 1]);
  }
  // Unusual but valid photos.
  const rotated = await rawImage(H, W, 5).jpeg().withMetadata({ orientation: 6 }).toBuffer();
  img("rotated.jpg", rotated); // stored 30×40, displayed 40×30: its mask is 40×30
  mask("rotated.png", maskPng(1));
  add(
    {
      id: "rotated",
      what: "EXIF orientation 6 (stored 30×40, shown 40×30), mask of the shown size",
      bad: false,
    },
    "cat",
  );
  img("cmyk.jpg", await rawImage(W, H, 6).toColourspace("cmyk").jpeg().toBuffer());
  add({ id: "cmyk", what: "CMYK JPEG", bad: false }, "dog");
  img("gray.png", await rawImage(W, H, 7, 1).toColourspace("b-w").png().toBuffer());
  add({ id: "gray", what: "8-bit grayscale PNG", bad: false }, "person");
  img("deep.png", await rawImage(W, H, 8).toColourspace("rgb16").png().toBuffer());
  add({ id: "deep", what: "16-bit RGB PNG", bad: false }, "cat");
  img("alpha.png", await rawImage(W, H, 9, 4).png().toBuffer());
  add({ id: "alpha", what: "RGBA PNG", bad: false }, "dog");
  img("alpha webp.webp", await rawImage(W, H, 10, 4).webp().toBuffer());
  add({ id: "alpha webp", what: "WebP with alpha, space in the name", bad: false }, "cat");
  img("photo ü 写真 1.jpg", await jpeg(11));
  mask("photo ü 写真 1.png", maskPng(3));
  add({ id: "photo ü 写真 1", what: "spaces and non-ASCII in the file name", bad: false }, "person");

  // Bad items.
  img("zero.jpg", "");
  add(
    { id: "zero", what: "zero-byte .jpg", bad: true, error: /images\/zero\.jpg: empty file \(0 bytes\)/ },
    "cat",
  );
  const full = await jpeg(12);
  img("truncated.jpg", full.subarray(0, Math.floor(full.length * 0.6)));
  add(
    {
      id: "truncated",
      what: "JPEG cut at 60% (the header is intact)",
      bad: true,
      error: /images\/truncated\.jpg: cannot decode image: .*premature end/,
    },
    "dog",
  );
  img("notes.jpg", "these are my notes, not a photo\n");
  add(
    {
      id: "notes",
      what: "text file named .jpg",
      bad: true,
      error: /images\/notes\.jpg: not a readable image/,
    },
    "cat",
  );
  img("wrongsize.jpg", await jpeg(13));
  mask("wrongsize.png", maskPng(1, 20, 15));
  add(
    {
      id: "wrongsize",
      what: "mask 20×15 for a 40×30 image",
      bad: true,
      error: /masks\/wrongsize\.png: mask is 20×15 but the image is 40×30/,
    },
    "cat",
  );
  img("outofrange.jpg", await jpeg(14));
  mask("outofrange.png", maskPng(2, W, H, 7));
  add(
    {
      id: "outofrange",
      what: "mask value 7 with 4 classes",
      bad: true,
      error: /masks\/outofrange\.png: mask values 7 are not class indices \(0\.\.3\) or 255/,
    },
    "dog",
  );
  img("rgbmask.jpg", await jpeg(15));
  mask("rgbmask.png", await rawImage(W, H, 16).png().toBuffer());
  add(
    { id: "rgbmask", what: "RGB mask", bad: true, error: /masks\/rgbmask\.png: is an RGB PNG, not indexed/ },
    "cat",
  );
  img("unknowncls.jpg", await jpeg(17));
  add(
    {
      id: "unknowncls",
      what: "unknown class name in labels.csv",
      bad: true,
      error: /labels\.csv: unknown class "zebra" for id "unknowncls"/,
    },
    "cat zebra",
  );
  img("dup.jpg", await jpeg(18));
  add(
    {
      id: "dup",
      what: "id listed twice in labels.csv",
      bad: true,
      error: /labels\.csv:\d+: duplicate id "dup"/,
    },
    "cat",
  );
  labels.push("dup,dog");

  writeFileSync(join(root, "labels.csv"), `id,labels\n${labels.join("\n")}\n`);
  writeFileSync(join(root, "splits", "train.txt"), cases.map((c) => c.id).join("\n") + "\n");
  return cases;
}

// ---- the tests ----

const QUICK = [
  "--set",
  "classifier.epochs=1",
  "--set",
  "classifier.cropSize=64",
  "--set",
  "classifier.batchSize=2",
  "--set",
  "cam.scales=[1]",
  "--set",
  "cam.flip=false",
];

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).sort();
}

const runningAsTest =
  process.env.NODE_TEST_CONTEXT !== undefined ||
  (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url));

if (runningAsTest) {
  describe("aepsl with bad input", () => {
    let tmp: string;
    let data: string;
    let cases: CorpusCase[];
    before(async () => {
      tmp = mkdtempSync(join(tmpdir(), "aepsl cli ü-"));
      data = join(tmp, "my data");
      cases = await writeBadCorpus(data);
    });
    after(() => rmSync(tmp, { recursive: true, force: true }));

    test("train-cls refuses the dataset up front, listing every bad file with its reason; no checkpoint", async () => {
      const out = join(tmp, "refused");
      const r = await cli(["train-cls", "--data", data, "--out", out, ...QUICK]);
      assert.equal(r.code, 1, r.stderr);
      const bad = cases.filter((c) => c.bad);
      assert.match(r.stderr, new RegExp(`^error: dataset .*my data has ${bad.length} problem\\(s\\):$`, "m"));
      const lines = r.stderr.split("\n").filter((l) => l.startsWith("  - "));
      assert.equal(lines.length, bad.length, r.stderr);
      for (const c of bad) {
        assert.equal(
          lines.filter((l) => c.error!.test(l)).length,
          1,
          `${c.id} (${c.what}) listed once:\n${r.stderr}`,
        );
      }
      for (const c of cases.filter((c) => !c.bad)) {
        assert.ok(
          !lines.some((l) => l.includes(`/${c.id}.`)),
          `${c.id} (${c.what}) must be accepted:\n${r.stderr}`,
        );
      }
      // Nothing trained, nothing half-written: only the saved configuration (and the log, if any).
      assert.deepEqual(
        filesUnder(out).filter((f) => f !== "log.txt" && f !== "config.json"),
        [],
      );
      // No stage started, so the same folder may be retried with other settings: it gets the dataset's
      // verdict again, not "started with a different configuration".
      const retry = await cli(["train-cls", "--data", data, "--out", out, ...QUICK, "--set", "seed=3"]);
      assert.equal(retry.code, 1, retry.stderr);
      assert.match(retry.stderr, /problem\(s\):/);
      assert.doesNotMatch(retry.stderr, /different configuration/);
    });

    test("with data.skipBad it trains on the rest; skipped.json lists exactly the bad ids; then cam resumes; the dataset is untouched", async () => {
      const before = hashTree(data);
      const out = join(tmp, "skipping");
      const r = await cli([
        "train-cls",
        "--data",
        data,
        "--out",
        out,
        ...QUICK,
        "--set",
        "data.skipBad=true",
      ]);
      assert.equal(r.code, 0, r.stderr);
      const bad = cases.filter((c) => c.bad);
      assert.match(r.stderr, new RegExp(`warning: skipped ${bad.length} bad item\\(s\\)`));
      const skipped = JSON.parse(readFileSync(join(out, "skipped.json"), "utf8")) as {
        id: string;
        reason: string;
      }[];
      assert.deepEqual(skipped.map((s) => s.id).sort(), bad.map((c) => c.id).sort());
      for (const s of skipped) assert.match(s.reason, bad.find((c) => c.id === s.id)!.error!, s.id);
      const info = JSON.parse(readFileSync(join(out, "dataset.json"), "utf8"));
      assert.equal(info.trainImages, cases.length - bad.length);
      assert.ok(existsSync(join(out, "steps", "1", "classifier", "DONE.json")));

      // The next stage resumes the run with its saved configuration.
      const cam = await cli(["cam", "--out", out, "--quiet"]);
      assert.equal(cam.code, 0, cam.stderr);
      const records = readFileSync(join(out, "steps", "1", "cams", "records.jsonl"), "utf8")
        .trim()
        .split("\n");
      assert.equal(records.length, cases.length - bad.length);
      assert.ok(existsSync(join(out, "steps", "1", "cams", "photo ü 写真 1.png")));

      assert.deepEqual(hashTree(data), before, "train-cls and cam leave the dataset folder byte-identical");
    });

    test("config files with wrong types name every bad key; nothing is created", async () => {
      const json = join(tmp, "bad config.json");
      writeFileSync(
        json,
        JSON.stringify({ classifier: { epochs: "three", cropSize: -5 }, cam: { flip: "yes" } }),
      );
      const yaml = join(tmp, "bad.yaml");
      writeFileSync(yaml, "classifier:\n  batchSize: 0\nerasing:\n  steps: [1, 2]\n  retrain: scratch\n");
      const broken = join(tmp, "broken.yaml");
      writeFileSync(broken, "classifier:\n  epochs: 2\n\tcropSize: 64\n");
      const [a, b, c] = await Promise.all(
        [json, yaml, broken].map((cfg) =>
          cli(["train-cls", "--data", data, "--out", join(tmp, "never"), "--config", cfg]),
        ),
      );
      assert.equal(a.code, 1, a.stderr);
      assert.match(a.stderr, /^error: invalid configuration \(.*bad config\.json\):$/m);
      assert.match(a.stderr, /classifier\.epochs: expected a positive integer, got "three"/);
      assert.match(a.stderr, /classifier\.cropSize: expected a positive integer, got -5/);
      assert.match(a.stderr, /cam\.flip: expected true or false, got "yes"/);
      assert.equal(b.code, 1, b.stderr);
      assert.match(b.stderr, /classifier\.batchSize: expected a positive integer, got 0/);
      assert.match(b.stderr, /erasing\.steps: expected a positive integer, got \[1,2\]/);
      assert.match(b.stderr, /erasing\.retrain: expected one of "imagenet", "fine-tune", got "scratch"/);
      assert.equal(c.code, 1, c.stderr);
      assert.match(c.stderr, /broken\.yaml: line 3: tabs are not allowed as indentation/i);
      assert.ok(!existsSync(join(tmp, "never")), "no run folder for a bad configuration");
    });

    test("a missing split file and a missing dataset folder are clear errors", async () => {
      const [split, nodir] = await Promise.all([
        cli([
          "train-cls",
          "--data",
          data,
          "--out",
          join(tmp, "nosplit"),
          ...QUICK,
          "--set",
          "data.trainSplit=holdout",
        ]),
        cli(["train-cls", "--data", join(tmp, "no such folder"), "--out", join(tmp, "nodata"), ...QUICK]),
      ]);
      assert.equal(split.code, 1, split.stderr);
      assert.match(split.stderr, /splits\/holdout\.txt: split file for "holdout" not found/);
      assert.equal(nodir.code, 1, nodir.stderr);
      assert.match(nodir.stderr, /^error: .*no such folder: dataset folder not found \(or not a folder\)$/m);
      for (const out of ["nosplit", "nodata"])
        assert.ok(!filesUnder(join(tmp, out)).some((f) => f.endsWith(".safetensors")));
    });

    test("aepsl run on that run folder with a different --set is refused and changes nothing", async () => {
      const out = join(tmp, "skipping");
      const before = hashTree(out);
      const [a, b] = await Promise.all([
        cli(["run", "--out", out, "--set", "classifier.epochs=2"]),
        cli(["run", "--data", data, "--out", out, ...QUICK, "--set", "data.skipBad=true", "--set", "seed=1"]),
      ]);
      for (const r of [a, b]) {
        assert.equal(r.code, 1, r.stderr);
        assert.match(
          r.stderr,
          /^error: .*skipping was started with a different configuration \(.*config\.json\)/m,
        );
        assert.match(r.stderr, /choose a new --out, or start over with --force/);
      }
      assert.deepEqual(hashTree(out), before, "the run folder is untouched");
    });
  });
}
