import assert from "node:assert/strict";
import { test } from "node:test";
import {
  accumulateErase,
  camBackground,
  classesToMine,
  mineRegions,
  selectBands,
  synthesizePseudoLabel,
  thresholdAtStep,
  topPercentThreshold,
  unionRegions,
} from "../src/stages/regions.js";
import { ConfusionMatrix } from "../src/eval/metrics.js";
import { addPseudoLabel } from "../src/stages/pseudo-labels.js";

// 1×4 image, two labelled classes (8 = cat, 12 = dog): band k holds class labels[k]'s CAM.
const cams = Float32Array.of(
  0.9,
  0.6,
  0.2,
  0.0, // cat
  0.1,
  0.7,
  0.8,
  0.3, // dog
);

test("mining takes CAM ≥ τ per class and resolves overlaps by the higher CAM or ignore", () => {
  const hi = mineRegions(cams, [8, 12], 4, { threshold: 0.5, overlap: "higher-cam" });
  assert.deepEqual(hi.cls, Uint8Array.of(8, 12, 12, 0));
  assert.deepEqual(
    Array.from(hi.value, (v) => +v.toFixed(2)),
    [0.9, 0.7, 0.8, 0],
  );
  const ig = mineRegions(cams, [8, 12], 4, { threshold: 0.5, overlap: "ignore" });
  assert.deepEqual(ig.cls, Uint8Array.of(8, 255, 12, 0));
  // Already-erased pixels are not mined again.
  const er = mineRegions(cams, [8, 12], 4, {
    threshold: 0.5,
    overlap: "higher-cam",
    erased: Uint8Array.of(1, 0, 0, 0),
  });
  assert.deepEqual(er.cls, Uint8Array.of(0, 12, 12, 0));
  // Top 25% of each class: cat → pixel 0, dog → pixel 2.
  const top = mineRegions(cams, [8, 12], 4, { threshold: 0, topPercent: 25, overlap: "higher-cam" });
  assert.deepEqual(top.cls, Uint8Array.of(8, 0, 12, 0));
  assert.equal(topPercentThreshold(Float32Array.of(0.1, 0.4, 0.3, 0.2), 50), Math.fround(0.3));
});

test("later steps: τ rises per step (capped), and only classes still recognised are mined", () => {
  assert.equal(thresholdAtStep(0.5, 0.15, 1), 0.5);
  assert.ok(Math.abs(thresholdAtStep(0.5, 0.15, 3) - 0.8) < 1e-12);
  assert.equal(thresholdAtStep(0.5, 0.15, 9), 0.95);
  assert.equal(thresholdAtStep(0.5, 0, 3), 0.5);
  // Scores are indexed c − 1: cat (8) scores 0.9, dog (12) scores 0.4 on the erased image.
  const scores = new Float32Array(20);
  scores[7] = 0.9;
  scores[11] = 0.4;
  assert.deepEqual(classesToMine([8, 12], scores, 1, 0.8), [8, 12], "step 1 mines every labelled class");
  assert.deepEqual(classesToMine([8, 12], scores, 2, 0.8), [8]);
  assert.deepEqual(classesToMine([8, 12], scores, 2, 0), [8, 12], "minScore 0 turns the gate off");
  // The dog's band alone, then mined: only its pixels ≥ τ.
  const dog = selectBands(cams, [8, 12], [12], 4);
  assert.deepEqual(
    Array.from(dog, (v) => +v.toFixed(2)),
    [0.1, 0.7, 0.8, 0.3],
  );
  assert.deepEqual(
    mineRegions(dog, [12], 4, { threshold: 0.75, overlap: "higher-cam" }).cls,
    Uint8Array.of(0, 0, 12, 0),
  );
  assert.equal(selectBands(cams, [8, 12], [], 4).length, 0);
  assert.throws(() => selectBands(cams, [8, 12], [3], 4), /class 3 is not among/);
});

test("pseudo-label scoring counts only labelled pixels", () => {
  // gt: bg, cat, cat, dog; label: bg, cat, ignore, cat → 3 labelled pixels, one of them wrong.
  const cm = new ConfusionMatrix(21);
  const labelled = addPseudoLabel(cm, Uint8Array.of(0, 8, 8, 12), Uint8Array.of(0, 8, 255, 8));
  assert.equal(labelled, 3);
  const iou = cm.iou();
  assert.equal(iou[0], 1);
  assert.equal(iou[8], 1 / 2, "cat: 1 hit, 1 false positive (the dog pixel)");
  assert.equal(iou[12], 0, "dog: missed");
});

test("erase masks accumulate across steps", () => {
  const e1 = accumulateErase(null, Uint8Array.of(8, 0, 0, 0));
  const e2 = accumulateErase(e1, Uint8Array.of(0, 12, 0, 255));
  assert.deepEqual(e2, Uint8Array.of(1, 1, 0, 1));
  assert.deepEqual(e1, Uint8Array.of(1, 0, 0, 0), "the previous mask is not modified");
});

