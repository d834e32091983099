// pseudoLabels.background's per-image cue, singleClassSaliency and crfFill. crfFill: a dense CRF over the photo carries the pseudo-label into its ignored gaps, along
// colour edges, only with the image's own classes, and never changes a labelled pixel.
import assert from "node:assert/strict";
import { test } from "node:test";
import { IGNORE_INDEX, type RgbImage } from "../src/data/types.js";
import {
  backgroundConfidence,
  backgroundCueFor,
  crfFillPseudoLabel,
  fillSalientWithClass,
  pseudoLabelFromSteps,
} from "../src/stages/pseudo-labels.js";

const W = 48;
const H = 24;
const CAT = 8;

/** Left half reddish (the cat), right half bluish (background), with a little texture. */
function photo(): RgbImage {
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 3;
      const t = (x * 7 + y * 3) % 9;
      data.set(x < W / 2 ? [200 + t, 40, 40] : [40, 40, 200 + t], i);
    }
  return { width: W, height: H, data };
}

/** A few labelled columns in each half, the rest ignored. */
function sparseLabel(): Uint8Array {
  const label = new Uint8Array(W * H).fill(IGNORE_INDEX);
  for (let y = 0; y < H; y++) {
    for (let x = 4; x < 8; x++) label[y * W + x] = CAT;
    for (let x = 38; x < 42; x++) label[y * W + x] = 0;
  }
  return label;
}

test("fills the gaps along colour edges, keeps labelled pixels, uses only the image's classes", () => {
  const label = sparseLabel();
  const out = crfFillPseudoLabel(photo(), label, [CAT], 0.6);
  let leftCat = 0;
  let rightBg = 0;
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      if (label[i] !== IGNORE_INDEX) assert.equal(out[i], label[i], "a labelled pixel changed");
      assert.ok(
        out[i] === CAT || out[i] === 0 || out[i] === IGNORE_INDEX,
        `class ${out[i]} is not the image's`,
      );
      if (x < W / 2) {
        assert.notEqual(out[i], 0, `background leaked into the cat at ${x},${y}`);
        if (out[i] === CAT) leftCat++;
      } else {
        assert.notEqual(out[i], CAT, `the cat leaked into the background at ${x},${y}`);
        if (out[i] === 0) rightBg++;
      }
    }
  const half = (W / 2) * H;
  assert.ok(leftCat > 0.9 * half, `cat filled on ${leftCat} of ${half} pixels`);
  assert.ok(rightBg > 0.9 * half, `background filled on ${rightBg} of ${half} pixels`);
});

test("a stricter confidence fills no more pixels; background-only images become background", () => {
  const img = photo();
  const label = sparseLabel();
  const filled = (c: number) =>
    crfFillPseudoLabel(img, label, [CAT], c).filter((v) => v !== IGNORE_INDEX).length;
  const labelled = label.filter((v) => v !== IGNORE_INDEX).length;
  assert.ok(filled(0.99999) <= filled(0.9));
  assert.ok(filled(0.9) <= filled(0.6));
  assert.ok(filled(0.6) > labelled);
  const none = crfFillPseudoLabel(img, new Uint8Array(W * H).fill(IGNORE_INDEX), [], 0.9);
  assert.ok(none.every((v) => v === 0));
});

test("single-class fill: ignored salient pixels take the class, labelled and non-salient ones stay", () => {
  const label = Uint8Array.from([IGNORE_INDEX, IGNORE_INDEX, 0, CAT, IGNORE_INDEX]);
  const saliency = Float32Array.from([0.95, 0.5, 0.99, 0.1, 0.91]);
  fillSalientWithClass(label, saliency, CAT, 0.9);
  assert.deepEqual(Array.from(label), [CAT, IGNORE_INDEX, 0, CAT, CAT]);
  assert.throws(
    () => fillSalientWithClass(label, new Float32Array(3), CAT, 0.9),
    /saliency map has 3 pixels/,
  );
});

test("both-multiclass: saliency alone in single-class images, saliency and low CAM in multi-class ones", () => {
  const DOG = 12;
  const PERSON = 15;
  assert.equal(backgroundCueFor("both-multiclass", [DOG]), "saliency");
  assert.equal(backgroundCueFor("both-multiclass", [0, DOG]), "saliency"); // background is no class here
  assert.equal(backgroundCueFor("both-multiclass", [DOG, PERSON]), "both");
  for (const cue of ["cam", "saliency", "both"] as const)
    assert.equal(backgroundCueFor(cue, [DOG, PERSON]), cue);
  // A person beside a dog: not salient (0.1) but high CAM (0.7) is no longer sure background.
  const maxCam = Float32Array.from([0.7, 0.05]);
  const sal = Float32Array.from([0.1, 0.1]);
  const solo = backgroundConfidence(maxCam, sal, backgroundCueFor("both-multiclass", [DOG]), "a.jpg");
  const pair = backgroundConfidence(maxCam, sal, backgroundCueFor("both-multiclass", [DOG, PERSON]), "a.jpg");
  assert.deepEqual(
    Array.from(solo, (v) => +v.toFixed(4)),
    [0.9, 0.9],
  );
  assert.deepEqual(
    Array.from(pair, (v) => +v.toFixed(4)),
    [0.3, 0.9],
  );
  assert.throws(
    () => backgroundConfidence(maxCam, new Float32Array(3), "both", "a.jpg"),
    /a\.jpg: saliency map/,
  );
});

