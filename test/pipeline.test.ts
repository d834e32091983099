// End to end on the bundled sample with a tiny configuration: every stage writes its folder, the model
// evaluates and predicts at original resolution, a second run resumes without redoing work, and the
// dataset folder is left byte-identical.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { readIndexedPng } from "../src/data/png.js";
import { imageSize } from "../src/data/image.js";
import { packageRoot } from "../src/engine/native.js";
import { liveTensors } from "../src/engine/tensor.js";
import { runPipeline } from "../src/pipeline.js";
import { loadSegmenter } from "../src/index.js";
import { predictFiles } from "../src/stages/evaluate.js";
import { applyOverrides, defaultConfig } from "../src/util/config.js";
import { createLogger } from "../src/util/log.js";
import { hashTree } from "./helpers/hash-tree.js";

const DATA = join(packageRoot, "samples", "voc-mini");
const tmp = mkdtempSync(join(tmpdir(), "aepsl-pipeline-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const config = applyOverrides(defaultConfig(), [
  ["data.dir", DATA],
  ["data.trainSplit", "train"],
  ["data.evalSplit", "val"],
  ["classifier.epochs", "1"],
  ["classifier.cropSize", "96"],
  ["classifier.batchSize", "4"],
  ["cam.scales", "[1]"],
  ["cam.flip", "false"],
  ["erasing.steps", "2"],
  ["erasing.epochsPerStep", "1"],
  ["erasing.stopMapRatio", "0"],
  // A one-epoch classifier rarely scores ≥ 0.8 on erased images; the gate has its own unit test.
  ["erasing.minScore", "0"],
  // PSL is off by default; on here so the whole path (image-level scores, online label) runs.
  ["segmentation.psl", "true"],
  ["segmentation.epochs", "1"],
  ["segmentation.cropSize", "96"],
  ["segmentation.batchSize", "4"],
  ["crf.enabled", "true"],
  ["crf.iterations", "2"],
  ["pseudoLabels.laterStepSaliency", "0.5"],
]);

