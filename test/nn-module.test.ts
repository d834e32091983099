import assert from "node:assert/strict";
import { test } from "node:test";
import { ones, tensor, zeros } from "../src/engine/ops.js";
import { tidy } from "../src/engine/tensor.js";
import { BatchNorm2d, Conv2d, Linear, ReLU, Sequential, samePadding } from "../src/nn/layers.js";

test("named parameters and buffers follow torch naming", () => {
  const net = new Sequential(
    new Conv2d(3, 4, 3, { padding: 1 }),
    new BatchNorm2d(4),
    new ReLU(),
    new Conv2d(4, 2, 1, { bias: false }),
  );
  assert.deepEqual(
    net.namedParameters().map(([k]) => k),
    ["0.weight", "0.bias", "1.weight", "1.bias", "3.weight"],
  );
  assert.deepEqual(
    net.namedBuffers().map(([k]) => k),
    ["1.running_mean", "1.running_var"],
  );
  assert.deepEqual(net.parameters()[0].shape, [4, 3, 3, 3]);
  assert.ok(net.parameters().every((p) => p.requiresGrad));
  tidy(() => assert.deepEqual(net.forward(zeros([2, 3, 5, 5])).shape, [2, 2, 5, 5]));
  net.dispose();
});

test("loadStateDict copies values and reports every bad key", () => {
  const net = new Sequential(new Linear(3, 2), new ReLU(), new Linear(2, 1));
  const state = new Map([
    ["0.weight", ones([2, 3])],
    ["0.bias", zeros([2])],
    ["2.weight", ones([1, 2])],
    ["2.bias", tensor([0.5])],
  ]);
  net.loadStateDict(state);
  tidy(() => assert.equal(net.forward(ones([1, 3])).item(), 6.5));
  const bad = new Map([
    ["0.weight", ones([3, 3])],
    ["0.bias", zeros([2])],
    ["9.weight", ones([1])],
  ]);
  assert.throws(
    () => net.loadStateDict(bad),
    (e: Error) =>
      /shape mismatch 0\.weight: expected \[2,3\] but got \[3,3\]/.test(e.message) &&
      /missing key 2\.weight/.test(e.message) &&
      /missing key 2\.bias/.test(e.message) &&
      /unexpected key 9\.weight/.test(e.message),
  );
  const partial = new Map([["0.bias", ones([2])]]);
  const r = net.loadStateDict(partial, { strict: false });
  assert.deepEqual(r.missing, ["0.weight", "2.weight", "2.bias"]);
  for (const t of [...state.values(), ...bad.values(), ...partial.values()]) t.dispose();
  net.dispose();
});

test("train/eval switches batch norm between batch and running statistics", () => {
  const bn = new BatchNorm2d(1);
  const x = tensor([1, 2, 3, 4], [4, 1, 1, 1]);
  tidy(() => {
    const y = bn.forward(x).toArray() as Float32Array;
    assert.ok(Math.abs(y[0] + 1.3416) < 1e-3, "normalised with batch mean 2.5, var 1.25");
    // running mean moved 10% towards 2.5
    assert.ok(Math.abs((bn.runningMean.toArray() as Float32Array)[0] - 0.25) < 1e-6);
  });
  bn.eval();
  assert.equal(bn.training, false);
  tidy(() => {
    const y = bn.forward(x).toArray() as Float32Array;
    const rv = 0.9 + 0.1 * (5 / 3); // unbiased batch variance 5/3
    assert.ok(Math.abs(y[0] - (1 - 0.25) / Math.sqrt(rv + 1e-5)) < 1e-4);
  });
  x.dispose();
  bn.dispose();
});

test("TFLite SAME padding puts the extra pixel right/bottom", () => {
  assert.deepEqual(samePadding(224, 224, [3, 3], [2, 2], [1, 1]), [0, 1, 0, 1]);
  assert.deepEqual(samePadding(7, 7, [3, 3], [1, 1], [1, 1]), [1, 1, 1, 1]);
  assert.deepEqual(samePadding(8, 9, [3, 3], [1, 1], [2, 2]), [2, 2, 2, 2]);
  const conv = new Conv2d(1, 1, 3, { stride: 2, padding: "same" });
  tidy(() => {
    assert.deepEqual(conv.forward(zeros([1, 1, 224, 224])).shape, [1, 1, 112, 112]);
    assert.deepEqual(conv.forward(zeros([1, 1, 15, 15])).shape, [1, 1, 8, 8]);
  });
  conv.dispose();
  assert.throws(() => new Conv2d(3, 4, 3, { groups: 2 }), /not divisible by groups/);
});
