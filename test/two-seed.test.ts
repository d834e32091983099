// bench:quality's two-seed fields: means over seeds 0 and 1, only for the same setup.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setupDifferences, twoSeedFields, type SeedResult } from "../bench/two-seed.js";

const setup = {
  segmentation: { epochs: 2, psl: false, pslScoreStep: "first" },
  pseudo_labels: { background: "saliency", bgThreshold: 0.2 },
  saliency: { detector: "u2netp", inputSize: 224 },
  erasing_steps: [1, 2, 3],
  erasing: [{ threshold: 0.5 }, { threshold: 0.5, minScore: 0.8 }, { threshold: 0.5, minScore: 0.8 }],
  psl_score_step: 1,
};

test("twoSeedFields: hand-computed means of AE + PSL + CRF ÷ fully supervised + CRF, AE-3 − AE-1 and PSL's gain", () => {
  const seed0: SeedResult = {
    ...setup,
    rows: [
      { name: "ae-1", miou7: 0.5 },
      { name: "ae-3", miou7: 0.54 },
      { name: "ae-3-crf", miou7: 0.53 },
      { name: "ae-psl", miou7: 0.52 },
      { name: "ae-psl-crf", miou7: 0.56 },
      { name: "fully-supervised-crf", miou7: 0.65 },
    ],
  };
  const seed1: SeedResult = {
    ...setup,
    rows: [
      { name: "ae-1", miou7: 0.48 },
      { name: "ae-3", miou7: 0.5 },
      { name: "ae-3-crf", miou7: 0.51 },
      { name: "ae-psl", miou7: 0.5 },
      { name: "ae-psl-crf", miou7: 0.54 },
      { name: "fully-supervised-crf", miou7: 0.67 },
    ],
  };
  const f = twoSeedFields(seed0, seed1);
  // (0.56 + 0.54) / 2 = 0.55 over (0.65 + 0.67) / 2 = 0.66; (0.54 + 0.50) / 2 − (0.50 + 0.48) / 2 = 0.03.
  assert.ok(Math.abs(f.ws_fs_ratio_crf! - 0.55 / 0.66) < 1e-12);
  assert.ok(Math.abs(f.ae3_minus_ae1! - 0.03) < 1e-12);
  // PSL's gain on the same pseudo-labels: (0.52 + 0.50) / 2 − 0.52 = −0.01; with CRF 0.55 − (0.53 + 0.51) / 2 = 0.03.
  assert.ok(Math.abs(f.psl_gain! - -0.01) < 1e-12);
  assert.ok(Math.abs(f.psl_gain_crf! - 0.03) < 1e-12);
  // Without PSL: (0.53 + 0.51) / 2 = 0.52 over 0.66.
  assert.ok(Math.abs(f.ae3_fs_ratio_crf! - 0.52 / 0.66) < 1e-12);
  // A row one seed lacks leaves its field out.
  const partial = twoSeedFields(seed0, { ...seed1, rows: seed1.rows.filter((r) => r.name !== "ae-3") });
  assert.equal(partial.ae3_minus_ae1, undefined);
  assert.equal(partial.psl_gain, undefined);
  assert.ok(partial.psl_gain_crf !== undefined);
  assert.ok(partial.ws_fs_ratio_crf !== undefined);
});

test("twoSeedFields: two seeds of different setups are never averaged; key order does not count", () => {
  const rows = [
    { name: "ae-psl-crf", miou7: 0.5 },
    { name: "fully-supervised-crf", miou7: 0.6 },
  ];
  const a: SeedResult = { ...setup, rows };
  // Same setup written with its keys in another order.
  const reordered: SeedResult = {
    rows,
    psl_score_step: 1,
    erasing: setup.erasing,
    erasing_steps: [1, 2, 3],
    saliency: { inputSize: 224, detector: "u2netp" },
    pseudo_labels: { bgThreshold: 0.2, background: "saliency" },
    segmentation: { pslScoreStep: "first", psl: false, epochs: 2 },
  };
  assert.deepEqual(setupDifferences(a, reordered), []);
  assert.ok(twoSeedFields(a, reordered).ws_fs_ratio_crf !== undefined);
  // A seed measured before the PSL score step and the mining settings were recorded, with another default.
  const older: SeedResult = {
    rows,
    segmentation: { epochs: 2, psl: false },
    pseudo_labels: setup.pseudo_labels,
    saliency: setup.saliency,
    erasing_steps: [1, 2, 3],
  };
  assert.deepEqual(setupDifferences(a, older), ["segmentation", "erasing", "psl_score_step"]);
  assert.deepEqual(twoSeedFields(a, older), {});
  // Other mining settings at step 2 alone are enough.
  const otherRule = { ...setup, rows, erasing: [setup.erasing[0], { threshold: 0.5 }, setup.erasing[2]] };
  assert.deepEqual(setupDifferences(a, otherRule), ["erasing"]);
});
