// PSL's online label and class weights, hand-computed: argmax over probs × per-image class weights.
import assert from "node:assert/strict";
import { test } from "node:test";
import { tensor } from "../src/engine/ops.js";
import { tidy } from "../src/engine/tensor.js";
import { pslClassWeights, pslNeedsScores, pslOnlineLabel } from "../src/stages/train-seg.js";
import { defaultConfig, validateConfig } from "../src/util/config.js";

test("pslClassWeights: background 1, labelled classes their score or 1, the rest prohibited", () => {
  // 4 classes (background + 3); the image is tagged with classes 1 and 3.
  assert.deepEqual([...pslClassWeights([1, 3], [0.875, 0.75, 0.25], 4)], [1, 0.875, 0, 0.25]);
  assert.deepEqual([...pslClassWeights([1, 3], null, 4)], [1, 1, 0, 1]);
});

test("pslOnlineLabel: scores decide between background and a low-scored class; minConfidence ignores", () => {
  // One image, 4 classes, three pixels (1 × 3). Pixel 0: class 3 at 0.5 vs background 0.3;
  // pixel 1: prohibited class 2 at 0.7; pixel 2: class 1 at 0.4, class 3 at 0.35.
  const probs = [
    [0.3, 0.1, 0.15],
    [0.1, 0.1, 0.4],
    [0.1, 0.7, 0.1],
    [0.5, 0.1, 0.35],
  ].flat();
  const run = (weights: Float32Array, minConfidence = 0): number[] =>
    tidy(() => {
      const p = tensor(Float32Array.from(probs), [1, 4, 1, 3]);
      const w = tensor(weights, [1, 4]);
      const label = pslOnlineLabel(p, w, minConfidence);
      // A cross-entropy target: int64 whatever the threshold (a float label crashed training).
      assert.equal(label.dtype, "int64");
      assert.deepEqual(label.shape, [1, 1, 3]);
      return [...(label.toArray() as BigInt64Array)].map(Number);
    });
  // Scores [0.875, ·, 0.25]: pixel 0 → 0.3 (bg) vs 0.125 (class 3): background; pixel 1 → bg 0.1, class 1
  // 0.0875, class 3 0.025: background; pixel 2 → class 1 0.35 vs bg 0.15 and 0.0875: class 1.
  assert.deepEqual(run(pslClassWeights([1, 3], [0.875, 0.75, 0.25], 4)), [0, 0, 1]);
  // Labels only: pixel 0 → class 3 (0.5); pixel 1 → background 0.1 vs class 1 0.1 vs class 3 0.1: first
  // maximum is not asserted, so pixel 1 is checked with a threshold below; pixel 2 → class 1 (0.4).
  const labels = run(pslClassWeights([1, 3], null, 4));
  assert.equal(labels[0], 3);
  assert.equal(labels[2], 1);
  // minConfidence 0.35: pixel 1's best weighted probability (0.1) is below it → ignored (255).
  assert.deepEqual(run(pslClassWeights([1, 3], null, 4), 0.35), [3, 255, 1]);
});

test("segmentation.pslClassWeights: default scores, validated, and only PSL with scores needs the classifier", () => {
  const seg = { ...defaultConfig().segmentation, psl: true };
  assert.equal(seg.pslClassWeights, "scores");
  assert.equal(pslNeedsScores(seg), true);
  assert.equal(pslNeedsScores({ ...seg, pslClassWeights: "labels" }), false);
  assert.equal(pslNeedsScores({ ...seg, psl: false }), false);
  assert.equal(
    validateConfig({ segmentation: { pslClassWeights: "labels" } }).segmentation.pslClassWeights,
    "labels",
  );
  assert.throws(
    () => validateConfig({ segmentation: { pslClassWeights: "ones" } }),
    /segmentation\.pslClassWeights: expected one of "scores", "labels", got "ones"/,
  );
});
