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
  near(rep.miou7, (1 / 3 + 2 / 3 + 0) / 3); // background, cat, dog present; person NaN
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
