// A new user's own dataset through the `aepsl` CLI (issue #12): a small generated generic-layout dataset
// without splits/, and the help text's examples.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import sharp from "sharp";
import { cli, CLI_ENV, REPO } from "./helpers/cli.js";

/** A quick-profile run small enough for a test (64-px crops). */
const QUICK_RUN = [
  "--set",
  "profile=quick",
  "--set",
  "classifier.cropSize=64",
  "--set",
  "segmentation.cropSize=64",
];

/** A one-epoch, small-crop classifier for the train-cls commands. */
const QUICK = [
  "--set",
  "classifier.epochs=1",
  "--set",
  "classifier.cropSize=64",
  "--set",
  "classifier.batchSize=2",
  "--quiet",
];

/** Generic layout, no splits/ folder: 4 images of 48×40, classes background, cat, dog. */
async function writeDataset(root: string): Promise<void> {
  mkdirSync(join(root, "images"), { recursive: true });
  writeFileSync(join(root, "classes.txt"), "0 background 0,0,0\n1 cat 64,0,0\n2 dog 64,128,0\n");
  const rows = ["id,labels"];
  for (let i = 0; i < 4; i++) {
    const data = new Uint8Array(48 * 40 * 3).map((_, k) => (k * 7 + i * 53) & 255);
    await sharp(data, { raw: { width: 48, height: 40, channels: 3 } })
      .png()
      .toFile(join(root, "images", `img_${i}.png`));
    rows.push(`img_${i},${i % 2 ? "cat" : "dog"}`);
  }
  writeFileSync(join(root, "labels.csv"), rows.join("\n") + "\n");
}

describe("aepsl on a user's own generic-layout dataset", () => {
  let tmp: string;
  let data: string;
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), "aepsl own data-"));
    data = join(tmp, "my-data");
    await writeDataset(data);
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test("no splits/train.txt: training uses every image (README: optional)", async () => {
    const out = join(tmp, "nosplits");
    const r = await cli(["train-cls", "--data", data, "--out", out, ...QUICK]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /split file/);
    const info = JSON.parse((await import("node:fs")).readFileSync(join(out, "dataset.json"), "utf8")) as {
      trainImages: number;
    };
    assert.equal(info.trainImages, 4);
    assert.ok(existsSync(join(out, "steps", "1", "classifier", "DONE.json")));
  });

  test("a split the user names must still exist", async () => {
    const r = await cli([
      "train-cls",
      "--data",
      data,
      "--out",
      join(tmp, "named"),
      ...QUICK,
      "--set",
      "data.evalSplit=val",
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /splits\/val\.txt: split file for "val" not found/);
  });

  test("run --help gives examples with folders a user has, not ../shared", async () => {
    for (const cmd of ["run", "train-cls", "eval"]) {
      const r = await cli([cmd, "--help"]);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout, /shared\/data/, `${cmd} --help`);
      assert.match(r.stdout, /my-data|runs\/my-run/, `${cmd} --help`);
    }
  });
});

describe("one process per run folder", () => {
  let tmp: string;
  let data: string;
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), "aepsl lock-"));
    data = join(tmp, "my-data");
    await writeDataset(data);
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test("a second command on a folder in use refuses at once naming the process; a killed run's lock does not block resuming", async () => {
    const out = join(tmp, "run");
    const first = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        join(REPO, "src", "cli", "main.ts"),
        "train-cls",
        "--data",
        data,
        "--out",
        out,
        ...QUICK,
        "--set",
        "classifier.epochs=200",
      ],
      { cwd: REPO, env: CLI_ENV, stdio: "ignore" },
    );
    const exited = new Promise((ok) => first.on("close", ok));
    try {
      const lock = join(out, "run.lock");
      for (let i = 0; i < 600 && !existsSync(lock); i++) await new Promise((ok) => setTimeout(ok, 50));
      assert.ok(existsSync(lock), "the first command holds a lock");
      const t0 = performance.now();
      const second = await cli(["train-cls", "--out", out, "--quiet"]);
      assert.equal(second.code, 1, second.stderr);
      assert.match(second.stderr, new RegExp(`is in use by process ${first.pid}\\b`));
      assert.ok(performance.now() - t0 < 20_000, "refused at once, not after waiting");
      assert.equal(first.exitCode, null, "the first is still running");
    } finally {
      first.kill("SIGKILL");
      await exited;
    }
    // SIGKILL leaves the lock behind; its process is gone, so resuming works.
    assert.ok(existsSync(join(out, "run.lock")));
    const again = await cli(["eval", "--run", out, "--split", "val", "--quiet"]);
    assert.doesNotMatch(again.stderr, /in use by process/, again.stderr);
    // eval took the stale lock (it then fails: this dataset has no val split) and released it on exit.
    assert.match(again.stderr, /split file for "val" not found/, again.stderr);
    assert.ok(!existsSync(join(out, "run.lock")), "the lock is released on exit");
  });
});

