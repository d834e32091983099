// segmentation.pslScoreStep: which erasing step's classifier scores the images for PSL.
import assert from "node:assert/strict";
import { test } from "node:test";
import { pslScoreStepOf } from "../src/stages/train-seg.js";
import { defaultConfig, validateConfig } from "../src/util/config.js";

test("pslScoreStepOf picks the first or the last finished step, and needs one", () => {
  assert.equal(pslScoreStepOf([1, 2, 3], "first"), 1);
  assert.equal(pslScoreStepOf([1, 2, 3], "last"), 3);
  assert.equal(pslScoreStepOf([1], "last"), 1);
  assert.throws(() => pslScoreStepOf([], "first"), /finished erasing step/);
});

test("segmentation.pslScoreStep is validated", () => {
  assert.equal(defaultConfig().segmentation.pslScoreStep, "first");
  assert.equal(
    validateConfig({ segmentation: { pslScoreStep: "first" } }).segmentation.pslScoreStep,
    "first",
  );
  assert.throws(
    () => validateConfig({ segmentation: { pslScoreStep: "middle" } }),
    /segmentation\.pslScoreStep: expected one of "first", "last", got "middle"/,
  );
});
