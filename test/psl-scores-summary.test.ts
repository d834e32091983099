// bench:psl-scores' per-class summary of one step's image-level scores, on hand-made scores.
import assert from "node:assert/strict";
import { test } from "node:test";
import { summariseScores } from "../bench/psl-scores.js";

test("summariseScores: median of the labelled images, those below 0.5, absent images at ≥ 0.5", () => {
  // Class 2 ("cat") is score index 1. Labelled: a (0.9), b (0.3), c (0.4) → median 0.4, two below 0.5.
  // Without it: d (0.5, counts as ≥ 0.5), e (0.1) → half of them.
  const items = [
    { id: "a", labels: [2] },
    { id: "b", labels: [1, 2] },
    { id: "c", labels: [2, 3] },
    { id: "d", labels: [1] },
    { id: "e", labels: [3] },
  ];
  const scores = new Map<string, number[]>([
    ["a", [0.1, 0.9, 0]],
    ["b", [0.8, 0.3, 0]],
    ["c", [0.2, 0.4, 0.7]],
    ["d", [0.9, 0.5, 0]],
    ["e", [0.0, 0.1, 0.6]],
  ]);
  assert.deepEqual(summariseScores(items, scores, 2), {
    images: 3,
    median_labelled: 0.4,
    labelled_below_half: 2,
    absent_at_least_half: 0.5,
  });
  // A class no image carries: no median, every image counts as absent.
  assert.deepEqual(summariseScores(items, scores, 3).images, 2);
  const none = summariseScores([{ id: "a", labels: [2] }], scores, 1);
  assert.equal(none.median_labelled, null);
  assert.equal(none.absent_at_least_half, 0);
});

test("summariseScores names an image without scores", () => {
  assert.throws(() => summariseScores([{ id: "zz", labels: [1] }], new Map(), 1), /no score for image zz/);
});