describe("headline classes on a non-VOC dataset", () => {
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), "aepsl headline-"));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test("run, eval and the report show only the all-class mean unless eval.headlineClasses is set; predict segments a folder of photos and names each bad file", async () => {
    const data = join(tmp, "my-data");
    await writeDataset(data);
    mkdirSync(join(data, "masks"));
    mkdirSync(join(data, "splits"));
    const { encodeIndexedPng } = await import("../src/data/png.js");
    const { buildPalette } = await import("../src/data/classes.js");
    for (let i = 0; i < 4; i++) {
      const m = new Uint8Array(48 * 40);
      for (let y = 10; y < 30; y++) for (let x = 12; x < 36; x++) m[y * 48 + x] = i % 2 ? 1 : 2;
      writeFileSync(join(data, "masks", `img_${i}.png`), encodeIndexedPng(m, 48, 40, buildPalette()));
    }
    writeFileSync(join(data, "splits", "val.txt"), "img_0\nimg_1\n");
    const out = join(tmp, "run");
    const r = await cli(["run", "--data", data, "--out", out, ...QUICK_RUN, "--set", "data.evalSplit=val"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr + r.stdout, /val: mIoU \d/);
    assert.doesNotMatch(r.stderr + r.stdout, /7-class/);
    const ev = JSON.parse((await import("node:fs")).readFileSync(join(out, "eval", "val.json"), "utf8"));
    assert.equal(ev.headline, null);
    const html = (await import("node:fs")).readFileSync(join(out, "report", "index.html"), "utf8");
    assert.doesNotMatch(html, /7-class mIoU/);
    const e = await cli(["eval", "--run", out, "--split", "val", "--quiet"]);
    assert.equal(e.code, 0, e.stderr);
    assert.match(e.stdout, /mIoU +\d/);
    assert.doesNotMatch(e.stdout, /class\)/);

    // predict on a plain folder of photos: JPEG, PNG, WebP, odd sizes, EXIF-rotated, and broken files.
    const photos = join(tmp, "photos");
    mkdirSync(photos);
    const px = (w: number, h: number) =>
      sharp(
        new Uint8Array(w * h * 3).map((_, k) => (k * 11) & 255),
        { raw: { width: w, height: h, channels: 3 } },
      );
    await px(70, 33).jpeg().toFile(join(photos, "a.jpg"));
    await px(21, 57).png().toFile(join(photos, "b.PNG"));
    await px(64, 64).webp().toFile(join(photos, "c.webp"));
    await px(50, 30).withMetadata({ orientation: 6 }).jpeg().toFile(join(photos, "rotated.jpeg"));
    writeFileSync(join(photos, "empty.jpg"), "");
    writeFileSync(join(photos, "fake.png"), "not a png at all");
    const pred = join(tmp, "pred");
    const p = await cli(["predict", "--run", out, "--out", pred, photos, "--quiet"]);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /wrote 4 mask\(s\)/);
    assert.match(p.stdout, /skipped 2 unreadable image\(s\)/);
    assert.match(p.stdout, /empty\.jpg: /);
    assert.match(p.stdout, /fake\.png: /);
    for (const n of ["a", "b", "c", "rotated"]) assert.ok(existsSync(join(pred, `${n}.png`)), n);
    const rotated = await sharp(join(pred, "rotated.png")).metadata();
    assert.deepEqual([rotated.width, rotated.height], [30, 50], "EXIF orientation applied");
    // Only broken files: non-zero, each named.
    const broken = join(tmp, "broken");
    mkdirSync(broken);
    writeFileSync(join(broken, "x.jpg"), "");
    writeFileSync(join(broken, "y.webp"), "junk");
    const none = await cli(["predict", "--run", out, "--out", join(tmp, "pred2"), broken, "--quiet"]);
    assert.equal(none.code, 1, none.stderr);
    assert.match(none.stderr, /no image could be read/);
    assert.match(none.stderr, /x\.jpg: /);
    assert.match(none.stderr, /y\.webp: /);
  });
});