test("the whole pipeline runs, resumes as a no-op, and leaves the dataset untouched", async () => {
  const before = hashTree(DATA);
  const runDir = join(tmp, "run");
  const log = createLogger({ quiet: true });
  const live = liveTensors();
  const r = await runPipeline(runDir, config, log);
  assert.deepEqual(r.steps, [1, 2]);
  for (const p of [
    "dataset.json",
    "timings.json",
    "steps/1/DONE.json",
    "steps/2/DONE.json",
    "pseudo-labels/DONE.json",
    "segmentation/DONE.json",
    "segmentation/model.json",
    "eval/val.json",
  ])
    assert.ok(existsSync(join(runDir, p)), p);
  // timings.json breaks the erasing stage down by step and part, within the stage's own time.
  const timings = JSON.parse(readFileSync(join(runDir, "timings.json"), "utf8"));
  const parts = timings["erasing parts"];
  for (const t of [1, 2])
    for (const part of ["train-cls", "cams", "mining"])
      assert.ok(parts[`step ${t} ${part}`] > 0, `step ${t} ${part}: ${JSON.stringify(parts)}`);
  const partsSum = Object.values(parts as Record<string, number>).reduce((a, b) => a + b, 0);
  assert.ok(partsSum <= timings.erasing, `parts ${partsSum} s within erasing ${timings.erasing} s`);
  // PSL's image-level scores come from step 1's classifier by default (segmentation.pslScoreStep).
  assert.ok(existsSync(join(runDir, "psl-scores-step1.json")), "psl-scores-step1.json");
  assert.ok(!existsSync(join(runDir, "psl-scores-step2.json")), "no scores from step 2's classifier");
  // The run records the device it resolved ("auto" is CPU on a machine without CUDA).
  const device = JSON.parse(readFileSync(join(runDir, "device.json"), "utf8"));
  assert.equal(device.setting, config.device);
  assert.ok(device.device === "cpu" || device.device.startsWith("cuda:"), device.device);
  assert.equal(device.amp, false);
  const ev = JSON.parse(readFileSync(join(runDir, "eval", "val.json"), "utf8"));
  assert.ok(ev.miou >= 0 && ev.miou <= 1 && ev.pixel_acc > 0, `mIoU ${ev.miou}`);
  assert.equal(ev.images, 15);
  assert.ok(ev.crf_result && ev.crf_result.miou >= 0);
  assert.equal(ev.mining.length, 2);
  assert.ok(
    ev.mining[1].recall >= ev.mining[0].recall,
    "the union of two steps recalls at least as much as one",
  );
  // Predictions at each image's original size, with the dataset palette.
  const id = readdirSync(join(runDir, "predictions", "val"))[0].replace(".png", "");
  const pred = await readIndexedPng(join(runDir, "predictions", "val", `${id}.png`));
  const size = await imageSize(join(DATA, "JPEGImages", `${id}.jpg`));
  assert.deepEqual([pred.width, pred.height], [size.width, size.height]);
  assert.deepEqual(Array.from(pred.palette!.subarray(3, 6)), [128, 0, 0], "VOC colour of class 1");
  // Pseudo-labels only hold classes from the image label, background, or ignore.
  const labels = JSON.parse(readFileSync(join(runDir, "dataset.json"), "utf8"));
  assert.equal(labels.classNames.length, 21);
  assert.equal(liveTensors(), live, "no tensor leaked across the whole pipeline");

  // Resume: nothing is recomputed.
  const stamp = statSync(join(runDir, "segmentation", "DONE.json")).mtimeMs;
  const t0 = performance.now();
  await runPipeline(runDir, config, log);
  assert.ok(performance.now() - t0 < 15_000, "resuming a finished run is quick");
  assert.equal(statSync(join(runDir, "segmentation", "DONE.json")).mtimeMs, stamp);

  // Library API and predict.
  const seg = await loadSegmenter(runDir);
  const res = await seg.segment(join(DATA, "JPEGImages", `${id}.jpg`), { crf: { iterations: 2 } });
  assert.deepEqual([res.width, res.height], [size.width, size.height]);
  assert.equal(res.labelMap.length, size.width * size.height);
  assert.equal(res.classes[0], "background");
  assert.ok(res.labelMap.every((v) => v < 21));
  const written = await predictFiles(seg, [join(DATA, "JPEGImages", `${id}.jpg`)], join(tmp, "pred"));
  assert.equal(written.length, 1);
  assert.ok(existsSync(join(tmp, "pred", `${id}_overlay.jpg`)));
  seg.dispose();

  assert.deepEqual(hashTree(DATA), before, "the dataset folder is byte-identical");
});

test("a finished erasing step is not reused under other mining settings", async () => {
  const runDir = join(tmp, "run");
  const other = applyOverrides(config, [["erasing.thresholdIncrease", "0.3"]]);
  await assert.rejects(
    runPipeline(runDir, other, createLogger({ quiet: true })),
    /steps[/\\]2: finished with other erasing settings \(thresholdIncrease: 0.15 there, 0.3 now\)/,
  );
});

test("pseudo-labels contain only the image's classes, background or ignore", async () => {
  const runDir = join(tmp, "run");
  const csv = readFileSync(join(DATA, "image_labels.csv"), "utf8").trim().split("\n").slice(1);
  const names = JSON.parse(readFileSync(join(runDir, "dataset.json"), "utf8")).classNames as string[];
  for (const line of csv.slice(0, 20)) {
    const [id, , , labels] = line.split(",");
    const allowed = new Set([0, 255, ...labels.split(" ").map((n) => names.indexOf(n))]);
    const pl = await readIndexedPng(join(runDir, "pseudo-labels", `${id}.png`));
    for (const v of new Set(pl.indices)) assert.ok(allowed.has(v), `${id}: class ${v} not in its label`);
  }
});
