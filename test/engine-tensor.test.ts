import assert from "node:assert/strict";
import { test } from "node:test";
import {
  arange,
  cat,
  engineInfo,
  getNumThreads,
  getRngState,
  manualSeed,
  ones,
  rand,
  randn,
  setNumThreads,
  setRngState,
  stack,
  tensor,
  where,
  zeros,
  conv2d,
  crossEntropy,
} from "../src/engine/ops.js";
import { dispose, keep, liveTensors, noGrad, isGradEnabled, tidy, Tensor } from "../src/engine/tensor.js";

const arr = (t: Tensor): number[] => Array.from(t.toArray() as Float32Array, Number);

test("typed arrays round-trip for every dtype", () => {
  tidy(() => {
    assert.deepEqual(arr(tensor(Float32Array.of(1.5, -2), [2])), [1.5, -2]);
    assert.deepEqual(tensor(Float64Array.of(0.1), [1], "float64").toArray(), Float64Array.of(0.1));
    assert.deepEqual(tensor(BigInt64Array.of(5n, -7n), [2]).toArray(), BigInt64Array.of(5n, -7n));
    assert.deepEqual(tensor(Int32Array.of(3), [1]).toArray(), Int32Array.of(3));
    assert.deepEqual(tensor(Uint8Array.of(0, 255), [2]).toArray(), Uint8Array.of(0, 255));
    const b = tensor(Uint8Array.of(0, 2, 1), [3], "bool");
    assert.equal(b.dtype, "bool");
    assert.deepEqual(b.toArray(), Uint8Array.of(0, 1, 1));
    // float16 travels as its raw bits: 1.0 is 0x3C00.
    assert.deepEqual(tensor(Float32Array.of(1), [1], "float16").toArray(), Uint16Array.of(0x3c00));
    assert.deepEqual(tensor(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]).shape, [2, 3]);
  });
});

test("elementwise math, comparisons, where and clamp", () => {
  tidy(() => {
    const a = tensor([1, 2, 3, 4], [2, 2]);
    const b = tensor([4, 3, 2, 1], [2, 2]);
    assert.deepEqual(arr(a.add(b)), [5, 5, 5, 5]);
    assert.deepEqual(arr(a.sub(1)), [0, 1, 2, 3]);
    assert.deepEqual(arr(a.mul(b)), [4, 6, 6, 4]);
    assert.deepEqual(arr(a.div(2)), [0.5, 1, 1.5, 2]);
    assert.deepEqual(arr(a.pow(2)), [1, 4, 9, 16]);
    assert.deepEqual(arr(a.maximum(b)), [4, 3, 3, 4]);
    assert.deepEqual(a.gt(b).toArray(), Uint8Array.of(0, 0, 1, 1));
    assert.deepEqual(arr(where(a.gt(b), a, b.neg())), [-4, -3, 3, 4]);
    assert.deepEqual(arr(where(a.le(2), 0, a)), [0, 0, 3, 4]);
    assert.deepEqual(arr(a.clamp(2, 3)), [2, 2, 3, 3]);
    assert.deepEqual(arr(a.clamp(undefined, 2)), [1, 2, 2, 2]);
    // A JS number does not promote float32 to float64 (like a Python scalar).
    assert.equal(a.mul(0.1).dtype, "float32");
    assert.ok(Math.abs((a.sigmoid().toArray() as Float32Array)[0] - 1 / (1 + Math.exp(-1))) < 1e-6);
  });
});

test("reductions along dimensions and overall", () => {
  tidy(() => {
    const x = tensor([1, 5, 3, 4, 2, 6], [2, 3]);
    assert.equal(x.sum().item(), 21);
    assert.deepEqual(arr(x.sum(0)), [5, 7, 9]);
    assert.deepEqual(x.sum(1, true).shape, [2, 1]);
    assert.deepEqual(arr(x.mean(1)), [3, 4]);
    assert.deepEqual(arr(x.amax(1)), [5, 6]);
    assert.deepEqual(arr(x.amin(0)), [1, 2, 3]);
    const { values, indices } = x.max(1);
    assert.deepEqual(arr(values), [5, 6]);
    assert.deepEqual(indices.toArray(), BigInt64Array.of(1n, 2n));
    assert.deepEqual(x.argmax(0).toArray(), BigInt64Array.of(1n, 0n, 1n));
    assert.equal(x.argmax().item(), 5);
  });
});

