// data.trainExclude: the benchmark protocol trains on train_aug minus train.txt; the CLI expresses it
// by leaving one split's ids out of the training split.
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { packageRoot } from "../src/engine/native.js";
import { prepareData } from "../src/pipeline.js";
import { applyOverrides, defaultConfig } from "../src/util/config.js";
import { createLogger } from "../src/util/log.js";

const tmp = mkdtempSync(join(tmpdir(), "aepsl-exclude-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const data = join(tmp, "data");
cpSync(join(packageRoot, "samples", "voc-mini"), data, { recursive: true });
const splits = join(data, "ImageSets", "Segmentation");
const ids = (name: string) =>
  readFileSync(join(splits, `${name}.txt`), "utf8")
    .split(/\s+/)
    .filter(Boolean);
writeFileSync(join(splits, "all.txt"), [...ids("train"), ...ids("val")].join("\n") + "\n");

const log = createLogger({ quiet: true });
const configWith = (exclude: string) =>
  applyOverrides(defaultConfig(), [
    ["data.dir", data],
    ["data.trainSplit", "all"],
    ["data.trainExclude", exclude],
    ["data.evalSplit", "val"],
  ]);

test("training images are the train split minus the excluded split's ids", async () => {
  const run = join(tmp, "run");
  const prepared = await prepareData(run, configWith("val"), log);
  const val = new Set(ids("val"));
  assert.equal(prepared.train.length, ids("train").length);
  assert.ok(prepared.train.every((it) => !val.has(it.id)));
  assert.equal(prepared.evaluation.length, val.size);
  const info = JSON.parse(readFileSync(join(run, "dataset.json"), "utf8"));
  assert.equal(info.trainExclude, "val");
  assert.equal(info.trainImages, ids("train").length);
});

test("a missing exclude split is an error naming its file, not 'exclude nothing'", async () => {
  await assert.rejects(prepareData(join(tmp, "run2"), configWith("nosuch"), log), /nosuch\.txt.*not found/);
});
