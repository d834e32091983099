// bench:erasing-ceiling's oracle: a perfect extra mining step fills ignored pixels with their true class.
import assert from "node:assert/strict";
import { test } from "node:test";
import { oracleFill } from "../bench/erasing-ceiling.js";

const I = 255;
// Pixels: labelled dog, ignored (truth dog, salient), ignored (truth person, not salient), ignored (truth
// background), ignored (truth a class not tagged), ignored (truth void 255), background (truth dog).
const label = Uint8Array.from([12, I, I, I, I, I, 0]);
const gt = Uint8Array.from([12, 12, 15, 0, 3, I, 12]);
const sal = Float32Array.from([0.9, 0.8, 0.1, 0.9, 0.9, 0.9, 0.05]);

test("oracleFill: ignored pixels of a tagged class take it; background, untagged, void and labelled pixels stay", () => {
  const out = oracleFill(label, gt, sal, [12, 15], { multiClassOnly: true, minSaliency: 0 });
  assert.deepEqual([...out], [12, 12, 15, I, I, I, 0]);
  assert.deepEqual([...label], [12, I, I, I, I, I, 0], "the input label is not changed");
});

test("oracleFill: the saliency floor and the multi-class scope", () => {
  const gated = oracleFill(label, gt, sal, [12, 15], { multiClassOnly: true, minSaliency: 0.5 });
  assert.deepEqual([...gated], [12, 12, I, I, I, I, 0]);
  const single = oracleFill(label, gt, sal, [12], { multiClassOnly: true, minSaliency: 0 });
  assert.deepEqual([...single], [...label], "an image tagged with one class is out of a multi-class scope");
  const anyImage = oracleFill(label, gt, sal, [12], { multiClassOnly: false, minSaliency: 0 });
  assert.deepEqual([...anyImage], [12, 12, I, I, I, I, 0], "person is not tagged here");
});

test("oracleFill: sizes that differ are an error", () => {
  assert.throws(
    () => oracleFill(label, gt.subarray(1), sal, [12], { multiClassOnly: false, minSaliency: 0 }),
    /pixels differ/,
  );
});
