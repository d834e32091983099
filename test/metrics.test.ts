import assert from "node:assert/strict";
import { test } from "node:test";
import {
  averagePrecision,
  ConfusionMatrix,
  meanAveragePrecision,
  segmentationReport,
} from "../src/eval/metrics.js";

const near = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} vs ${b}`);

test("confusion matrix, IoU, mIoU and pixel accuracy on a hand-computed case", () => {
  // gt:   0 0 1 1 2 255      pred: 0 1 1 1 0 2
  const cm = new ConfusionMatrix(4);
  cm.add(Uint8Array.of(0, 0, 1, 1, 2, 255), Uint8Array.of(0, 1, 1, 1, 0, 2));
  // class 0: tp 1, gt 2, pred 2 → IoU 1/3; class 1: tp 2, gt 2, pred 3 → 2/3; class 2: tp 0, gt 1, pred 0 → 0
  // class 3: absent everywhere → NaN, left out of the mean
  const iou = cm.iou();
  near(iou[0], 1 / 3);
  near(iou[1], 2 / 3);
  near(iou[2], 0);
  assert.ok(Number.isNaN(iou[3]));
  near(cm.meanIou(), (1 / 3 + 2 / 3 + 0) / 3);
  near(cm.meanIou([0, 1]), 0.5);
  near(cm.pixelAccuracy(), 3 / 5);
  const pr = cm.precisionRecall(1);
  near(pr.precision, 2 / 3);
  near(pr.recall, 1);
  const rep = segmentationReport(cm, ["background", "cat", "dog", "person"]);
  near(rep.per_class.cat!, 2 / 3);
  assert.equal(rep.per_class.person, null);
  assert.equal(rep.headline, null); // no headline classes configured
  const headed = segmentationReport(
    cm,
    ["background", "cat", "dog", "person"],
    ["Background", "dog", "person", "cow"],
  );
  assert.deepEqual(headed.headline!.classes, ["background", "dog", "person"]); // cow is not a class here
  near(headed.headline!.miou, (1 / 3 + 0) / 2); // person has no pixels (NaN) and is left out of the mean
  assert.throws(() => cm.add(Uint8Array.of(7), Uint8Array.of(0)), /label 7 is not a class/);
  assert.throws(() => cm.add(Uint8Array.of(0, 0), Uint8Array.of(0)), /gt has 2 pixels, prediction 1/);
});

test("average precision matches hand-computed values, ties included", () => {
  // ranks: 0.9(+) 0.8(-) 0.7(+) 0.1(-): AP = 1·0.5 + (2/3)·0.5
  near(averagePrecision([0.9, 0.8, 0.7, 0.1], [1, 0, 1, 0]), 0.5 + 1 / 3);
  near(averagePrecision([0.5, 0.5], [1, 0]), 0.5); // one tied threshold: precision 1/2 at recall 1
  assert.ok(Number.isNaN(averagePrecision([0.3], [0])));
  const scores = [Float32Array.of(0.9, 0.2), Float32Array.of(0.1, 0.8)];
  const targets = [Float32Array.of(1, 0), Float32Array.of(0, 1)];
  near(meanAveragePrecision(scores, targets), 1);
});

test("CAM seeds: the best θ is the best mean over eval.headlineClasses when set, else over all classes", async () => {
  const { mkdtemp, rm } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { CamStore } = await import("../src/stages/cam.js");
  const { evaluateCamSeeds } = await import("../src/stages/eval-cam.js");
  const { writeIndexedPng } = await import("../src/data/png.js");
  const { buildPalette } = await import("../src/data/classes.js");
  const dir = await mkdtemp(join(tmpdir(), "aepsl cam seeds-"));
  try {
    const store = new CamStore(dir);
    // 4×1 images. cat: gt bg cat cat bg, CAM .3 .9 .5 .1; dog: gt dog dog bg bg, CAM .9 .3 .2 .1.
    // θ 0.25: IoU bg 3/4, cat 2/3, dog 1 (all 0.806, bg+cat 0.708); θ 0.4: bg 4/5, cat 1, dog 1/2
    // (all 0.767, bg+cat 0.9).
    const images = [
      { id: "cat", label: 1, gt: [0, 1, 1, 0], cam: [0.3, 0.9, 0.5, 0.1] },
      { id: "dog", label: 2, gt: [2, 2, 0, 0], cam: [0.9, 0.3, 0.2, 0.1] },
    ];
    const items = [];
    for (const im of images) {
      const cams = Float32Array.from(im.cam);
      await store.put(im.id, { width: 4, height: 1, labels: [im.label], cams, scores: new Float32Array(2) });
      const maskPath = join(dir, `${im.id}-gt.png`);
      await writeIndexedPng(maskPath, Uint8Array.from(im.gt), 4, 1, buildPalette());
      items.push({ id: im.id, imagePath: "", maskPath, labels: [im.label] });
    }
    const names = ["background", "cat", "dog"];
    const all = await evaluateCamSeeds(store, items, names, { thresholds: [0.25, 0.4] });
    assert.equal(all.best.threshold, 0.25);
    near(all.best.miou, (3 / 4 + 2 / 3 + 1) / 3);
    assert.equal(all.best.headline, null);
    const headline = await evaluateCamSeeds(store, items, names, {
      thresholds: [0.25, 0.4],
      headlineClasses: ["background", "cat"],
    });
    assert.equal(headline.best.threshold, 0.4);
    near(headline.best.headline!.miou, (4 / 5 + 1) / 2);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
