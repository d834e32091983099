// The HTML run report: built from a small synthetic run folder (a two-image generic dataset, two erasing
// steps and a stopped third, pseudo-labels, predictions, metrics, an evaluation), then checked as text
// (every <img> exists, charts present, HTML escaped, nothing written outside report/) and, when Chromium
// is installed, in a real headless browser (every image decodes, every chart has a size).
import assert from "node:assert/strict";
import { existsSync, readdirSync, statSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { buildPalette } from "../src/data/classes.js";
import { saveJpeg } from "../src/data/image.js";
import { encodeIndexedPng, writeIndexedPng } from "../src/data/png.js";
import type { RgbImage } from "../src/data/types.js";
import { writeReport } from "../src/report/report.js";
import { spreadPick } from "../src/report/samples.js";
import { niceTicks } from "../src/report/svg.js";
import { writeFileAtomic } from "../src/util/fs.js";
import { launchChromium } from "./helpers/browser.js";

const EVIL = `<b>cat&"x"</b>`; // a class name that must come out escaped
const W = 48;
const H = 32;
const IDS = ["a", "b&<x>"];

let tmp: string;
let dataDir: string;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), "aepsl report ü-"));
  dataDir = join(tmp, "data");
  await makeDataset(dataDir);
});
after(async () => {
  // Keep only the browser screenshot (<tmp>/report.png) for looking at.
  for (const f of readdirSync(tmp))
    if (f !== "report.png") await rm(join(tmp, f), { recursive: true, force: true });
  if (!existsSync(join(tmp, "report.png"))) await rm(tmp, { recursive: true, force: true });
});

const palette = buildPalette([
  [0, 0, 0],
  [200, 60, 60],
  [60, 90, 210],
]);

function photo(seed: number): RgbImage {
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 3;
      data[i] = (x * 5 + seed * 40) & 255;
      data[i + 1] = (y * 7) & 255;
      data[i + 2] = (128 + seed * 60) & 255;
    }
  return { width: W, height: H, data };
}

/** Class c inside the rectangle [x0, x1) × [y0, y1), 0 elsewhere. */
function rect(c: number, x0: number, y0: number, x1: number, y1: number, fill = 0): Uint8Array {
  const m = new Uint8Array(W * H).fill(fill);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * W + x] = c;
  return m;
}

async function makeDataset(dir: string) {
  await mkdir(join(dir, "splits"), { recursive: true });
  await writeFile(join(dir, "classes.txt"), `0 background 0,0,0\n1 ${EVIL} 200,60,60\n2 dog 60,90,210\n`);
  await writeFile(join(dir, "splits", "train.txt"), IDS.join("\n") + "\n");
  await writeFile(join(dir, "splits", "val.txt"), IDS.join("\n") + "\n");
  await saveJpeg(join(dir, "images", "a.jpg"), photo(0));
  await saveJpeg(join(dir, "images", `${IDS[1]}.jpg`), photo(1));
  await writeIndexedPng(join(dir, "masks", "a.png"), rect(1, 8, 4, 30, 28), W, H, palette);
  const m = rect(2, 20, 6, 44, 30);
  for (let y = 2; y < 12; y++) for (let x = 2; x < 12; x++) m[y * W + x] = 1;
  await writeIndexedPng(join(dir, "masks", `${IDS[1]}.png`), m, W, H, palette);
}

const labelsOf: Record<string, number[]> = { a: [1], [IDS[1]]: [1, 2] };