describe("a dataset whose masks store unlabelled pixels as 0 (no background class)", () => {
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), "aepsl void zero-"));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  /** The generic dataset above, masks with 0 around each object; img_2 stores its dog as 7. */
  async function writeVoidZeroDataset(root: string, classesTxt: string): Promise<void> {
    await writeDataset(root);
    writeFileSync(join(root, "classes.txt"), classesTxt);
    mkdirSync(join(root, "masks"));
    mkdirSync(join(root, "splits"));
    const { encodeIndexedPng } = await import("../src/data/png.js");
    const { buildPalette } = await import("../src/data/classes.js");
    for (let i = 0; i < 4; i++) {
      const m = new Uint8Array(48 * 40); // 0: not labelled
      const value = i % 2 ? 1 : i === 2 ? 7 : 2;
      for (let y = 10; y < 30; y++) for (let x = 12; x < 36; x++) m[y * 48 + x] = value;
      writeFileSync(join(root, "masks", `img_${i}.png`), encodeIndexedPng(m, 48, 40, buildPalette()));
    }
    writeFileSync(join(root, "splits", "val.txt"), "img_0\nimg_1\nimg_2\n");
  }

  test('classes.txt "0 void ignore" and "7 -> dog": run and eval ignore the void pixels and read 7 as dog', async () => {
    const data = join(tmp, "my-data");
    await writeVoidZeroDataset(data, "0 void ignore\n1 cat 64,0,0\n2 dog 64,128,0\n7 -> dog\n");
    const out = join(tmp, "run");
    const r = await cli(["run", "--data", data, "--out", out, ...QUICK_RUN, "--set", "data.evalSplit=val"]);
    assert.equal(r.code, 0, r.stderr);
    const { readFileSync } = await import("node:fs");
    const info = JSON.parse(readFileSync(join(out, "dataset.json"), "utf8")) as { classNames: string[] };
    assert.deepEqual(info.classNames, ["background", "cat", "dog"]);
    const e = await cli(["eval", "--run", out, "--split", "val", "--quiet"]);
    assert.equal(e.code, 0, e.stderr);
    const ev = JSON.parse(readFileSync(join(out, "eval", "val.json"), "utf8")) as { confusion: number[][] };
    const objectPixels = 20 * 24;
    const rowSums = ev.confusion.map((row) => row.reduce((a, b) => a + b, 0));
    // Ground-truth rows: no background pixel (the void 0s are ignored), one cat image, two dog images
    // (img_2's dog is stored as 7).
    assert.deepEqual(rowSums, [0, objectPixels, 2 * objectPixels]);
  });

  test("a mask value classes.txt does not declare is refused up front, naming the file and what it accepts", async () => {
    const data = join(tmp, "undeclared");
    await writeVoidZeroDataset(data, "0 void ignore\n1 cat 64,0,0\n2 dog 64,128,0\n");
    const r = await cli([
      "run",
      "--data",
      data,
      "--out",
      join(tmp, "refused"),
      "--set",
      "profile=quick",
      "--quiet",
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /masks\/img_2\.png: mask values 7 are not declared in classes\.txt \(it accepts 0\.\.2, 255\)/,
    );
  });
  test("scripts/colour-masks.ts turns colour-coded masks into masks the dataset reads (README's worked conversion)", async () => {
    const data = join(tmp, "colour");
    await writeDataset(data);
    writeFileSync(join(data, "classes.txt"), "0 void 0,0,0 ignore\n1 cat 64,0,0\n2 dog 64,128,0\n");
    const colourDir = join(tmp, "colour-masks");
    mkdirSync(colourDir);
    const colours = [
      [0, 0, 0],
      [64, 0, 0],
      [64, 128, 0],
    ];
    for (let i = 0; i < 4; i++) {
      const rgb = new Uint8Array(48 * 40 * 3);
      for (let p = 0; p < 48 * 40; p++) rgb.set(colours[p < 48 * 20 ? 0 : 1 + (i % 2)], 3 * p);
      await sharp(rgb, { raw: { width: 48, height: 40, channels: 3 } })
        .png()
        .toFile(join(colourDir, `img_${i}_GT.png`));
    }
    const script = join(REPO, "scripts", "colour-masks.ts");
    const { spawnSync } = await import("node:child_process");
    const ok = spawnSync(process.execPath, ["--import", "tsx", script, colourDir, data], {
      cwd: REPO,
      env: CLI_ENV,
      encoding: "utf8",
    });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /wrote 4 mask\(s\)/);
    const { openDataset, validateDataset } = await import("../src/data/dataset.js");
    const { readGroundTruthMask } = await import("../src/data/mask.js");
    const ds = await openDataset(data);
    const { items } = await validateDataset(ds);
    const gt = await readGroundTruthMask(items[1]);
    assert.deepEqual([gt.indices[0], gt.indices[48 * 40 - 1]], [255, 2]); // img_1: top half void, bottom dog
    // A colour that classes.txt does not give stops the conversion, naming file, pixel and colour.
    writeFileSync(join(data, "classes.txt"), "0 void 0,0,0 ignore\n1 cat 64,0,0\n");
    const bad = spawnSync(process.execPath, ["--import", "tsx", script, colourDir, data], {
      cwd: REPO,
      env: CLI_ENV,
      encoding: "utf8",
    });
    assert.equal(bad.status, 1);
    assert.match(
      bad.stderr,
      /img_1_GT\.png: pixel \(0, 20\) has colour 64,128,0, which no line of .*classes\.txt gives/,
    );
  });
});