test("views: reshape, permute, slice, select, index-select, cat, stack, flip", () => {
  tidy(() => {
    const x = arange(0, 6, 1, "float32").reshape([2, 3]);
    assert.deepEqual(arr(x.permute([1, 0]).contiguous()), [0, 3, 1, 4, 2, 5]);
    assert.deepEqual(arr(x.slice(1, 1)), [1, 2, 4, 5]);
    assert.deepEqual(arr(x.slice(1, 0, 3, 2)), [0, 2, 3, 5]);
    assert.deepEqual(arr(x.select(0, 1)), [3, 4, 5]);
    assert.deepEqual(arr(x.indexSelect(1, tensor(BigInt64Array.of(2n, 0n), [2]))), [2, 0, 5, 3]);
    assert.deepEqual(cat([x, x], 0).shape, [4, 3]);
    assert.deepEqual(stack([x, x], 1).shape, [2, 2, 3]);
    assert.deepEqual(arr(x.flip([1])), [2, 1, 0, 5, 4, 3]);
    assert.deepEqual(x.unsqueeze(0).shape, [1, 2, 3]);
    assert.deepEqual(x.unsqueeze(0).squeeze(0).shape, [2, 3]);
    assert.deepEqual(arr(x.matmul(ones([3, 1]))), [3, 12]);
  });
});

test("libtorch errors become JS errors with libtorch's message, and the process survives", () => {
  tidy(() => {
    const a = zeros([2, 3]);
    assert.throws(() => a.matmul(zeros([4, 5])), /cannot be multiplied/);
    assert.throws(() => a.reshape([7]), /invalid for input of size 6/);
    assert.throws(() => a.select(0, 9), /out of range|index 9/);
    assert.throws(() => a.indexSelect(0, tensor(BigInt64Array.of(5n), [1])), /out of range|index/i);
    assert.throws(() => a.add(zeros([4])), /must match the size/);
    assert.throws(
      () => conv2d(zeros([1, 3, 8, 8]), zeros([4, 2, 3, 3]), null),
      /expected input.*to have 6 channels|channels/,
    );
    assert.throws(() => crossEntropy(zeros([2, 3]), tensor([0, 1], [2])), /Long|expected scalar type|dtype/i);
    assert.throws(() => tensor(Float32Array.of(1, 2, 3), [2, 2]), /shape has 4 elements but the array has 3/);
    assert.throws(() => zeros([2], "complex" as never), /unknown dtype 'complex'/);
    assert.throws(() => a.item(), /one element/);
    // Still working after all of the above.
    assert.equal(a.add(1).sum().item(), 6);
  });
});

test("tidy frees what it created except its result; keep and dispose work", () => {
  const before = liveTensors();
  const kept: Tensor[] = [];
  const result = tidy(() => {
    const a = ones([10]);
    const b = a.mul(2);
    kept.push(keep(b.add(1)));
    const nested = tidy(() => ({ x: a.add(3), y: [a.sub(1)] }));
    assert.ok(!nested.x.isDisposed && !nested.y[0].isDisposed);
    return { out: b.sum(), list: [nested.x] };
  });
  assert.equal(result.out.item(), 20);
  assert.equal(result.list[0].toArray()[0], 4);
  assert.equal(liveTensors() - before, 3, "result (2 tensors) and the kept tensor survive");
  dispose([result, kept]);
  assert.equal(liveTensors(), before);
  assert.throws(() => result.out.item(), /disposed/);
  // A throwing function still frees its tensors.
  assert.throws(() =>
    tidy(() => {
      ones([3]);
      throw new Error("boom");
    }),
  );
  assert.equal(liveTensors(), before);
  assert.throws(() => tidy((async () => 1) as never), /synchronous/);
});

test("autograd: requiresGrad, backward, grad, noGrad, detach", () => {
  tidy(() => {
    const x = tensor([1, 2, 3]).requiresGrad_();
    const y = x.mul(x).sum();
    y.backward();
    assert.deepEqual(arr(x.grad!), [2, 4, 6]);
    x.clearGrad();
    assert.equal(x.grad, null);
    const z = noGrad(() => {
      assert.equal(isGradEnabled(), false);
      return x.mul(3);
    });
    assert.equal(isGradEnabled(), true);
    assert.equal(z.requiresGrad, false);
    assert.equal(x.mul(2).detach().requiresGrad, false);
  });
});

test("seeding makes random tensors reproducible; RNG state round-trips", () => {
  tidy(() => {
    manualSeed(123);
    const a = arr(randn([5]));
    manualSeed(123);
    assert.deepEqual(arr(randn([5])), a);
    const state = getRngState();
    const b = arr(rand([4]));
    setRngState(state);
    assert.deepEqual(arr(rand([4])), b);
  });
});

test("thread count and engine info", () => {
  const n = getNumThreads();
  setNumThreads(1);
  assert.equal(getNumThreads(), 1);
  setNumThreads(n);
  const info = engineInfo();
  assert.match(info.torchVersion, /^\d+\.\d+/);
  assert.ok(info.simd.length > 0);
  assert.equal(info.threads, n);
});