test("pseudoLabelFromSteps: step gates, union over steps, saliency background and single-class fill", async () => {
  const n = 6;
  const DOG = 12;
  // Pixels 0–1 mined at step 1, 2–3 at step 2; saliency falls from left to right.
  const sal = Float32Array.from([0.9, 0.6, 0.9, 0.6, 0.3, 0.05]);
  const step = (cls: number[]) => ({
    cls: Uint8Array.from(cls),
    value: Float32Array.from(cls, (c) => (c ? 0.7 : 0)),
    maxCam: Float32Array.from(cls, (c) => (c ? 0.7 : 0.1)),
  });
  const perStep = [step([CAT, CAT, 0, 0, 0, 0]), step([0, 0, CAT, CAT, 0, 0])];
  const config = {
    background: "saliency" as const,
    bgThreshold: 0.2,
    camBgThreshold: null,
    regionSaliency: 0.5,
    laterStepSaliency: 0.8,
    crfFill: 0,
    singleClassSaliency: 0,
  };
  const item = { id: "x", imagePath: "x.jpg", labels: [CAT, DOG] };
  const size = { width: n, height: 1 };
  const label = await pseudoLabelFromSteps(item, perStep, sal, { overlap: "higher-cam", config }, size);
  // Step 2's pixel at saliency 0.6 fails its 0.8 gate and stays ignored; saliency 0.05 < 0.2 is background.
  assert.deepEqual([...label], [CAT, CAT, CAT, IGNORE_INDEX, IGNORE_INDEX, 0]);
  // Tagged with the cat alone, ignored pixels at saliency ≥ 0.5 take the class.
  const single = await pseudoLabelFromSteps(
    { ...item, labels: [CAT] },
    perStep,
    sal,
    { overlap: "higher-cam", config: { ...config, singleClassSaliency: 0.5 } },
    size,
  );
  assert.deepEqual([...single], [CAT, CAT, CAT, CAT, IGNORE_INDEX, 0]);
  await assert.rejects(
    pseudoLabelFromSteps(item, perStep, null, { overlap: "higher-cam", config }, size),
    /x\.jpg: .*need a saliency map/,
  );
});

test("camBgThreshold: low saliency is background where the strongest CAM is below it, not only below bgThreshold", async () => {
  // All pixels unsalient (0.05); the strongest CAM 0.1, 0.3, 0.5; nothing mined.
  const maxCam = Float32Array.from([0.1, 0.3, 0.5]);
  const perStep = [{ cls: new Uint8Array(3), value: new Float32Array(3), maxCam }];
  const sal = new Float32Array(3).fill(0.05);
  const config = {
    background: "both" as const,
    bgThreshold: 0.2,
    camBgThreshold: null as number | null,
    regionSaliency: 0,
    laterStepSaliency: 0,
    crfFill: 0,
    singleClassSaliency: 0,
  };
  const item = { id: "y", imagePath: "y.jpg", labels: [CAT, 15] };
  const size = { width: 3, height: 1 };
  const label = (camBgThreshold: number | null, background: "both" | "cam" = "both") =>
    pseudoLabelFromSteps(
      item,
      perStep,
      sal,
      { overlap: "higher-cam", config: { ...config, camBgThreshold, background } },
      size,
    );
  assert.deepEqual([...(await label(null))], [0, IGNORE_INDEX, IGNORE_INDEX]);
  assert.deepEqual([...(await label(0.4))], [0, 0, IGNORE_INDEX]);
  assert.deepEqual([...(await label(0.4, "cam"))], [0, 0, IGNORE_INDEX]);
  // The saliency part still uses bgThreshold.
  const salient = Float32Array.from([0.3, 0.3, 0.3]);
  const looser = await pseudoLabelFromSteps(
    item,
    perStep,
    salient,
    { overlap: "higher-cam", config: { ...config, camBgThreshold: 0.9 } },
    size,
  );
  assert.deepEqual([...looser], [IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX]);
});
