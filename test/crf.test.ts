import assert from "node:assert/strict";
import { test } from "node:test";
import { argmaxLabels, crfLabels, denseCrf, type CrfImage } from "../src/postprocess/crf.js";

// Deterministic LCG so failures reproduce.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function accuracy(labels: Uint8Array, truth: Uint8Array): number {
  let ok = 0;
  for (let i = 0; i < truth.length; i++) if (labels[i] === truth[i]) ok++;
  return ok / truth.length;
}

/** Left half dark, right half bright (with a little sensor noise); truth: label 1 on the bright side. */
function edgeScene(width: number, height: number, edge: number) {
  const rand = rng(7);
  const data = new Uint8Array(width * height * 3);
  const truth = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const base = x < edge ? 40 : 210;
      for (let c = 0; c < 3; c++) data[i * 3 + c] = base + Math.round((rand() - 0.5) * 4);
      truth[i] = x < edge ? 0 : 1;
    }
  }
  return { image: { width, height, data } satisfies CrfImage, truth };
}

test("a blurry, shifted prediction snaps to the image edge", () => {
  const W = 64;
  const H = 32;
  const edge = 32;
  const { image, truth } = edgeScene(W, H, edge);
  // Smooth ramp across a band centred 4 px right of the true edge: columns edge..edge+3 lean the wrong way.
  const N = W * H;
  const probs = new Float32Array(2 * N);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const p1 = 1 / (1 + Math.exp(-(x + 0.5 - (edge + 4)) / 2));
      const q1 = Math.min(0.98, Math.max(0.02, p1));
      probs[y * W + x] = 1 - q1;
      probs[N + y * W + x] = q1;
    }
  }
  const before = accuracy(argmaxLabels(probs, 2, N), truth);
  const after = accuracy(crfLabels(image, probs, 2), truth);
  assert.ok(before < 0.95, `the synthetic prediction should start wrong near the edge (accuracy ${before})`);
  assert.ok(after > before, `CRF should improve accuracy: ${before} -> ${after}`);
  assert.ok(after >= 0.98, `accuracy after CRF ${after} < 0.98`);
});

test("salt-and-pepper label noise on a uniform image is removed", () => {
  const W = 48;
  const H = 40;
  const N = W * H;
  const C = 4;
  const rand = rng(11);
  const image: CrfImage = { width: W, height: H, data: new Uint8Array(N * 3).fill(128) };
  const truth = new Uint8Array(N); // all background
  const probs = new Float32Array(C * N);
  let flipped = 0;
  for (let i = 0; i < N; i++) {
    const noisy = rand() < 0.08;
    const label = noisy ? 1 + Math.floor(rand() * (C - 1)) : 0;
    if (noisy) flipped++;
    for (let c = 0; c < C; c++) probs[c * N + i] = c === label ? 0.7 : 0.1;
  }
  assert.ok(flipped > 50, "the fixture should contain noise");
  const before = accuracy(argmaxLabels(probs, C, N), truth);
  const after = accuracy(crfLabels(image, probs, C), truth);
  assert.ok(before < 0.95, `noisy input accuracy ${before}`);
  assert.ok(after >= 0.999, `accuracy after CRF ${after} < 0.999`);
});

test("outputs are distributions: finite, in [0, 1], summing to 1 per pixel", () => {
  const W = 37;
  const H = 23;
  const N = W * H;
  const C = 5;
  const rand = rng(3);
  const data = new Uint8Array(N * 3);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(rand() * 256);
  const probs = new Float32Array(C * N);
  for (let i = 0; i < N; i++) {
    let s = 0;
    for (let c = 0; c < C; c++) s += probs[c * N + i] = rand();
    for (let c = 0; c < C; c++) probs[c * N + i]! /= s;
  }
  const out = denseCrf({ width: W, height: H, data }, probs, C);
  assert.equal(out.length, C * N);
  for (let i = 0; i < N; i++) {
    let s = 0;
    for (let c = 0; c < C; c++) {
      const v = out[c * N + i]!;
      assert.ok(Number.isFinite(v) && v >= 0 && v <= 1, `pixel ${i} label ${c}: ${v}`);
      s += v;
    }
    assert.ok(Math.abs(s - 1) < 1e-5, `pixel ${i} sums to ${s}`);
  }
  // The label split across threads must not change the result.
  const single = denseCrf({ width: W, height: H, data }, probs, C, { threads: 1 });
  const triple = denseCrf({ width: W, height: H, data }, probs, C, { threads: 3 });
  for (let j = 0; j < out.length; j++)
    assert.ok(Math.abs(single[j]! - triple[j]!) < 1e-6, `value ${j} differs`);
});