/** A run folder that stopped erasing at step 3 and finished everything else. */
async function makeRun(run: string, o: { full: boolean }) {
  const json = (rel: string, v: unknown) => writeFileAtomic(join(run, rel), JSON.stringify(v, null, 2));
  await json("config.json", {
    profile: "default",
    data: { dir: dataDir, trainSplit: "train", evalSplit: "val" },
    erasing: { steps: 3, threshold: 0.5, overlap: "higher-cam" },
  });
  await json("dataset.json", {
    root: dataDir,
    classNames: ["background", EVIL, "dog"],
    palette: Array.from(palette),
    meanPixel: [117, 109, 95],
    trainSplit: "train",
    trainImages: 2,
    evalSplit: "val",
    evalImages: 2,
  });
  await writeFileAtomic(join(run, "log.txt"), "INFO start <script>alert(1)</script>\nINFO done\n");
  const grey = new Uint8Array(768);
  for (let i = 0; i < 256; i++) grey.fill(i, i * 3, i * 3 + 3);
  const erasePalette = new Uint8Array(768);
  erasePalette.set([255, 255, 255], 3);
  const steps = o.full ? [1, 2] : [1];
  for (const t of steps) {
    const dir = join(run, "steps", String(t));
    await json(`steps/${t}/classifier/metrics.json`, {
      epochs: [1, 2, 3].map((e) => ({
        epoch: e,
        loss: 0.5 / (e + t),
        map: 0.4 + 0.1 * e - 0.1 * t,
        seconds: 1,
      })),
      imagesPerSecond: 12.5,
      seconds: 3,
    });
    const lines: string[] = [];
    for (const id of IDS) {
      const labels = labelsOf[id];
      // One 8-bit band per label, stacked vertically: a blob moving right with t.
      const cam = new Uint8Array(W * H * labels.length);
      labels.forEach((_, k) => {
        for (let y = 0; y < H; y++)
          for (let x = 0; x < W; x++) {
            const d = Math.hypot(x - (10 + 12 * t + 6 * k), y - 16);
            cam[k * W * H + y * W + x] = Math.max(0, Math.round(255 - d * 14));
          }
      });
      await writeFileAtomic(
        join(dir, "cams", `${id}.png`),
        encodeIndexedPng(cam, W, H * labels.length, grey),
      );
      lines.push(JSON.stringify({ id, width: W, height: H, labels, scores: [0.9 / t, 0.5] }));
      const mined = rect(labels[0], 4 + 12 * t, 8, 16 + 12 * t, 24);
      await writeIndexedPng(join(dir, "regions", `${id}.png`), mined, W, H, palette);
      await writeIndexedPng(
        join(dir, "erase", `${id}.png`),
        rect(1, 4, 8, 16 + 12 * t, 24),
        W,
        H,
        erasePalette,
      );
    }
    await writeFileAtomic(join(dir, "cams", "records.jsonl"), lines.join("\n") + "\n");
    if (t === 1) await saveJpeg(join(dir, "erased", "a.jpg"), photo(0)); // a saved one; the others are made
    await json(`steps/${t}/DONE.json`, { step: t, stopped: false, final_map: 0.8 - 0.1 * t });
  }
  if (!o.full) return;
  await json("steps/3/DONE.json", {
    step: 3,
    stopped: true,
    reason: "classifier training mAP 20.0 < 30",
    final_map: 0.2,
  });
  for (const id of IDS) {
    await writeIndexedPng(
      join(run, "pseudo-labels", `${id}.png`),
      rect(labelsOf[id][0], 8, 4, 30, 28, 255),
      W,
      H,
      palette,
    );
    await writeIndexedPng(
      join(run, "predictions", "val", `${id}.png`),
      rect(labelsOf[id].at(-1)!, 6, 4, 30, 28),
      W,
      H,
      palette,
    );
  }
  // Only one CRF prediction: the other picture must say it is missing.
  await writeIndexedPng(join(run, "predictions", "val-crf", "a.png"), rect(1, 8, 4, 30, 28), W, H, palette);
  await json("segmentation/metrics.json", {
    epochs: [1, 2, 3, 4].map((e) => ({ epoch: e, loss: 2 / e, pslLoss: 0.5 / e, seconds: 2 })),
  });
  const seg = (miou: number) => ({
    miou,
    miou7: miou + 0.01,
    pixel_acc: 0.8,
    per_class: { background: 0.7, [EVIL]: 0.4, dog: null },
    images: 2,
    crf: false,
    confusion: [
      [900, 50, 10],
      [40, 300, 0],
      [5, 0, 0],
    ],
  });
  await json("eval/val.json", {
    split: "val",
    ...seg(0.55),
    crf_result: { ...seg(0.58), crf: true },
    mining: [1, 2].map((t) => ({
      t,
      precision: 0.7 - 0.1 * t,
      recall: 0.4 + 0.2 * t,
      iou: 0.35 + 0.05 * t,
      per_class: { [EVIL]: { precision: 0.6, recall: 0.5, iou: 0.4 } },
    })),
  });
  await json("timings.json", { prepare: 0.4, erasing: 60.2, "train-seg": 75, eval: 8 });
}