test("union over steps keeps every claim; conflicts go by the higher CAM (or ignore)", () => {
  const s1 = { cls: Uint8Array.of(8, 0, 12, 0), value: Float32Array.of(0.9, 0, 0.6, 0) };
  const s2 = { cls: Uint8Array.of(0, 8, 8, 0), value: Float32Array.of(0, 0.7, 0.8, 0) };
  assert.deepEqual(unionRegions([s1, s2], "higher-cam").cls, Uint8Array.of(8, 8, 8, 0));
  assert.deepEqual(unionRegions([s1, s2], "ignore").cls, Uint8Array.of(8, 8, 255, 0));
});

test("pseudo-labels: region class, background where confident, ignore elsewhere", () => {
  const regions = Uint8Array.of(8, 0, 0, 12, 0);
  const background = camBackground(Float32Array.of(0.9, 0.05, 0.5, 0.8, 0.1));
  assert.deepEqual(
    synthesizePseudoLabel({ regions, background, backgroundConfidence: 0.85 }),
    Uint8Array.of(8, 0, 255, 12, 0),
  );
  // An image without labels: no regions, background only where confident.
  assert.deepEqual(
    synthesizePseudoLabel({
      regions: new Uint8Array(3),
      background: Float32Array.of(0.9, 0.2, 1),
      backgroundConfidence: 0.8,
    }),
    Uint8Array.of(0, 255, 0),
  );
  assert.deepEqual(
    synthesizePseudoLabel({ regions: Uint8Array.of(3, 0), background: null, backgroundConfidence: 0.5 }),
    Uint8Array.of(3, 255),
  );
});

test("erased regions stay aligned with their mask under crop, padding and flip", async () => {
  const { augment, mulberry32 } = await import("../src/data/augment.js");
  const { eraseRegions } = await import("../src/stages/tensorize.js");
  const w = 23;
  const h = 17;
  const rng = mulberry32(11);
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = 1 + Math.floor(rng() * 200); // never the fill colour
  const mask = new Uint8Array(w * h);
  for (let y = 3; y < 11; y++) for (let x = 5; x < 16; x++) mask[y * w + x] = 1;
  const fill = [250, 251, 252] as const;
  const erased = eraseRegions({ width: w, height: h, data }, mask, fill);
  for (let trial = 0; trial < 20; trial++) {
    const out = augment(
      { image: erased, labels: [{ width: w, height: h, data: mask }] },
      { scale: [1, 1], crop: 19, fill: [0, 0, 0], labelFill: 255 },
      mulberry32(100 + trial),
    );
    const lab = out.labels![0].data;
    const img = out.image.data;
    for (let i = 0; i < lab.length; i++) {
      const isFill = img[i * 3] === 250 && img[i * 3 + 1] === 251 && img[i * 3 + 2] === 252;
      if (lab[i] === 1) assert.ok(isFill, `trial ${trial}: erased pixel ${i} lost its fill`);
      else assert.ok(!isFill, `trial ${trial}: fill leaked to pixel ${i} (label ${lab[i]})`);
    }
  }
});

test("saliency gating drops a later step's mined pixels where the image is not salient", async () => {
  const { gateBySaliency } = await import("../src/stages/regions.js");
  const r = { cls: Uint8Array.of(8, 8, 12, 0), value: Float32Array.of(0.9, 0.7, 0.6, 0) };
  const g = gateBySaliency(r, Float32Array.of(0.9, 0.2, 0.5, 1), 0.5);
  assert.deepEqual(g.cls, Uint8Array.of(8, 0, 12, 0));
  assert.deepEqual(
    Array.from(g.value, (v) => +v.toFixed(2)),
    [0.9, 0, 0.6, 0],
  );
  assert.deepEqual(r.cls, Uint8Array.of(8, 8, 12, 0), "the input is not modified");
});

test("maxOverBands: each pixel's strongest CAM over the bands, and whole bands only", async () => {
  const { maxOverBands } = await import("../src/stages/regions.js");
  // Two bands of three pixels: max(0.1, 0.7), max(0.9, 0.2), max(0, 0.3).
  assert.deepEqual(
    Array.from(maxOverBands(Float32Array.of(0.1, 0.9, 0, 0.7, 0.2, 0.3), 3), (v) => +v.toFixed(2)),
    [0.7, 0.9, 0.3],
  );
  assert.deepEqual(maxOverBands(new Float32Array(0), 2), new Float32Array(2), "no bands: zeros");
  assert.throws(() => maxOverBands(new Float32Array(5), 3), /not whole bands of 3 pixels/);
});