test("0 iterations returns the input distribution", () => {
  const W = 16;
  const H = 9;
  const N = W * H;
  const C = 3;
  const rand = rng(5);
  const data = new Uint8Array(N * 3).map(() => Math.floor(rand() * 256));
  const probs = new Float32Array(C * N);
  for (let i = 0; i < N; i++) {
    const a = 0.05 + rand();
    const b = 0.05 + rand();
    const c = 0.05 + rand();
    const s = a + b + c;
    probs[i] = a / s;
    probs[N + i] = b / s;
    probs[2 * N + i] = c / s;
  }
  const out = denseCrf({ width: W, height: H, data }, probs, C, { iterations: 0 });
  for (let j = 0; j < probs.length; j++) assert.ok(Math.abs(out[j]! - probs[j]!) < 1e-6, `value ${j}`);
});

test("undefined options fall back to the defaults", () => {
  const { image } = edgeScene(20, 10, 10);
  const N = 200;
  const probs = new Float32Array(2 * N).fill(0.5);
  assert.deepEqual(denseCrf(image, probs, 2, { iterations: undefined }), denseCrf(image, probs, 2));
});

test("bad sizes and parameters throw clear errors", () => {
  const W = 8;
  const H = 4;
  const N = W * H;
  const image: CrfImage = { width: W, height: H, data: new Uint8Array(N * 3) };
  const probs = new Float32Array(2 * N).fill(0.5);
  assert.throws(
    () => denseCrf({ ...image, data: new Uint8Array(N * 3 - 1) }, probs, 2),
    /denseCrf: image has 95 bytes, expected width×height×3 = 8×4×3 = 96/,
  );
  assert.throws(
    () => denseCrf({ ...image, data: new Uint8Array(N * 4) }, probs, 2),
    /image has 128 bytes, expected/,
  );
  assert.throws(
    () => denseCrf(image, probs, 3),
    /denseCrf: probs has 64 values, expected numClasses×height×width = 3×4×8 = 96/,
  );
  assert.throws(() => denseCrf(image, new Float32Array(10), 2), /probs has 10 values/);
  assert.throws(() => denseCrf(image, probs, 0), /numClasses must be a positive integer/);
  assert.throws(() => denseCrf(image, probs, 1.5), /numClasses must be a positive integer/);
  assert.throws(() => denseCrf({ ...image, width: 0 }, probs, 2), /width must be a positive integer/);
  assert.throws(
    () => denseCrf({ ...image, height: Number.NaN }, probs, 2),
    /height must be a positive integer/,
  );
  assert.throws(
    () => denseCrf(image, new Float64Array(2 * N) as unknown as Float32Array, 2),
    (e: Error) => e instanceof TypeError && /probs must be a Float32Array/.test(e.message),
  );
  assert.throws(
    () => denseCrf({ ...image, data: new Float32Array(N * 3) as unknown as Uint8Array }, probs, 2),
    /image must be a Uint8Array/,
  );
  assert.throws(
    () => denseCrf(image, probs, 2, { thetaAlpha: 0 }),
    /options.thetaAlpha must be a finite number > 0/,
  );
  assert.throws(() => denseCrf(image, probs, 2, { thetaBeta: -1 }), /options.thetaBeta/);
  assert.throws(() => denseCrf(image, probs, 2, { iterations: -1 }), /options.iterations must be an integer/);
  assert.throws(
    () => denseCrf(image, probs, 2, { w1: Number.POSITIVE_INFINITY }),
    /options.w1 must be finite/,
  );
  // Colours of 200 over θβ = 1e-9 are beyond any lattice coordinate.
  const bright: CrfImage = { ...image, data: new Uint8Array(N * 3).fill(200) };
  assert.throws(() => denseCrf(bright, probs, 2, { thetaBeta: 1e-9 }), /kernel width too small/);
  assert.throws(() => crfLabels(image, probs, 300), /300 classes do not fit/);
  // The process is still healthy after all of the above.
  assert.equal(denseCrf(image, probs, 2).length, 2 * N);
});