/** Every file under dir (relative paths), except under the given top-level folder. */
function listFiles(dir: string, skip?: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (skip && relative(dir, p) === skip) continue;
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

function imgSources(html: string): string[] {
  return [...html.matchAll(/<img\b[^>]*\bsrc="([^"]*)"/g)].map((m) => m[1].replace(/&amp;/g, "&"));
}

describe("report", () => {
  let run: string;
  let page: string;
  let html: string;

  before(async () => {
    run = join(tmp, "run");
    await makeRun(run, { full: true });
    const before = listFiles(run);
    page = await writeReport(run, { sample: 2 });
    html = await readFile(page, "utf8");
    assert.deepEqual(listFiles(run, "report"), before, "the report writes nothing outside report/");
  });

  test("is written to <run>/report/index.html, every <img> exists beside it", () => {
    assert.equal(page, join(resolve(run), "report", "index.html"));
    const srcs = imgSources(html);
    assert.ok(srcs.length >= 20, `expected the sample pictures, found ${srcs.length} <img>`);
    for (const src of srcs) {
      assert.match(src, /^img\/[A-Za-z0-9._-]+\.(jpg|png)$/, `relative img/ path: ${src}`);
      const file = resolve(dirname(page), src);
      assert.ok(file.startsWith(join(dirname(page), "img") + sep) && existsSync(file), `missing ${src}`);
      assert.ok(statSync(file).size > 0 && statSync(file).size < 200_000, `${src} is small`);
    }
    for (const f of readdirSync(join(dirname(page), "img")))
      assert.ok(srcs.includes(`img/${f}`), `img/${f} is shown`);
    // Every img has alt text; nothing is fetched from outside the folder.
    for (const tag of html.match(/<img\b[^>]*>/g) ?? []) assert.match(tag, /\balt="[^"]+"/);
    assert.doesNotMatch(html, /\b(src|href)="(https?:)?\/\//);
    assert.doesNotMatch(html, /<link\b|<script\b/);
  });

  test("shows every stage of each sample, and says what is missing", () => {
    assert.equal((html.match(/<article class="sample"/g) ?? []).length, 2);
    const srcs = imgSources(html);
    const has = (re: RegExp) => srcs.filter((s) => re.test(s)).length;
    assert.equal(has(/-photo\.jpg$/), 2);
    assert.equal(has(/-gt\.png$/), 2);
    assert.equal(has(/-s[12]-cam\d\.jpg$/), 2 * 3, "a CAM per label per step (1 + 2 labels, 2 steps)");
    assert.equal(has(/-s[12]-erased\.jpg$/), 4, "saved and reconstructed erased images");
    assert.equal(has(/-s[12]-regions\.png$/), 4);
    assert.equal(has(/-union\.png$/), 2);
    assert.equal(has(/-pseudo\.png$/), 2);
    assert.equal(has(/-pred\.png$/), 2);
    assert.equal(has(/-pred-crf\.png$/), 1);
    assert.match(
      html,
      /not available yet<\/div><figcaption>Prediction \+ CRF/,
      "missing CRF prediction: a placeholder",
    );
    assert.match(html, /Erasing stopped at step 3: classifier training mAP 20\.0 &lt; 30/);
  });

  test("has the SVG charts and headline numbers", () => {
    const charts = html.match(/<svg class="chart-svg"/g) ?? [];
    // classifier loss + mAP, mining, segmentation loss, IoU bars, confusion ± CRF
    assert.ok(charts.length >= 7, `${charts.length} charts`);
    for (const title of [
      "Classifier loss",
      "training mAP",
      "Mined-region quality",
      "Segmentation training loss",
      "Per-class IoU",
      "Confusion matrix",
    ])
      assert.ok(html.includes(title), title);
    assert.match(html, /55\.0<small>%<\/small>/, "mIoU");
    assert.match(html, /with CRF <b>58\.0%<\/b>/);
    assert.match(html, /56\.0<small>%<\/small>/, "7-class mIoU");
    assert.match(html, /80\.0<small>%<\/small>/, "pixel accuracy");
    assert.match(html, /<details><summary>Configuration/);
    assert.match(html, /<th>Stage<\/th>/);
  });

  test("escapes HTML from class names, ids and the log", () => {
    assert.ok(!html.includes(EVIL), "raw class name");
    assert.ok(html.includes("&lt;b&gt;cat&amp;&quot;x&quot;&lt;/b&gt;"), "escaped class name");
    assert.ok(html.includes("b&amp;&lt;x&gt;"), "escaped image id");
    assert.ok(!html.includes("<script>alert(1)</script>"));
    assert.ok(html.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
  });

  test("a run that stopped early still gets a report, saying what is not available yet", async () => {
    const early = join(tmp, "early");
    await makeRun(early, { full: false });
    const p = await writeReport(early);
    const h = await readFile(p, "utf8");
    for (const what of ["Segmentation training", "Evaluation", "Timings"])
      assert.match(h, new RegExp(`${what}[^<]*: not available yet`), what);
    for (const src of imgSources(h)) assert.ok(existsSync(join(dirname(p), src)), src);
    assert.equal((h.match(/<article class="sample"/g) ?? []).length, 2);

    const bare = join(tmp, "bare");
    await mkdir(bare);
    const h2 = await readFile(await writeReport(bare), "utf8");
    assert.match(h2, /not available yet/);
    assert.deepEqual(readdirSync(bare), ["report"]);
  });

  test("regenerating removes pictures the new report no longer shows", async () => {
    await writeReport(run, { sample: 1 });
    const h = await readFile(page, "utf8");
    const srcs = imgSources(h);
    assert.deepEqual(
      readdirSync(join(dirname(page), "img"))
        .map((f) => `img/${f}`)
        .sort(),
      [...new Set(srcs)].sort(),
    );
    await writeReport(run, { sample: 2 });
  });

  test("helpers: even spread of samples, round ticks", () => {
    const items = Array.from({ length: 10 }, (_, i) => ({ id: `i${i}` }));
    assert.deepEqual(
      spreadPick(items, 3).map((x) => x.id),
      ["i1", "i5", "i8"],
    );
    assert.deepEqual(
      spreadPick(items.slice(0, 2), 5).map((x) => x.id),
      ["i0", "i1"],
    );
    assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(niceTicks(0, 5.15, 5), [0, 2, 4, 6]);
  });

  test("opens in a real browser: every image decodes, every chart has a size", async (t) => {
    const ctx = await launchChromium(t, tmp);
    if (!ctx) return;
    try {
      const tab = await ctx.newPage();
      const problems: string[] = [];
      tab.on("console", (m) => void (m.type() === "error" && problems.push(m.text())));
      tab.on("pageerror", (e) => problems.push(e.message));
      tab.on("requestfailed", (r) => problems.push(`failed: ${r.url()}`));
      tab.on("request", (r) => void (!r.url().startsWith("file:") && problems.push(`external: ${r.url()}`)));
      await tab.goto(pathToFileURL(page).href, { waitUntil: "load" });
      const r = await tab.evaluate(() => ({
        images: [...document.images].map((i) => ({
          src: i.getAttribute("src"),
          w: i.naturalWidth,
          done: i.complete,
        })),
        charts: [...document.querySelectorAll("svg.chart-svg")].map((s) => {
          const b = s.getBoundingClientRect();
          return { w: b.width, h: b.height };
        }),
        title: document.title,
      }));
      assert.ok(r.images.length >= 20);
      for (const i of r.images) assert.ok(i.done && i.w > 0, `image did not load: ${i.src}`);
      assert.ok(r.charts.length >= 7);
      for (const c of r.charts) assert.ok(c.w > 0 && c.h > 0, `chart without size: ${JSON.stringify(c)}`);
      assert.match(r.title, /aepsl report/);
      assert.deepEqual(problems, []);
      const shot = join(tmp, "report.png");
      await tab.screenshot({ path: shot, fullPage: true });
      assert.ok(statSync(shot).size > 10_000);
      t.diagnostic(`screenshot: ${shot}`);
    } finally {
      await ctx.close();
    }
  });
});
